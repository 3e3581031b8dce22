"""Ranking metrics of the leave-one-out protocol (numpy only, so they are tested without PyTorch).

rank = the number of candidates scored strictly above the target (0 = first). HR@k = 1 if rank < k;
NDCG@k = 1 / log2(rank + 2) if rank < k, else 0 (one relevant item, so the ideal DCG is 1)."""

from __future__ import annotations

import numpy as np

KS = (10, 20)


def full_ranks(scores: np.ndarray, targets: np.ndarray, histories: list[list[int]]) -> np.ndarray:
    """scores [B, n_items + 1] (column 0 = padding, ignored), targets [B] item indices, histories: the items
    already in each user's input, excluded from the ranking (set to -inf) — the target itself never is,
    even when the user took it before."""
    s = scores.astype(np.float32, copy=True)
    s[:, 0] = -np.inf
    rows = np.repeat(np.arange(len(histories)), [len(h) for h in histories])
    cols = np.fromiter((i for h in histories for i in h), dtype=np.int64, count=len(rows))
    drop = cols != np.asarray(targets)[rows]
    s[rows[drop], cols[drop]] = -np.inf
    t = s[np.arange(len(targets)), targets]
    return (s > t[:, None]).sum(axis=1)


def sample_negatives(n_items: int, sequences: list[list[int]], n: int = 99, seed: int = 0) -> np.ndarray:
    """n items per user drawn uniformly without replacement from the items the user never took."""
    rng = np.random.default_rng(seed)
    out = np.zeros((len(sequences), n), dtype=np.int64)
    for r, seq in enumerate(sequences):
        taken = set(seq)
        if n_items - len(taken) < n:
            raise ValueError(f"user row {r}: only {n_items - len(taken)} items left to sample {n} negatives from")
        picked: list[int] = []
        chosen: set[int] = set()
        while len(picked) < n:
            for c in rng.integers(1, n_items + 1, size=2 * n):
                c = int(c)
                if c not in taken and c not in chosen:
                    chosen.add(c)
                    picked.append(c)
                    if len(picked) == n:
                        break
        out[r] = picked
    return out


def sampled_ranks(scores: np.ndarray, targets: np.ndarray, negatives: np.ndarray) -> np.ndarray:
    """The target ranked against its row of sampled negatives only."""
    rows = np.arange(len(targets))
    t = scores[rows, targets]
    neg = np.take_along_axis(scores, negatives, axis=1)
    return (neg > t[:, None]).sum(axis=1)


def summarize(ranks: np.ndarray, ks: tuple[int, ...] = KS) -> dict[str, float]:
    ranks = np.asarray(ranks)
    out: dict[str, float] = {}
    for k in ks:
        hit = ranks < k
        out[f"hr@{k}"] = float(hit.mean()) if len(ranks) else 0.0
        out[f"ndcg@{k}"] = float(np.where(hit, 1.0 / np.log2(ranks + 2.0), 0.0).mean()) if len(ranks) else 0.0
    return out
