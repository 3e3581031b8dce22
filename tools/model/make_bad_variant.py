#!/usr/bin/env python3
"""Build a DELIBERATELY BROKEN copy of the served bi-encoder, for drills and quality-gate tests.

The fp32 ONNX of models/minilm-l6-v2 (sha256 checked against its manifest) gets seeded Gaussian
noise on every weight matrix (std = --noise x that matrix's own std), then is quantised to int8
exactly like tools/model/build_minilm.py does. The result loads, warms and answers like the real
model (same inputs, outputs, dims, tokenizer), so only a quality check can tell it apart: its
rankings are much worse. A rollout's quality gate must refuse it.

The output directory has the same manifest format (sha256 + size of every artifact) with
"deliberately_broken": true and a description saying so, and the same model name, so it can be
published as a candidate version of minilm-l6-v2.

Usage: python tools/model/make_bad_variant.py [--src models/minilm-l6-v2] [--out models/minilm-l6-v2-bad]
                                              [--seed 1234] [--noise 0.6] [--check]
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import numpy_helper
from onnxruntime.quantization import QuantType, quantize_dynamic

HERE = Path(__file__).resolve().parent
MODEL_FILES = {"model.fp32.onnx", "model.int8.onnx"}
# The good model's reference embeddings belong to the good model only.
NOT_COPIED = MODEL_FILES | {"manifest.json", "reference.json"}


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def build_inputs_digest(src_manifest: dict, seed: int, noise: float) -> str:
    """What determines the artifacts: this script, the source model and the noise parameters."""
    h = hashlib.sha256((HERE / "make_bad_variant.py").read_bytes())
    h.update(src_manifest["artifacts"]["model.fp32.onnx"]["sha256"].encode())
    h.update(f"{seed}:{noise}".encode())
    return h.hexdigest()


def noised(model: onnx.ModelProto, seed: int, noise: float) -> int:
    """Adds noise in place to every float initializer with two or more dimensions; returns how many."""
    rng = np.random.default_rng(seed)
    count = 0
    for init in model.graph.initializer:
        if init.data_type != onnx.TensorProto.FLOAT or len(init.dims) < 2:
            continue
        w = numpy_helper.to_array(init)
        w = (w + rng.normal(0.0, noise * float(w.std()), size=w.shape)).astype(np.float32)
        init.CopyFrom(numpy_helper.from_array(w, init.name))
        count += 1
    return count


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--src", default="models/minilm-l6-v2")
    ap.add_argument("--out", default="models/minilm-l6-v2-bad")
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--noise", type=float, default=0.6, help="noise std as a multiple of each weight matrix's std")
    ap.add_argument("--check", action="store_true", help="exit 0 if --out is built from the current inputs, else 1")
    args = ap.parse_args()
    src, out = Path(args.src), Path(args.out)
    src_manifest = json.loads((src / "manifest.json").read_text())
    digest = build_inputs_digest(src_manifest, args.seed, args.noise)
    if args.check:
        try:
            built = json.loads((out / "manifest.json").read_text()).get("build_inputs_sha256")
        except (OSError, ValueError):
            built = None
        sys.exit(0 if built == digest else 1)

    t0 = time.time()
    fp32_src = src / "model.fp32.onnx"
    want = src_manifest["artifacts"]["model.fp32.onnx"]["sha256"]
    if sha256(fp32_src) != want:
        sys.exit(f"error: {fp32_src} does not match its manifest's sha256 {want}; rebuild it with npm run setup")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp_out = Path(tempfile.mkdtemp(prefix=".build-bad-", dir=out.parent))
    os.chmod(tmp_out, 0o755)
    try:
        model = onnx.load(str(fp32_src))
        n = noised(model, args.seed, args.noise)
        onnx.checker.check_model(model)
        fp32 = tmp_out / "model.fp32.onnx"
        onnx.save(model, str(fp32))
        int8 = tmp_out / "model.int8.onnx"
        quantize_dynamic(str(fp32), str(int8), weight_type=QuantType.QInt8, per_channel=True)
        for f in sorted(src_manifest["artifacts"]):
            if f not in NOT_COPIED:
                shutil.copyfile(src / f, tmp_out / f)

        # How far it is from the good model on a few texts (it still answers, with other vectors).
        from tokenizers import Tokenizer  # the tokenizer of the model itself
        tok = Tokenizer.from_file(str(src / "tokenizer.json"))
        tok.no_padding()
        texts = ["velvet sofa", "solid oak dining table with 6 chairs", "hypoallergenic fragrance-free moisturizer", "running shoes for men"]
        enc = [tok.encode(t) for t in texts]
        seq = max(len(e.ids) for e in enc)
        ids = np.array([e.ids + [0] * (seq - len(e.ids)) for e in enc], dtype=np.int64)
        am = np.array([[1] * len(e.ids) + [0] * (seq - len(e.ids)) for e in enc], dtype=np.int64)

        def embed(path: Path) -> np.ndarray:
            sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
            h = sess.run(["last_hidden_state"], {"input_ids": ids, "attention_mask": am, "token_type_ids": np.zeros_like(ids)})[0]
            m = am[..., None].astype(np.float32)
            e = (h * m).sum(1) / m.sum(1)
            return e / np.linalg.norm(e, axis=1, keepdims=True)

        good = embed(src / "model.int8.onnx")
        bad = embed(int8)
        cos = (good * bad).sum(1)

        artifacts = {p.name: {"sha256": sha256(p), "bytes": p.stat().st_size} for p in sorted(tmp_out.iterdir())}
        manifest = {k: v for k, v in src_manifest.items() if k not in ("artifacts", "agreement_with_numpy_reference", "build_inputs_sha256")}
        manifest.update({
            "description": f"DELIBERATELY BROKEN copy of {src_manifest['name']} for drills and quality-gate tests: "
                           f"Gaussian noise (seed {args.seed}, {args.noise} x each weight matrix's std) on {n} weight matrices. Never serve it.",
            "deliberately_broken": True,
            "derived_from": {"name": src_manifest["name"], "fp32_sha256": want, "seed": args.seed, "noise": args.noise},
            "agreement_with_source_model": {"int8": {"min_cosine": float(cos.min()), "mean_cosine": float(cos.mean())}},
            "built_with": {"python": sys.version.split()[0], "onnx": onnx.__version__, "onnxruntime": ort.__version__},
            "artifacts": artifacts,
            "build_inputs_sha256": digest,
        })
        (tmp_out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
        if out.exists():
            shutil.rmtree(out)
        os.replace(tmp_out, out)
        print(f"built {out} in {time.time() - t0:.1f} s: {n} weight matrices noised (seed {args.seed}, {args.noise} x std); "
              f"int8 mean cosine to the good model {cos.mean():.3f} (deliberately broken)")
    finally:
        shutil.rmtree(tmp_out, ignore_errors=True)


if __name__ == "__main__":
    main()
