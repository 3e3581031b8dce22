#!/usr/bin/env bash
# npm test: install what is missing, check generated code, types and lint (layer boundaries), start what the tests need
# (Postgres, a Temporal dev server), run every project's tests, print one summary line.
source "$(dirname "$0")/lib.sh"
bash infra/scripts/setup.sh

rm -rf .data/test-results && mkdir -p .data/test-results
status=0
npx --no-install nx run proto:check --outputStyle=stream || status=1
npx --no-install nx run-many -t typecheck --outputStyle=stream || status=1
npx --no-install nx run-many -t lint --outputStyle=stream || status=1
npx --no-install prettier --check --log-level warn . || { echo "formatting: run npm run format"; status=1; }
node --import tsx infra/stack/with-deps.ts -- \
  npx --no-install nx run-many -t test --outputStyle=stream --skip-nx-cache "$@" || status=1
node tools/scripts/test-summary.js .data/test-results || status=1
exit $status
