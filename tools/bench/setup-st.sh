#!/usr/bin/env bash
# Optional: the sentence-transformers (PyTorch CPU) baseline for tools/bench/vs-sentence-transformers.ts,
# in its own venv .venv-bench (about 1.4 GB), apart from the project's .venv. infra/scripts/setup.sh does
# not call this; nothing but that benchmark needs it. Idempotent: skipped when .venv-bench already holds
# exactly tools/bench/requirements-st.txt.
#   bash tools/bench/setup-st.sh
source "$(dirname "$0")/../../infra/scripts/lib.sh"

VENV=.venv-bench
REQS=tools/bench/requirements-st.txt
command -v python3 >/dev/null || die "python3 is not installed"

req_sum=$(sha256sum "$REQS" | cut -d' ' -f1)
if [ "$(cat "$VENV/.ranksafe-requirements" 2>/dev/null)" = "$req_sum" ] \
  && "$VENV/bin/python" -c 'import importlib.util as u, sys; sys.exit(0 if u.find_spec("torch") and u.find_spec("sentence_transformers") else 1)' 2>/dev/null; then
  echo "setup-st: $VENV is up to date"
  exit 0
fi

echo "setup-st: installing sentence-transformers and PyTorch (CPU) into $VENV (pip) …"
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV" || die "python3 -m venv failed; install the python3-venv package"
log="$VENV/pip-error.log"

# The CPU build first, by its local version label: a plain torch==2.13.0 from PyPI is the CUDA build
# (several GB of nvidia-* wheels). Where no CPU wheel is reachable, say so instead of pulling CUDA.
torch_pin=$(sed -n 's/^torch==\([^ #]*\).*/\1/p' "$REQS")
[ -n "$torch_pin" ] || die "$REQS pins no torch version"
if ! "$VENV/bin/python" -c "import torch, sys; sys.exit(0 if torch.__version__.split('+')[0] == '$torch_pin' and torch.version.cuda is None else 1)" 2>/dev/null; then
  if ! "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps "torch==$torch_pin+cpu" 2>"$log"; then
    if [ "${ALLOW_CUDA_TORCH:-0}" = 1 ]; then
      echo "setup-st: no CPU build of torch $torch_pin is reachable; installing the PyPI build (ALLOW_CUDA_TORCH=1)" >&2
    else
      die "no CPU build of torch==$torch_pin+cpu is reachable by pip (see $log). Point pip at an index or folder that has it (PIP_EXTRA_INDEX_URL / PIP_FIND_LINKS), or run with ALLOW_CUDA_TORCH=1 to accept the CUDA build from PyPI (several GB; the benchmark still runs on the CPU)"
    fi
  fi
fi

"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$REQS" 2>"$log" \
  || die "pip could not install $REQS into $VENV (see $log)"

"$VENV/bin/python" - <<'PY' || die "$VENV is not usable (see above)"
import torch, sentence_transformers, transformers
cpu = torch.version.cuda is None
print(f"setup-st: torch {torch.__version__} ({'CPU-only' if cpu else 'CUDA ' + torch.version.cuda + ' build'}), "
      f"sentence-transformers {sentence_transformers.__version__}, transformers {transformers.__version__}")
PY
echo "$req_sum" > "$VENV/.ranksafe-requirements"
