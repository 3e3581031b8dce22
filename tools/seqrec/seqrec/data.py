"""Interaction sequences: one user a line (`user_id item_id item_id ...`, items in time order), the
leave-one-out split of the S3-Rec protocol, and the optional item -> attribute-ids side file."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

import numpy as np


def sha256_file(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


@dataclass
class Dataset:
    """Items are indexed 1..n_items in order of first appearance (0 is padding); `vocab[i - 1]` is the
    external id of item i. Each user's sequence is a list of item indices in time order."""

    users: list[str]
    sequences: list[list[int]]
    vocab: list[str]
    # Item index -> attribute indices (0..n_attrs-1); empty when no attributes file was given.
    item_attrs: dict[int, list[int]] = field(default_factory=dict)
    n_attrs: int = 0

    @property
    def n_items(self) -> int:
        return len(self.vocab)

    @property
    def interactions(self) -> int:
        return sum(len(s) for s in self.sequences)


def read_sequences(path: str, attrs_path: str | None = None) -> Dataset:
    index: dict[str, int] = {}
    vocab: list[str] = []
    users: list[str] = []
    sequences: list[list[int]] = []
    seen_users: set[str] = set()
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            parts = line.split()
            if not parts:
                continue
            if len(parts) < 2:
                raise ValueError(f"{path}:{n}: a user with no items ({line.strip()!r}); expected 'user_id item_id ...'")
            user, items = parts[0], parts[1:]
            if user in seen_users:
                raise ValueError(f"{path}:{n}: user {user!r} appears twice; one line per user")
            seen_users.add(user)
            seq = []
            for it in items:
                i = index.get(it)
                if i is None:
                    vocab.append(it)
                    i = index[it] = len(vocab)
                seq.append(i)
            users.append(user)
            sequences.append(seq)
    if not sequences:
        raise ValueError(f"{path}: no users")
    ds = Dataset(users=users, sequences=sequences, vocab=vocab)
    if attrs_path:
        with open(attrs_path, encoding="utf-8") as f:
            raw = json.load(f)
        attr_index: dict[str, int] = {}
        for item, attrs in raw.items():
            i = index.get(str(item))
            if i is None:
                continue  # an attribute row for an item no one took
            ds.item_attrs[i] = [attr_index.setdefault(str(a), len(attr_index)) for a in attrs]
        ds.n_attrs = len(attr_index)
    return ds


@dataclass
class Split:
    """Leave-one-out: per user, training sees items[:-2]; validation ranks items[-2] given items[:-2];
    test ranks items[-1] given items[:-1]. Users with fewer than 3 items train on all of them and are not
    evaluated."""

    train: list[list[int]]
    valid_inputs: list[list[int]]
    valid_targets: np.ndarray
    test_inputs: list[list[int]]
    test_targets: np.ndarray
    eval_users: list[int]


def leave_one_out(ds: Dataset) -> Split:
    train, vi, vt, ti, tt, eu = [], [], [], [], [], []
    for u, seq in enumerate(ds.sequences):
        if len(seq) < 3:
            train.append(seq)
            continue
        train.append(seq[:-2])
        vi.append(seq[:-2])
        vt.append(seq[-2])
        ti.append(seq[:-1])
        tt.append(seq[-1])
        eu.append(u)
    return Split(train, vi, np.asarray(vt, dtype=np.int64), ti, np.asarray(tt, dtype=np.int64), eu)


def left_pad(seqs: list[list[int]], max_len: int, trim: bool = True) -> np.ndarray:
    """The last max_len items of each sequence, left-padded with 0 to a common length (the batch's longest
    when trim, else max_len)."""
    width = min(max_len, max((len(s) for s in seqs), default=1)) if trim else max_len
    width = max(width, 1)
    out = np.zeros((len(seqs), width), dtype=np.int64)
    for r, s in enumerate(seqs):
        tail = s[-width:]
        if tail:
            out[r, width - len(tail) :] = tail
    return out
