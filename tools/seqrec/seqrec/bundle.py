"""The bundle a sequential recommender is served from (numpy only): DIR/{model.onnx[, model.int8.onnx],
vocab.json, run.json, manifest.json}. The manifest is the project's model manifest (ranking-core
ModelManifest: variants -> file, artifacts -> sha256 and bytes, so the registry bundles and verifies it
like the search model), plus what serving a sequential recommender needs and its lineage."""

from __future__ import annotations

import json
import os

from .data import sha256_file


def dataset_record(path: str, ds) -> dict:
    """What a run record says of the file it trained on (the lineage's dataset hash)."""
    return {"path": os.path.abspath(path), "sha256": sha256_file(path), "users": len(ds.users), "items": ds.n_items, "interactions": ds.interactions}


def file_size(path: str) -> int:
    return os.path.getsize(path)


def write_bundle(out: str, *, name: str, variant: str, dim: int, max_len: int, vocab: list[str], variants: dict, run: dict, metrics: dict, hyperparameters: dict, license: str) -> None:
    """variants: {"fp32": {"file": "model.onnx", "bytes": …, "test": {…}}, …}; run: the run record (its
    "dataset"/"attributes"/"seed" are the lineage); metrics: {"test": {"full": …[, "sampled": …]}, "valid": …}."""
    with open(os.path.join(out, "vocab.json"), "w") as f:
        json.dump(vocab, f)
    with open(os.path.join(out, "run.json"), "w") as f:
        json.dump(run, f, indent=1)
    files = [v["file"] for v in variants.values()] + ["vocab.json", "run.json"]
    manifest = {
        "name": name,
        "kind": "sequential-recommender",
        "framework": "onnx",
        "license": license,
        "dims": dim,
        "max_length": max_len,
        "inputs": ["item_ids"],
        "output": "scores",
        "variants": {k: v["file"] for k, v in variants.items()},
        "artifacts": {f: {"sha256": sha256_file(os.path.join(out, f)), "bytes": file_size(os.path.join(out, f))} for f in files},
        "seqrec": {
            "variant": variant,
            "items": len(vocab),
            "vocab": "vocab.json",
            "input": "item_ids int64 [batch, max_length]: 1-based indices into vocab.json, oldest first, left-padded with 0",
            "output": "scores float32 [batch, items]: column j scores vocab[j]",
            "metrics": {"test": metrics["test"], "valid": metrics["valid"], "onnx_test": {k: v["test"] for k, v in variants.items()}},
            "lineage": {
                "dataset_sha256": run["dataset"]["sha256"],
                "attributes_sha256": run["attributes"]["sha256"] if run.get("attributes") else None,
                "seed": run["seed"],
                "hyperparameters": hyperparameters,
                "run": "run.json",
            },
        },
    }
    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
