"""Training with early stopping on the validation target, then the test metrics of the best epoch."""

from __future__ import annotations

import random
import time
from dataclasses import asdict, dataclass

import numpy as np
import torch
from tqdm import tqdm

from .data import Dataset, Split, left_pad
from .metrics import full_ranks, sample_negatives, sampled_ranks, summarize
from .model import ModelConfig, SeqRec


@dataclass
class TrainConfig:
    variant: str = "sasrec"  # sasrec (causal next item) | bert4rec (bidirectional masked item)
    epochs: int = 200
    batch_size: int = 128
    lr: float = 1e-3
    weight_decay: float = 0.0
    negatives: int = 0  # 0 = full softmax over every item; > 0 = sampled softmax with that many negatives
    mask_prob: float = 0.2  # bert4rec: share of positions masked
    patience: int = 10  # epochs without a better validation NDCG@10 before stopping
    max_minutes: float = 55.0  # wall-clock budget for training (the best epoch so far is kept)
    eval_every: int = 1
    seed: int = 42
    threads: int = 0  # 0 = torch's default (every core)

    def to_dict(self) -> dict:
        return asdict(self)


def set_seed(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def causal_batch(seqs: list[list[int]], max_len: int) -> tuple[torch.Tensor, torch.Tensor]:
    """inputs = seq[:-1], targets = seq[1:]: every position predicts the item after it."""
    x = left_pad([s[:-1] for s in seqs], max_len)
    y = left_pad([s[1:] for s in seqs], max_len)
    return torch.from_numpy(x), torch.from_numpy(y)


def masked_batch(seqs: list[list[int]], max_len: int, mask_token: int, p: float, rng: np.random.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Cloze: a share p of the items replaced by [MASK] (at least one a sequence, the last one half of the
    time, as at serving), targets the originals at those positions."""
    x = left_pad(seqs, max_len)
    real = x > 0
    masked = (rng.random(x.shape) < p) & real
    last_real = np.argmax(real[:, ::-1], axis=1)
    rows = np.arange(len(x))
    last_col = x.shape[1] - 1 - last_real
    force = (~masked.any(axis=1)) | (rng.random(len(x)) < 0.5)
    masked[rows[force], last_col[force]] = True
    y = np.where(masked, x, 0)
    x = np.where(masked, mask_token, x)
    return torch.from_numpy(x), torch.from_numpy(y)


@torch.no_grad()
def evaluate(model: SeqRec, inputs: list[list[int]], targets: np.ndarray, negatives: np.ndarray | None = None, batch: int = 1024) -> dict[str, dict[str, float]]:
    """Ranks computed batch by batch (a users × items score matrix would not fit in memory)."""
    model.eval()
    # BERT4Rec appends [MASK]: its history window is one shorter.
    window = model.config.max_len if model.config.causal else model.config.max_len - 1
    full, sampled = [], []
    for i in range(0, len(inputs), batch):
        rows = inputs[i : i + batch]
        scores = model.scores(torch.from_numpy(left_pad(rows, window))).numpy()
        t = targets[i : i + batch]
        if negatives is not None:
            sampled.append(sampled_ranks(scores, t, negatives[i : i + batch]))
        full.append(full_ranks(scores, t, rows))
    res = {"full": summarize(np.concatenate(full))}
    if negatives is not None:
        res["sampled"] = summarize(np.concatenate(sampled))
    return res


def train(ds: Dataset, split: Split, mc: ModelConfig, tc: TrainConfig, log=print) -> tuple[SeqRec, dict]:
    set_seed(tc.seed)
    if tc.threads:
        torch.set_num_threads(tc.threads)
    model = SeqRec(mc, ds.item_attrs)
    opt = torch.optim.AdamW(model.parameters(), lr=tc.lr, weight_decay=tc.weight_decay)
    rng = np.random.default_rng(tc.seed)
    # Causal training needs two items (an input and its next); masked training needs one.
    train_seqs = [s for s in split.train if len(s) >= (2 if mc.causal else 1)]
    epochs: list[dict] = []
    best, best_state, bad = -1.0, None, 0
    started = time.time()
    stopped = "epochs"
    bar = tqdm(range(1, tc.epochs + 1), desc=f"{tc.variant} epochs", unit="epoch", dynamic_ncols=True)
    for epoch in bar:
        t0 = time.time()
        model.train()
        order = rng.permutation(len(train_seqs))
        total, steps = 0.0, 0
        for i in tqdm(range(0, len(order), tc.batch_size), desc=f"epoch {epoch}", unit="batch", leave=False, dynamic_ncols=True):
            batch = [train_seqs[j] for j in order[i : i + tc.batch_size]]
            if mc.causal:
                x, y = causal_batch(batch, mc.max_len)
            else:
                x, y = masked_batch(batch, mc.max_len, model.mask_token, tc.mask_prob, rng)
            loss = model.loss(x, y, tc.negatives)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += float(loss)
            steps += 1
        train_s = time.time() - t0
        row: dict = {"epoch": epoch, "loss": round(total / max(steps, 1), 5), "train_s": round(train_s, 2)}
        if epoch % tc.eval_every == 0 or epoch == tc.epochs:
            v = evaluate(model, split.valid_inputs, split.valid_targets)["full"]
            row["valid"] = {k: round(x, 5) for k, x in v.items()}
            row["eval_s"] = round(time.time() - t0 - train_s, 2)
            if v["ndcg@10"] > best:
                best, bad = v["ndcg@10"], 0
                best_state = {k: t.detach().clone() for k, t in model.state_dict().items()}
                row["best"] = True
            else:
                bad += 1
            bar.set_postfix(loss=row["loss"], ndcg10=f"{v['ndcg@10']:.4f}", best=f"{best:.4f}")
        epochs.append(row)
        log(row)
        if bad >= tc.patience:
            stopped = f"no better validation NDCG@10 for {tc.patience} evaluations"
            break
        if (time.time() - started) / 60 > tc.max_minutes:
            stopped = f"time budget of {tc.max_minutes} min"
            break
    bar.close()
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    best_epoch = max((r for r in epochs if "valid" in r), key=lambda r: r["valid"]["ndcg@10"])["epoch"]
    return model, {"epochs": epochs, "best_epoch": best_epoch, "stopped": stopped, "train_wall_s": round(time.time() - started, 1)}


def test_metrics(model: SeqRec, ds: Dataset, split: Split, seed: int) -> dict:
    seqs = [ds.sequences[u] for u in split.eval_users]
    # The sampled protocol needs 99 items each user never took; a tiny catalog reports full ranking only.
    negs = sample_negatives(ds.n_items, seqs, 99, seed) if all(ds.n_items - len(set(s)) >= 99 for s in seqs) else None
    return {
        "valid": evaluate(model, split.valid_inputs, split.valid_targets)["full"],
        "test": evaluate(model, split.test_inputs, split.test_targets, negs),
    }
