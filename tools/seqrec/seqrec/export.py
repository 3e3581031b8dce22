"""ONNX export of the serving graph, checked against PyTorch, and its int8 variant when it keeps quality."""

from __future__ import annotations

import os

import numpy as np
import torch

from .data import left_pad
from .metrics import full_ranks, summarize
from .model import Exported, SeqRec

INPUT = "item_ids"
OUTPUT = "scores"


def export_onnx(model: SeqRec, path: str) -> None:
    model.eval()
    graph = Exported(model).eval()
    example = torch.ones((2, model.config.max_len), dtype=torch.long)
    torch.onnx.export(
        graph,
        (example,),
        path,
        input_names=[INPUT],
        output_names=[OUTPUT],
        dynamic_axes={INPUT: {0: "batch"}, OUTPUT: {0: "batch"}},
        opset_version=17,
        dynamo=False,
    )


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


@torch.no_grad()
def check_equal(model: SeqRec, path: str, inputs: list[list[int]], atol: float = 1e-3) -> float:
    """The largest |ONNX - PyTorch| score over the given histories; raises when above atol."""
    model.eval()
    # PyTorch's view of the same fixed-length window the ONNX graph is given.
    window = model.config.max_len
    ref = model.scores(torch.from_numpy(left_pad(inputs, window, trim=False)))[:, 1:].numpy()
    got = onnx_scores(path, inputs, window)[:, 1:]
    diff = float(np.max(np.abs(ref - got)))
    if not diff <= atol:
        raise AssertionError(f"ONNX scores differ from PyTorch by {diff:.2e} (tolerance {atol:.0e})")
    return diff


def quantize_int8(src: str, dst: str) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(src, dst, weight_type=QuantType.QInt8)


def onnx_full_metrics(path: str, inputs: list[list[int]], targets: np.ndarray, max_len: int) -> dict[str, float]:
    return summarize(full_ranks(onnx_scores(path, inputs, max_len), targets, inputs))


def file_size(path: str) -> int:
    return os.path.getsize(path)
