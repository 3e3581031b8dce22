"""The served ONNX graph from the outside (onnxruntime + numpy, no PyTorch): its scores, its metrics on
the leave-one-out protocol, and its int8 variant."""

from __future__ import annotations

import numpy as np

from .data import left_pad
from .metrics import full_ranks, summarize

INPUT = "item_ids"
OUTPUT = "scores"


def onnx_scores(path: str, inputs: list[list[int]], max_len: int, batch: int = 512) -> np.ndarray:
    """[B, n_items + 1] like SeqRec.scores (column 0 = padding, -inf), from the ONNX graph."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    sess = ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])
    out = []
    for i in range(0, len(inputs), batch):
        x = left_pad(inputs[i : i + batch], max_len, trim=False)
        (s,) = sess.run([OUTPUT], {INPUT: x})
        out.append(np.concatenate([np.full((len(s), 1), -np.inf, dtype=s.dtype), s], axis=1))
    return np.concatenate(out, axis=0)


def quantize_int8(src: str, dst: str) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(src, dst, weight_type=QuantType.QInt8)


def onnx_full_metrics(path: str, inputs: list[list[int]], targets: np.ndarray, max_len: int) -> dict[str, float]:
    return summarize(full_ranks(onnx_scores(path, inputs, max_len), targets, inputs))

