"""python -m seqrec.light train --data FILE --out DIR [options]

A small sequential recommender trained with numpy alone (no PyTorch), for `npm start`'s demo shop: the
next item is scored as h . o_j + b_j, where h is a recency-weighted mean of the embeddings of the user's
last max_len items (a learned weight per position) — a factorized next-item model (an FPMC / "mean of the
session" baseline), not a transformer. Softmax cross-entropy, Adam, early stopping on validation
NDCG@10 within a time budget (sampled softmax with shared negatives by default, full softmax with --negatives 0); evaluated and bundled exactly like the PyTorch tool (leave-one-out, full
ranking with the history excluded), exported to ONNX with the same contract: item_ids int64
[batch, max_len] -> scores float32 [batch, items]."""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time

import numpy as np

from .bundle import dataset_record, file_size, write_bundle
from .data import Dataset, leave_one_out, left_pad, read_sequences
from .graph import INPUT, OUTPUT, onnx_full_metrics, onnx_scores
from .metrics import full_ranks, summarize


def softmax_ce(z: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean cross-entropy of logits z [B, C] against target columns y, and its gradient over z (z is overwritten)."""
    z -= z.max(axis=1, keepdims=True)
    p = np.exp(z)
    p /= p.sum(axis=1, keepdims=True)
    n = len(y)
    loss = float(-np.log(np.maximum(p[np.arange(n), y], 1e-12)).mean())
    p[np.arange(n), y] -= 1
    return loss, p / n


class Factorized:
    def __init__(self, n_items: int, dim: int, max_len: int, seed: int):
        rng = np.random.default_rng(seed)
        self.max_len = max_len
        self.E = (rng.standard_normal((n_items + 1, dim)) * 0.1).astype(np.float32)
        self.E[0] = 0
        self.O = (rng.standard_normal((n_items + 1, dim)) * 0.1).astype(np.float32)
        self.b = np.zeros(n_items + 1, dtype=np.float32)
        self.w = np.zeros(max_len, dtype=np.float32)  # position logits, oldest .. newest
        self.params = ["E", "O", "b", "w"]

    def _alpha(self, x: np.ndarray) -> np.ndarray:
        a = np.exp(self.w)[None, :] * (x > 0)
        return a / np.maximum(a.sum(axis=1, keepdims=True), 1e-9)

    def hidden(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        alpha = self._alpha(x)
        return np.einsum("bl,bld->bd", alpha, self.E[x]), alpha

    def scores(self, x: np.ndarray) -> np.ndarray:
        """[B, n_items + 1], column 0 (padding) = -inf."""
        h, _ = self.hidden(x)
        s = h @ self.O.T + self.b
        s[:, 0] = -np.inf
        return s

    def _hidden_grads(self, x: np.ndarray, alpha: np.ndarray, dh: np.ndarray) -> dict[str, np.ndarray]:
        """Back through h = sum_t alpha_t E[x_t] (alpha = the position weights' softmax over the items present)."""
        dE = np.zeros_like(self.E)
        np.add.at(dE, x, alpha[:, :, None] * dh[:, None, :])
        dE[0] = 0
        dalpha = np.einsum("bd,bld->bl", dh, self.E[x])
        dw = (alpha * (dalpha - (alpha * dalpha).sum(axis=1, keepdims=True))).sum(axis=0)
        return {"E": dE, "w": dw}

    def step_grads(self, x: np.ndarray, y: np.ndarray) -> tuple[float, dict[str, np.ndarray]]:
        h, alpha = self.hidden(x)
        z = h @ self.O.T + self.b
        z[:, 0] = -np.inf
        loss, g = softmax_ce(z, y)
        dO = g.T @ h
        db = g.sum(axis=0)
        return loss, {**self._hidden_grads(x, alpha, g @ self.O), "O": dO, "b": db}

    def step_grads_sampled(self, x: np.ndarray, y: np.ndarray, negatives: np.ndarray) -> tuple[float, dict[str, np.ndarray]]:
        """Sampled softmax: the batch's targets against the batch's targets and shared uniform negatives
        (uniform sampling over items: the log-correction is a constant and cancels); the output embeddings
        and biases get gradients only on those columns."""
        h, alpha = self.hidden(x)
        cols, inverse = np.unique(np.concatenate([y, negatives]), return_inverse=True)
        yi = inverse[: len(y)]
        loss, g = softmax_ce(h @ self.O[cols].T + self.b[cols], yi)
        dO = np.zeros_like(self.O)
        dO[cols] = g.T @ h
        db = np.zeros_like(self.b)
        db[cols] = g.sum(axis=0)
        return loss, {**self._hidden_grads(x, alpha, g @ self.O[cols]), "O": dO, "b": db}

    def export_onnx(self, path: str) -> None:
        import onnx
        from onnx import TensorProto, helper, numpy_helper

        V = self.E.shape[0] - 1
        a = np.exp(self.w).astype(np.float32)[None, :]
        inits = [
            numpy_helper.from_array(self.E, "E"),
            numpy_helper.from_array(a, "position_weight"),
            numpy_helper.from_array(np.ascontiguousarray(self.O[1:].T), "O_t"),
            numpy_helper.from_array(self.b[1:].copy(), "b"),
            numpy_helper.from_array(np.array([1], dtype=np.int64), "axis1"),
            numpy_helper.from_array(np.array([2], dtype=np.int64), "axis2"),
            numpy_helper.from_array(np.array(0, dtype=np.int64), "zero"),
            numpy_helper.from_array(np.array(1e-9, dtype=np.float32), "eps"),
        ]
        nodes = [
            helper.make_node("Gather", ["E", INPUT], ["emb"]),
            helper.make_node("Greater", [INPUT, "zero"], ["present"]),
            helper.make_node("Cast", ["present"], ["mask"], to=TensorProto.FLOAT),
            helper.make_node("Mul", ["mask", "position_weight"], ["weight"]),
            helper.make_node("ReduceSum", ["weight", "axis1"], ["total"], keepdims=1),
            helper.make_node("Max", ["total", "eps"], ["denominator"]),
            helper.make_node("Div", ["weight", "denominator"], ["alpha"]),
            helper.make_node("Unsqueeze", ["alpha", "axis2"], ["alpha3"]),
            helper.make_node("Mul", ["emb", "alpha3"], ["weighted"]),
            helper.make_node("ReduceSum", ["weighted", "axis1"], ["hidden"], keepdims=0),
            helper.make_node("MatMul", ["hidden", "O_t"], ["logits"]),
            helper.make_node("Add", ["logits", "b"], [OUTPUT]),
        ]
        graph = helper.make_graph(
            nodes,
            "seqrec_factorized",
            [helper.make_tensor_value_info(INPUT, TensorProto.INT64, ["batch", self.max_len])],
            [helper.make_tensor_value_info(OUTPUT, TensorProto.FLOAT, ["batch", V])],
            inits,
        )
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="ranksafe tools/seqrec light")
        model.ir_version = 8
        onnx.checker.check_model(model)
        onnx.save(model, path)


class Adam:
    def __init__(self, model: Factorized, lr: float, weight_decay: float):
        self.m, self.lr, self.wd, self.t = model, lr, weight_decay, 0
        self.mom = {k: np.zeros_like(getattr(model, k)) for k in model.params}
        self.vel = {k: np.zeros_like(getattr(model, k)) for k in model.params}

    def step(self, grads: dict[str, np.ndarray]) -> None:
        self.t += 1
        b1, b2 = 0.9, 0.999
        for k, g in grads.items():
            p = getattr(self.m, k)
            if self.wd and k in ("E", "O"):
                g = g + self.wd * p
            self.mom[k] = b1 * self.mom[k] + (1 - b1) * g
            self.vel[k] = b2 * self.vel[k] + (1 - b2) * g * g
            mh = self.mom[k] / (1 - b1**self.t)
            vh = self.vel[k] / (1 - b2**self.t)
            p -= (self.lr * mh / (np.sqrt(vh) + 1e-8)).astype(np.float32)
        self.m.E[0] = 0


def examples(train: list[list[int]], max_len: int) -> tuple[np.ndarray, np.ndarray]:
    """Every (prefix -> next item) pair of the training sequences."""
    xs, ys = [], []
    for s in train:
        for t in range(1, len(s)):
            xs.append(s[max(0, t - max_len) : t])
            ys.append(s[t])
    return left_pad(xs, max_len, trim=False), np.asarray(ys, dtype=np.int64)


def evaluate(model: Factorized, inputs: list[list[int]], targets: np.ndarray, batch: int = 1024) -> dict[str, float]:
    ranks = []
    for i in range(0, len(inputs), batch):
        x = left_pad(inputs[i : i + batch], model.max_len, trim=False)
        ranks.append(full_ranks(model.scores(x), targets[i : i + batch], inputs[i : i + batch]))
    return summarize(np.concatenate(ranks) if ranks else np.zeros(0))


def popularity_metrics(ds: Dataset, train: list[list[int]], inputs: list[list[int]], targets: np.ndarray) -> dict[str, float]:
    """The baseline: every user gets the most-taken items of the training sequences."""
    count = np.zeros(ds.n_items + 1, dtype=np.float32)
    for s in train:
        np.add.at(count, s, 1)
    scores = np.tile(count, (len(inputs), 1))
    return summarize(full_ranks(scores, targets, inputs))


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="seqrec.light", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("train")
    t.add_argument("--data", required=True, help="one user a line: user_id item_id item_id ... (time order)")
    t.add_argument("--out", required=True)
    t.add_argument("--name", default="seqrec-demo")
    t.add_argument("--dim", type=int, default=32)
    t.add_argument("--max-len", type=int, default=20)
    t.add_argument("--epochs", type=int, default=30)
    t.add_argument("--batch-size", type=int, default=256)
    t.add_argument("--negatives", type=int, default=1024, help="shared uniform negatives per batch (sampled softmax); 0 = full softmax")
    t.add_argument("--valid-users", type=int, default=3000, help="users the per-epoch validation ranks (a fixed sample; test uses all)")
    t.add_argument("--lr", type=float, default=5e-3)
    t.add_argument("--weight-decay", type=float, default=0.0)
    t.add_argument("--patience", type=int, default=3)
    t.add_argument("--seed", type=int, default=42)
    t.add_argument("--max-seconds", type=float, default=90.0, help="training time budget (the best epoch so far is kept)")
    a = p.parse_args(argv)
    started = time.time()
    ds = read_sequences(a.data)
    split = leave_one_out(ds)
    x, y = examples(split.train, a.max_len)
    print(f"seqrec.light: {len(ds.users)} users, {ds.n_items} items, {ds.interactions} interactions; {len(y)} training pairs", flush=True)
    model = Factorized(ds.n_items, a.dim, a.max_len, a.seed)
    opt = Adam(model, a.lr, a.weight_decay)
    rng = np.random.default_rng(a.seed)
    vi = np.sort(np.random.default_rng(a.seed).permutation(len(split.valid_targets))[: a.valid_users])
    valid_in, valid_t = [split.valid_inputs[i] for i in vi], split.valid_targets[vi]
    best, best_epoch, best_state, stale, epochs = -1.0, 0, None, 0, []
    stopped = "epochs"
    for epoch in range(1, a.epochs + 1):
        t0 = time.time()
        order = rng.permutation(len(y))
        losses = []
        for i in range(0, len(order), a.batch_size):
            idx = order[i : i + a.batch_size]
            if a.negatives and a.negatives < ds.n_items:
                loss, grads = model.step_grads_sampled(x[idx], y[idx], rng.integers(1, ds.n_items + 1, size=a.negatives))
            else:
                loss, grads = model.step_grads(x[idx], y[idx])
            opt.step(grads)
            losses.append(loss)
        valid = evaluate(model, valid_in, valid_t)
        row = {"epoch": epoch, "loss": round(float(np.mean(losses)), 4), "valid": valid, "train_s": round(time.time() - t0, 2)}
        epochs.append(row)
        print(f"seqrec.light: epoch {epoch} loss {row['loss']:.4f} valid NDCG@10 {valid['ndcg@10']:.4f} ({row['train_s']} s)", flush=True)
        if valid["ndcg@10"] > best:
            best, best_epoch, stale = valid["ndcg@10"], epoch, 0
            best_state = {k: getattr(model, k).copy() for k in model.params}
        else:
            stale += 1
            if stale >= a.patience:
                stopped = "early stop"
                break
        if time.time() - started > a.max_seconds:
            stopped = "time budget"
            break
    for k, v in (best_state or {}).items():
        setattr(model, k, v)
    metrics = {"valid": evaluate(model, split.valid_inputs, split.valid_targets), "test": {"full": evaluate(model, split.test_inputs, split.test_targets)}}
    baseline = popularity_metrics(ds, split.train, split.test_inputs, split.test_targets)
    print(
        f"seqrec.light: best epoch {best_epoch} ({stopped}); test NDCG@10 {metrics['test']['full']['ndcg@10']:.4f} HR@10 {metrics['test']['full']['hr@10']:.4f} "
        f"(popularity: NDCG@10 {baseline['ndcg@10']:.4f} HR@10 {baseline['hr@10']:.4f})",
        flush=True,
    )
    os.makedirs(a.out, exist_ok=True)
    onnx_path = os.path.join(a.out, "model.onnx")
    model.export_onnx(onnx_path)
    sample = split.test_inputs[:256]
    diff = float(np.max(np.abs(onnx_scores(onnx_path, sample, a.max_len)[:, 1:] - model.scores(left_pad(sample, a.max_len, trim=False))[:, 1:]))) if sample else 0.0
    if not diff <= 1e-3:
        raise AssertionError(f"ONNX scores differ from numpy by {diff:.2e}")
    onnx_test = onnx_full_metrics(onnx_path, split.test_inputs, split.test_targets, a.max_len)
    variants = {"fp32": {"file": "model.onnx", "bytes": file_size(onnx_path), "test": onnx_test}}
    hyper = {"variant": "factorized", "dim": a.dim, "max_len": a.max_len, "epochs": a.epochs, "batch_size": a.batch_size, "negatives": a.negatives, "lr": a.lr, "weight_decay": a.weight_decay, "patience": a.patience, "seed": a.seed, "max_seconds": a.max_seconds}
    run = {
        "dataset": dataset_record(a.data, ds),
        "attributes": None,
        "seed": a.seed,
        "model": hyper,
        "history": {"epochs": epochs, "best_epoch": best_epoch, "stopped": stopped},
        "metrics": {**metrics, "popularity_test": baseline},
        "onnx": {"max_abs_diff_vs_numpy": diff, "variants": variants},
        "environment": {"python": platform.python_version(), "numpy": np.__version__, "machine": platform.machine()},
        "wall_s": round(time.time() - started, 1),
    }
    write_bundle(
        a.out,
        name=a.name,
        variant="factorized",
        dim=a.dim,
        max_len=a.max_len,
        vocab=ds.vocab,
        variants=variants,
        run=run,
        metrics=metrics,
        hyperparameters=hyper,
        license="Apache-2.0 (weights trained by ranksafe tools/seqrec on the synthetic demo shop)",
    )
    print(f"seqrec.light: ONNX = numpy within {diff:.1e}; wrote {a.out} in {run['wall_s']} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
