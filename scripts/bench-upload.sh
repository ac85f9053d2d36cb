#!/usr/bin/env bash
# Upload benchmark: tecken-core vs. the Tecken (Python) way, local store and S3 on loopback.
#   scripts/bench-upload.sh [--size-mb 200] [--threads 4]
# Starts the S3-compatible server of scripts/s3-server.sh if needed (and then stops it).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
if ! scripts/s3-server.sh status; then
    trap 'scripts/s3-server.sh stop' EXIT # stop it only if this script started it
fi
eval "$(scripts/s3-server.sh start)"
cargo run --release -q -p tecken-core --features s3 --example bench_upload -- --python "$ROOT/.venv/bin/python" "$@"
