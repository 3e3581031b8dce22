#!/usr/bin/env bash
# Optional: the sentence-transformers (PyTorch CPU) baseline for tools/bench/vs-sentence-transformers.ts,
# in its own venv .venv-bench (about 1.4 GB), apart from the project's .venv. infra/scripts/setup.sh does
# not call this; nothing but that benchmark needs it. Idempotent: skipped when .venv-bench already holds
# exactly tools/bench/requirements-st.txt.
#   bash tools/bench/setup-st.sh
source "$(dirname "$0")/../../infra/scripts/lib.sh"

VENV=.venv-bench
torch_venv "$VENV" tools/bench/requirements-st.txt setup-st sentence_transformers transformers

"$VENV/bin/python" - <<'PY' || die "$VENV is not usable (see above)"
import torch, sentence_transformers, transformers
cpu = torch.version.cuda is None
print(f"setup-st: torch {torch.__version__} ({'CPU-only' if cpu else 'CUDA ' + torch.version.cuda + ' build'}), "
      f"sentence-transformers {sentence_transformers.__version__}, transformers {transformers.__version__}")
PY
