#!/usr/bin/env bash
# Runs the side-by-side benchmark: tecken-core vs symbolic vs breakpad-symbols.
#
#   benches/run.sh                      # fixtures + the ~420 MB generated file (~3 min)
#   benches/run.sh --time-scale 0.3     # extra options go to `compare` (see --help)
#   FUNCS=100000 benches/run.sh         # a smaller generated file (~140 MB)
#
# Generated files, indexes, SymCaches and the JSON summary go to $OUT (default bench-out/,
# git-ignored). The large .sym is generated once per FUNCS/SEED and reused.
set -euo pipefail
cd "$(dirname "$0")/.."

OUT=${OUT:-bench-out}
FUNCS=${FUNCS:-300000}
SEED=${SEED:-1}
TARGET_DIR=${CARGO_TARGET_DIR:-target}

cargo build --release -p tecken-benches --bins
mkdir -p "$OUT"
LARGE="$OUT/libxul-${FUNCS}f-s${SEED}.sym"
if [ ! -f "$LARGE" ]; then
    "$TARGET_DIR/release/gen-sym" --funcs "$FUNCS" --seed "$SEED" -o "$LARGE"
fi

"$TARGET_DIR/release/compare" \
    --out "$OUT" \
    --fixtures fixtures/tecken \
    --fixtures fixtures/generated \
    --large "$LARGE" \
    "$@" | tee "$OUT/compare.txt"
