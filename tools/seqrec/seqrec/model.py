"""A transformer over item-id sequences: causal next-item (SASRec) or bidirectional masked-item (BERT4Rec).

Item 0 is padding and item n_items + 1 the [MASK] token (BERT4Rec). Output scores are the last position's
hidden state against the item table (tied input/output embeddings), one score per item 0..n_items
(column 0, padding, is never recommended). Optional side information: an item's embedding is its id
embedding plus the mean of its attributes' embeddings, in the input and the output alike.
The attention is written out (no fused kernels), so the same graph exports to ONNX."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass
class ModelConfig:
    n_items: int
    max_len: int = 50
    dim: int = 64
    layers: int = 2
    heads: int = 2
    dropout: float = 0.5
    attn_dropout: float = 0.5
    causal: bool = True
    n_attrs: int = 0

    def to_dict(self) -> dict:
        return asdict(self)


class Block(nn.Module):
    def __init__(self, c: ModelConfig):
        super().__init__()
        self.heads = c.heads
        self.ln1 = nn.LayerNorm(c.dim)
        self.qkv = nn.Linear(c.dim, 3 * c.dim)
        self.proj = nn.Linear(c.dim, c.dim)
        self.ln2 = nn.LayerNorm(c.dim)
        self.ff1 = nn.Linear(c.dim, 4 * c.dim)
        self.ff2 = nn.Linear(4 * c.dim, c.dim)
        self.attn_drop = nn.Dropout(c.attn_dropout)
        self.drop = nn.Dropout(c.dropout)

    def forward(self, x: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        b, length, d = x.shape
        dh = d // self.heads
        q, k, v = self.qkv(self.ln1(x)).view(b, length, 3, self.heads, dh).permute(2, 0, 3, 1, 4)
        att = torch.matmul(q, k.transpose(-1, -2)) * (1.0 / math.sqrt(dh)) + bias
        att = self.attn_drop(torch.softmax(att, dim=-1))
        y = torch.matmul(att, v).transpose(1, 2).reshape(b, length, d)
        x = x + self.drop(self.proj(y))
        return x + self.drop(self.ff2(F.gelu(self.ff1(self.ln2(x)))))


class SeqRec(nn.Module):
    def __init__(self, c: ModelConfig, item_attrs: dict[int, list[int]] | None = None):
        super().__init__()
        self.config = c
        self.item = nn.Embedding(c.n_items + 2, c.dim, padding_idx=0)
        self.pos = nn.Embedding(c.max_len, c.dim)
        self.drop = nn.Dropout(c.dropout)
        self.blocks = nn.ModuleList(Block(c) for _ in range(c.layers))
        self.ln = nn.LayerNorm(c.dim)
        nn.init.normal_(self.item.weight, std=0.02)
        nn.init.normal_(self.pos.weight, std=0.02)
        with torch.no_grad():
            self.item.weight[0].zero_()
        self.attr: nn.EmbeddingBag | None = None
        if c.n_attrs and item_attrs:
            # Items 1..n_items as bags of attribute ids (an item without attributes: an empty bag = 0).
            flat, offsets = [], []
            for i in range(1, c.n_items + 1):
                offsets.append(len(flat))
                flat.extend(item_attrs.get(i, []))
            self.register_buffer("attr_flat", torch.tensor(flat, dtype=torch.long), persistent=False)
            self.register_buffer("attr_offsets", torch.tensor(offsets, dtype=torch.long), persistent=False)
            self.attr = nn.EmbeddingBag(c.n_attrs, c.dim, mode="mean")
            nn.init.normal_(self.attr.weight, std=0.02)

    @property
    def mask_token(self) -> int:
        return self.config.n_items + 1

    def item_table(self) -> torch.Tensor:
        """[n_items + 2, dim]: every item's embedding (side information added)."""
        w = self.item.weight
        if self.attr is None:
            return w
        side = self.attr(self.attr_flat, self.attr_offsets)
        zero = torch.zeros(1, w.shape[1], dtype=w.dtype)
        return w + torch.cat([zero, side, zero], dim=0)

    def encode(self, seq: torch.Tensor, table: torch.Tensor | None = None) -> torch.Tensor:
        """seq [B, L] left-padded item ids (L ≤ max_len) → hidden states [B, L, dim]."""
        table = self.item_table() if table is None else table
        length = seq.shape[1]
        positions = torch.arange(self.config.max_len - length, self.config.max_len)
        x = table[seq] * math.sqrt(self.config.dim) + self.pos(positions)[None]
        x = self.drop(x)
        keep = seq > 0  # [B, L]
        allowed = keep[:, None, None, :]  # keys that are items
        idx = torch.arange(length)
        if self.config.causal:
            allowed = allowed & (idx[:, None] >= idx[None, :])[None, None]
        allowed = allowed | (idx[:, None] == idx[None, :])[None, None]  # a padding row attends to itself
        bias = torch.zeros(allowed.shape, dtype=x.dtype).masked_fill(~allowed, -1e9)
        for blk in self.blocks:
            x = blk(x, bias)
        return self.ln(x)

    def scores(self, seq: torch.Tensor) -> torch.Tensor:
        """[B, n_items + 1]: the next item's score for every item (column 0 is padding) given a history
        (BERT4Rec: the history with [MASK] appended, the oldest item dropped when it is full)."""
        if not self.config.causal:
            m = torch.full((seq.shape[0], 1), self.mask_token, dtype=seq.dtype)
            seq = torch.cat([seq, m], dim=1)[:, -self.config.max_len :]
        table = self.item_table()
        h = self.encode(seq, table)[:, -1]
        return h @ table[: self.config.n_items + 1].T

    def loss(self, seq: torch.Tensor, targets: torch.Tensor, negatives: int = 0) -> torch.Tensor:
        """Cross-entropy of the target at every position where targets > 0: against every item (negatives
        = 0, full softmax), or against `negatives` uniformly sampled items shared by the batch (sampled
        softmax with the logQ correction of uniform sampling, which is a constant and cancels)."""
        table = self.item_table()
        h = self.encode(seq, table)
        where = targets > 0
        hv, tv = h[where], targets[where]
        if negatives <= 0:
            logits = hv @ table[1 : self.config.n_items + 1].T
            return F.cross_entropy(logits, tv - 1)
        neg = torch.randint(1, self.config.n_items + 1, (negatives,))
        pos_logit = (hv * table[tv]).sum(-1, keepdim=True)
        neg_logits = hv @ table[neg].T
        neg_logits = neg_logits.masked_fill(neg[None, :] == tv[:, None], -1e9)  # a sampled positive is no negative
        logits = torch.cat([pos_logit, neg_logits], dim=1)
        return F.cross_entropy(logits, torch.zeros(len(tv), dtype=torch.long))


class Exported(nn.Module):
    """The serving graph: item_ids [B, L] int64 (left-padded, L = max_len) → scores [B, n_items] float,
    column j = item j + 1 (the vocabulary's order). The side information is folded into one constant item
    table."""

    def __init__(self, model: SeqRec):
        super().__init__()
        self.model = model
        with torch.no_grad():
            self.register_buffer("table", model.item_table().detach().clone())

    def forward(self, item_ids: torch.Tensor) -> torch.Tensor:
        m = self.model
        seq = item_ids
        if not m.config.causal:
            mask = torch.full_like(seq[:, :1], m.mask_token)
            seq = torch.cat([seq[:, 1:], mask], dim=1)
        h = m.encode(seq, self.table)[:, -1]
        return h @ self.table[1 : m.config.n_items + 1].T
