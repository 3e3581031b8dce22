#!/usr/bin/env bash
# Fails when libs/proto/src/gen is not what `nx run proto:generate` produces from proto/.
set -euo pipefail
cd "$(dirname "$0")/../.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
npx --no-install buf lint proto
npx --no-install buf generate --template libs/proto/buf.gen.yaml -o "$tmp"
if ! diff -r "$tmp/libs/proto/src/gen" libs/proto/src/gen >"$tmp/diff.txt"; then
  echo "error: generated code in libs/proto/src/gen is stale; run 'npx nx run proto:generate' and commit the result" >&2
  head -40 "$tmp/diff.txt" >&2
  exit 1
fi
echo "proto: generated code is up to date"
