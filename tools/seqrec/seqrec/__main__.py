"""python -m seqrec train --data FILE [--attrs FILE] --out DIR [options]

Trains a sequential recommender on a file of one user a line (`user_id item_id ...`, time order), reports
leave-one-out HR/NDCG@10/20 with full ranking and against 99 sampled negatives, exports the best epoch to
ONNX (checked against PyTorch), keeps an int8 variant when it holds NDCG@10 within 0.001, and writes the
bundle DIR/{model.onnx, vocab.json, manifest.json, run.json}."""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time

import torch

from .data import leave_one_out, read_sequences, sha256_file
from .bundle import dataset_record, file_size, write_bundle
from .export import check_equal, export_onnx
from .graph import onnx_full_metrics, quantize_int8
from .model import ModelConfig
from .train import TrainConfig, test_metrics, train

# The named default variant: SASRec (causal) with full-softmax cross-entropy and item attributes when given.
DEFAULTS = dict(variant="sasrec", max_len=50, dim=128, layers=2, heads=2, dropout=0.5, attn_dropout=0.5)


def parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="seqrec", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("train", help="train, evaluate, export")
    t.add_argument("--data", required=True, help="one user a line: user_id item_id item_id ... (time order)")
    t.add_argument("--attrs", help="JSON {item_id: [attribute ids]}: item side information")
    t.add_argument("--out", required=True, help="bundle directory to write")
    t.add_argument("--name", default="seqrec", help="model name in the manifest")
    t.add_argument("--variant", choices=["sasrec", "bert4rec"], default=DEFAULTS["variant"])
    t.add_argument("--max-len", type=int, default=DEFAULTS["max_len"])
    t.add_argument("--dim", type=int, default=DEFAULTS["dim"])
    t.add_argument("--layers", type=int, default=DEFAULTS["layers"])
    t.add_argument("--heads", type=int, default=DEFAULTS["heads"])
    t.add_argument("--dropout", type=float, default=DEFAULTS["dropout"])
    t.add_argument("--attn-dropout", type=float, default=DEFAULTS["attn_dropout"])
    for f in ("epochs", "batch_size", "negatives", "patience", "eval_every", "seed", "threads"):
        t.add_argument("--" + f.replace("_", "-"), type=int, default=getattr(TrainConfig, f))
    for f in ("lr", "weight_decay", "mask_prob", "max_minutes"):
        t.add_argument("--" + f.replace("_", "-"), type=float, default=getattr(TrainConfig, f))
    t.add_argument("--no-int8", action="store_true", help="skip the int8 variant")
    return p.parse_args(argv)


def main(argv: list[str]) -> int:
    a = parse(argv)
    started = time.time()
    ds = read_sequences(a.data, a.attrs)
    split = leave_one_out(ds)
    print(
        f"seqrec: {len(ds.users)} users, {ds.n_items} items, {ds.interactions} interactions"
        f"{f', {ds.n_attrs} attributes on {len(ds.item_attrs)} items' if a.attrs else ''}; {len(split.eval_users)} users evaluated",
        flush=True,
    )
    mc = ModelConfig(
        n_items=ds.n_items,
        max_len=a.max_len,
        dim=a.dim,
        layers=a.layers,
        heads=a.heads,
        dropout=a.dropout,
        attn_dropout=a.attn_dropout,
        causal=a.variant == "sasrec",
        n_attrs=ds.n_attrs,
    )
    tc = TrainConfig(**{f: getattr(a, f) for f in TrainConfig.__dataclass_fields__})
    os.makedirs(a.out, exist_ok=True)
    log_path = os.path.join(a.out, "epochs.jsonl")
    with open(log_path, "w") as log:

        def record(row: dict) -> None:
            log.write(json.dumps(row) + "\n")
            log.flush()

        model, history = train(ds, split, mc, tc, log=record)
    metrics = test_metrics(model, ds, split, tc.seed)
    print(f"seqrec: best epoch {history['best_epoch']} ({history['stopped']}), trained in {history['train_wall_s']} s", flush=True)
    print_table(metrics)

    onnx_path = os.path.join(a.out, "model.onnx")
    export_onnx(model, onnx_path)
    sample = split.test_inputs[:256] or ds.sequences[:256]
    diff = check_equal(model, onnx_path, sample)
    onnx_test = onnx_full_metrics(onnx_path, split.test_inputs, split.test_targets, mc.max_len)
    print(f"seqrec: ONNX = PyTorch within {diff:.1e}; ONNX test NDCG@10 {onnx_test['ndcg@10']:.4f}", flush=True)
    variants = {"fp32": {"file": "model.onnx", "bytes": file_size(onnx_path), "test": onnx_test}}
    if not a.no_int8:
        q_path = os.path.join(a.out, "model.int8.onnx")
        quantize_int8(onnx_path, q_path)
        q_test = onnx_full_metrics(q_path, split.test_inputs, split.test_targets, mc.max_len)
        loss = onnx_test["ndcg@10"] - q_test["ndcg@10"]
        keep = loss <= 0.001
        print(f"seqrec: int8 test NDCG@10 {q_test['ndcg@10']:.4f} ({-loss:+.4f} vs fp32): {'kept' if keep else 'dropped (loses more than 0.001)'}", flush=True)
        if keep:
            variants["int8"] = {"file": "model.int8.onnx", "bytes": file_size(q_path), "test": q_test}
        else:
            os.remove(q_path)

    run = {
        "dataset": dataset_record(a.data, ds),
        "attributes": {"path": os.path.abspath(a.attrs), "sha256": sha256_file(a.attrs), "attributes": ds.n_attrs} if a.attrs else None,
        "seed": tc.seed,
        "model": mc.to_dict(),
        "training": tc.to_dict(),
        "history": history,
        "metrics": metrics,
        "onnx": {"max_abs_diff_vs_pytorch": diff, "variants": variants},
        "environment": {"python": platform.python_version(), "torch": torch.__version__, "threads": torch.get_num_threads(), "machine": platform.machine()},
        "wall_s": round(time.time() - started, 1),
    }
    write_bundle(
        a.out,
        name=a.name,
        variant=tc.variant,
        dim=mc.dim,
        max_len=mc.max_len,
        vocab=ds.vocab,
        variants=variants,
        run=run,
        metrics=metrics,
        hyperparameters={**mc.to_dict(), **tc.to_dict()},
        license="Apache-2.0 (weights trained by ranksafe tools/seqrec; the training data keeps its own terms)",
    )
    print(f"seqrec: wrote {a.out} (manifest.json, vocab.json, run.json, {', '.join(v['file'] for v in variants.values())}) in {run['wall_s']} s", flush=True)
    return 0


def print_table(m: dict) -> None:
    print("| split | ranking | HR@10 | NDCG@10 | HR@20 | NDCG@20 |")
    print("|---|---|---|---|---|---|")
    rows = [("valid", "full", m["valid"]), ("test", "full", m["test"]["full"])]
    if "sampled" in m["test"]:
        rows.append(("test", "99 sampled", m["test"]["sampled"]))
    for split, kind, r in rows:
        print(f"| {split} | {kind} | {r['hr@10']:.4f} | {r['ndcg@10']:.4f} | {r['hr@20']:.4f} | {r['ndcg@20']:.4f} |")
    sys.stdout.flush()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
