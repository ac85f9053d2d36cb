#!/usr/bin/env bash
# Before/after: the `quick` suite of benches/run.sh on another revision and on this checkout,
# with the same runner, the same generated inputs and the same options, then both side by
# side.
#
#   benches/before-after.sh REV [compare options]     e.g. benches/before-after.sh main
#
# REV's binaries (compare, gen-sym, gen-loadtest, prof, tecken) are built in a temporary git
# worktree, into the same target directory as this checkout's (CARGO_TARGET_DIR, default
# target/), so the dependencies common to both (the peers, the HTTP stack) compile once.
# Each side's binaries are copied out before the other side builds over them; the worktree
# is removed when the builds are done. Then `run.sh quick` runs with BENCH_BIN set to REV's
# binaries, then to this checkout's: engine comparison on a generated file (FUNCS, default
# 100000), `tecken serve` under wrk (DURATION, default 5 s a phase), `prof v5` for 5 s.
#
# Results: OUT/before-after/{before,after}/ (OUT defaults to bench-out); the summary is
# printed and written to OUT/before-after/summary.txt. Absolute numbers drift with the
# machine's load (printed with each side); the ratios against the peers, measured in the
# same run, drift less.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

if [[ $# -lt 1 || "$1" == -h || "$1" == --help ]]; then
    sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
fi
REV="$1"
shift
SHA=$(git rev-parse --verify "$REV^{commit}")
OUT=${OUT:-bench-out}
RES="$OUT/before-after"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
BINS=(compare gen-sym gen-loadtest prof tecken)
WT=

cleanup() {
    if [[ -n "$WT" ]]; then
        git worktree remove --force "$WT" 2>/dev/null || true
        rm -rf "$WT"
    fi
}
trap cleanup EXIT

build_into() { # source checkout, destination directory for the binaries
    (
        cd "$1"
        # The workspace's own crates have the same names and versions on both sides, so
        # cargo gives their artifacts the same names and would take the other side's as
        # fresh (their recorded sources, of the other checkout, are unchanged): remove them
        # first. The dependencies stay.
        cargo clean --release -q -p tecken-core -p tecken-server -p tecken-cli -p tecken-benches
        cargo build --release -q -p tecken-benches \
            --bin compare --bin gen-sym --bin gen-loadtest --bin prof
        cargo build --release -q -p tecken-cli --bin tecken
    )
    rm -rf "$2"
    mkdir -p "$2"
    for b in "${BINS[@]}"; do
        cp "$CARGO_TARGET_DIR/release/$b" "$2/"
    done
}

mkdir -p "$RES"
echo "== build $REV (${SHA:0:12}) in a temporary worktree; target $CARGO_TARGET_DIR"
WT=$(mktemp -d /tmp/tecken-before.XXXXXX)
git worktree add -q --detach "$WT" "$SHA"
build_into "$WT" "$RES/bin-before"
cleanup
WT=
echo "== build this checkout ($(git rev-parse --short HEAD)$(git diff --quiet HEAD || echo ', with local changes'))"
build_into "$ROOT" "$RES/bin-after"

for side in before after; do
    echo
    echo "=================== $side: $([[ $side == before ]] && echo "$REV (${SHA:0:12})" || echo "this checkout")"
    cut -d' ' -f1-3 /proc/loadavg > "$RES/$side.load"
    BENCH_BIN="$RES/bin-$side" QUICK_OUT="$RES/$side" OUT="$OUT" \
        benches/run.sh quick "$@"
done

python3 - "$RES" "$REV" <<'EOF' | tee "$RES/summary.txt"
import json, re, sys
res, rev = sys.argv[1], sys.argv[2]

def side(name):
    d = f"{res}/{name}"
    c = json.load(open(f"{d}/compare.json"))
    big = next(i for i in c["inputs"] if i["large"])
    b, l, k = big["build"], big["lookup"], big["cold"]
    serve = {p["name"]: p for p in json.load(open(f"{d}/serve.json"))["phases"]}
    prof = re.search(r"(\d+) requests, ([\d.]+) us each, (\d+) frames/s", open(f"{d}/prof-v5.txt").read())
    return {
        "load": open(f"{res}/{name}.load").read().strip(),
        "input": f"{big['name']}, {big['input_bytes'] / 1e6:.0f} MB",
        "build to file, MB/s": b["ours_file"]["mb_per_s"],
        "build in memory, MB/s": b["ours_mem"]["mb_per_s"],
        "  vs symbolic (file)": b["ours_file"]["mb_per_s"] / b["symbolic"]["mb_per_s"],
        "  vs breakpad (file)": b["ours_file"]["mb_per_s"] / b["breakpad"]["mb_per_s"],
        "  vs symbolic (memory)": b["ours_mem"]["mb_per_s"] / b["symbolic"]["mb_per_s"],
        "  vs breakpad (memory)": b["ours_mem"]["mb_per_s"] / b["breakpad"]["mb_per_s"],
        "peak heap, build to file, MB": b["ours_file"]["peak_heap_bytes"] / 1e6,
        "warm lookup, ns/address": l["ours"]["ns"][0],
        "  vs symbolic": l["symbolic"]["ns"][0] / l["ours"]["ns"][0],
        "  vs breakpad": l["breakpad"]["ns"][0] / l["ours"]["ns"][0],
        "cold open + 1st lookup, ms": k["ours"]["total_ms"][0],
        "  vs symbolic ": k["symbolic"]["total_ms"][0] / k["ours"]["total_ms"][0],
        "index size, MB": big["index_bytes"] / 1e6,
        "serve lbheartbeat, req/s": serve["lbheartbeat"]["rps"],
        "serve download_head, req/s": serve["download_head"]["rps"],
        "serve v5_warm, req/s": serve["v5_warm"]["rps"],
        "serve v5_warm p99, ms": serve["v5_warm"]["p99_ms"],
        "serve v5_cold, req/s": serve["v5_cold"]["rps"],
        "prof v5, us/request": float(prof.group(2)) if prof else float("nan"),
        "prof v5, frames/s": float(prof.group(3)) if prof else float("nan"),
    }

before, after = side("before"), side("after")
print(f"\n{'':<32} {rev[:16]:>16} {'this checkout':>16} {'after/before':>13}")
for key in before:
    x, y = before[key], after[key]
    if isinstance(x, str):
        print(f"{key:<32} {x:>16} {y:>16}" if key != "input" else f"{key:<32} {x}")
        continue
    ratio = f"{y / x:>12.3f}x" if x else ""
    print(f"{key:<32} {x:>16,.2f} {y:>16,.2f} {ratio}")
print("\nratios 'vs' are the peer's time (or ours' throughput) over the other's, within one run;"
      " above 1 ours wins. load = 1/5/15-minute load average when the side started.")
EOF
