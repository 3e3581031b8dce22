"""ONNX export of the serving graph from PyTorch, checked against PyTorch."""

from __future__ import annotations

import numpy as np
import torch

from .data import left_pad
from .graph import INPUT, OUTPUT, onnx_scores
from .model import Exported, SeqRec


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
