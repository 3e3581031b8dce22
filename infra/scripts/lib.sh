# Shared by the scripts in infra/scripts. Sourced, not run.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
export NX_DAEMON="${NX_DAEMON:-false}" NX_NO_CLOUD=true NX_TUI=false NX_SKIP_NX_CACHE="${NX_SKIP_NX_CACHE:-false}"
die() { echo "error: $*" >&2; exit 1; }

# torch_venv VENV REQS TAG MODULES...: a venv of its own with PyTorch's CPU build and the pinned REQS,
# for the optional Python tools (tools/bench/setup-st.sh, tools/seqrec/setup.sh); never called by
# setup.sh. torch==<pin>+cpu is installed first so that pip never falls back to the multi-GB CUDA
# build. Idempotent: skipped when VENV already holds exactly REQS and MODULES import.
torch_venv() {
  local venv=$1 reqs=$2 tag=$3
  shift 3
  local req_sum check log torch_pin
  command -v python3 >/dev/null || die "python3 is not installed"
  req_sum=$(sha256sum "$reqs" | cut -d' ' -f1)
  check="import importlib.util as u, sys; sys.exit(0 if all(u.find_spec(m) for m in sys.argv[1:]) else 1)"
  if [ "$(cat "$venv/.ranksafe-requirements" 2>/dev/null)" = "$req_sum" ] && "$venv/bin/python" -c "$check" torch "$@" 2>/dev/null; then
    echo "$tag: $venv is up to date"
    return 0
  fi
  echo "$tag: installing PyTorch (CPU) and $reqs into $venv (pip) …"
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv" || die "python3 -m venv failed; install the python3-venv package"
  log="$venv/pip-error.log"
  torch_pin=$(sed -n 's/^torch==\([^ #]*\).*/\1/p' "$reqs")
  [ -n "$torch_pin" ] || die "$reqs pins no torch version"
  if ! "$venv/bin/python" -c "import torch, sys; sys.exit(0 if torch.__version__.split('+')[0] == '$torch_pin' and torch.version.cuda is None else 1)" 2>/dev/null; then
    if ! "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps "torch==$torch_pin+cpu" 2>"$log"; then
      if [ "${ALLOW_CUDA_TORCH:-0}" = 1 ]; then
        echo "$tag: no CPU build of torch $torch_pin is reachable; installing the PyPI build (ALLOW_CUDA_TORCH=1)" >&2
      else
        die "no CPU build of torch==$torch_pin+cpu is reachable by pip (see $log). Point pip at an index or folder that has it (PIP_EXTRA_INDEX_URL / PIP_FIND_LINKS), or run with ALLOW_CUDA_TORCH=1 to accept the CUDA build from PyPI (several GB; the tool still runs on the CPU)"
      fi
    fi
  fi
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$reqs" 2>"$log" || die "pip could not install $reqs into $venv (see $log)"
  "$venv/bin/python" -c "$check" torch "$@" || die "$venv lacks one of: torch $*"
  echo "$req_sum" > "$venv/.ranksafe-requirements"
}
