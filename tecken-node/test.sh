#!/usr/bin/env bash
# Builds the Node binding from source and runs its tests:
#   npm ci (the committed package-lock.json; @napi-rs/cli 2 is one JS file, no downloads
#   of binaries), npm run build (cargo build --release + index.js / index.d.ts), a check
#   that the committed index.d.ts matches the build, then `npm test` (node --test).
# S3 tests run when TECKEN_TEST_S3_ENDPOINT is set (scripts/s3-server.sh start).
set -euo pipefail
cd "$(dirname "$0")"

echo "node $(node --version), npm $(npm --version)"
npm ci --no-audit --no-fund

committed="$(mktemp)"
trap 'rm -f "$committed"' EXIT
cp index.d.ts "$committed"
npm run build
if ! diff -u "$committed" index.d.ts; then
  echo "index.d.ts differs from the build: commit the regenerated file" >&2
  exit 1
fi
echo "index.d.ts matches the build"

npm test
