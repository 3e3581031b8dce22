#!/usr/bin/env bash
# npm start: install what is missing, then run the whole stack in the foreground (Ctrl-C stops it).
source "$(dirname "$0")/lib.sh"
bash infra/scripts/setup.sh
exec node --import tsx infra/stack/up.ts
