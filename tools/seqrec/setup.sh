#!/usr/bin/env bash
# The sequential recommender's training tool (PyTorch CPU) in its own venv .venv-seqrec, apart from the
# project's .venv. infra/scripts/setup.sh does not call this: npm start serves without PyTorch. Idempotent.
#   bash tools/seqrec/setup.sh
source "$(dirname "$0")/../../infra/scripts/lib.sh"
torch_venv .venv-seqrec tools/seqrec/requirements.txt seqrec numpy onnx onnxruntime tqdm
