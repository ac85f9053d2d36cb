#!/usr/bin/env bash
# The load test of issue 4 part 6: the Django example (examples/django) under gunicorn with
# 2 workers on 127.0.0.1, driven by wrk, measuring in one run:
#   minimal   GET /__lbheartbeat__, a minimal JSON view (Django alone)
#   download  GET of a stored .sym: Tecken's cached download, a 302 to the storage URL
#   v5        POST /symbolicate/v5 replaying the distinct requests of requests.jsonl
#             (~40 frames over 5 modules, one of them the ~418 MB libxul-scale module),
#             warm index cache
# It prints requests/s, p50 and p99 latency and the ratio to the minimal view per phase,
# for each worker class measured, and writes bench-out/loadtest-django.json:
#   {"worker_class": .., "phases": [{"name", "rps", "p50_ms", "p99_ms", ...}], ...}
# ("phases" are those of the primary worker class; the others are under "alternatives").
#
#   scripts/loadtest-django.sh [--duration SECS] [--rounds N] [--connections N]
#                              [--worker-class sync|gthread|both]
#
# Each round runs every phase for --duration seconds (default 5), phases interleaved, so
# load from elsewhere on the machine hits them alike; a phase's numbers are those of its
# median round (by requests/s) of --rounds (default 3).
#
# The data set comes from `gen-loadtest` (benches/) into bench-out/loadtest, made once and
# reused. wrk is installed with apt-get when missing. Everything it starts it stops.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="$ROOT/bench-out"
DATA="$OUT/loadtest"
DURATION=5
ROUNDS=3
CONNECTIONS=8
CLASSES=both
PORT="${TECKEN_LOADTEST_PORT:-8766}"

usage() { sed -n '2,25p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
while [[ $# -gt 0 ]]; do
    case "$1" in
        --duration) DURATION="$2"; shift 2 ;;
        --connections) CONNECTIONS="$2"; shift 2 ;;
        --rounds) ROUNDS="$2"; shift 2 ;;
        --worker-class) CLASSES="$2"; shift 2 ;;
        -h|--help) usage ;;
        *) echo "loadtest-django: unknown argument $1" >&2; usage ;;
    esac
done
case "$CLASSES" in
    both) CLASSES=(sync gthread) ;;
    sync|gthread) CLASSES=("$CLASSES") ;;
    *) echo "loadtest-django: --worker-class is sync, gthread or both" >&2; exit 2 ;;
esac

if ! command -v wrk >/dev/null; then
    echo "loadtest-django: installing wrk" >&2
    apt-get install -y wrk >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y wrk >/dev/null; }
fi

mkdir -p "$OUT"
if [[ ! -s "$DATA/requests.jsonl" ]]; then
    echo "loadtest-django: generating the data set into $DATA (gen-loadtest)" >&2
    (cd "$ROOT" && cargo run --quiet --release -p tecken-benches --bin gen-loadtest -- --out "$DATA")
fi
# A stored .sym for the download phase: the first small module of the store.
SYM_PATH="$(cd "$DATA/symbols/v1" && find . -name '*.sym' ! -path './libxul.so/*' | sort | head -1)"
SYM_PATH="${SYM_PATH#./}"
[[ -n "$SYM_PATH" ]] || { echo "loadtest-django: no .sym under $DATA/symbols/v1" >&2; exit 1; }

VENV="${TECKEN_VENV:-$ROOT/.venv}"
LOG="$OUT/loadtest-django.server.log"
SERVER_PID=""
stop_server() {
    if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM "$SERVER_PID"
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    SERVER_PID=""
}
trap stop_server EXIT

start_server() { # worker class
    # The store is the generated one; downloads answer 302 to a (never contacted) storage
    # URL, as Tecken's do.
    TECKEN_STORE="$DATA/symbols" TECKEN_CACHE_DIR="$DATA/cache" \
        TECKEN_DOWNLOAD_URL="https://symbols.invalid/" \
        TECKEN_BIND="127.0.0.1:$PORT" TECKEN_WORKERS=2 TECKEN_WORKER_CLASS="$1" \
        TECKEN_VENV="$VENV" \
        "$ROOT/examples/django/run.sh" --timeout 300 "${EXTRA_GUNICORN[@]}" >>"$LOG" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 1 600); do # the first run may build the binding: up to 10 minutes
        if curl -fsS -o /dev/null "http://127.0.0.1:$PORT/__lbheartbeat__" 2>/dev/null; then
            return 0
        fi
        kill -0 "$SERVER_PID" 2>/dev/null || { echo "loadtest-django: the server exited; see $LOG" >&2; exit 1; }
        sleep 1
    done
    echo "loadtest-django: the server did not answer; see $LOG" >&2
    exit 1
}

EXTRA_GUNICORN=()
# gunicorn 24+ opens a control socket in ~/.gunicorn by default; a test server needs none.
if [[ -x "$VENV/bin/gunicorn" ]] && "$VENV/bin/gunicorn" --help 2>/dev/null | grep -q -- --no-control-socket; then
    EXTRA_GUNICORN=(--no-control-socket)
fi
URL="http://127.0.0.1:$PORT"
LUA="$ROOT/scripts/loadtest-django.lua"
RESULTS="$(mktemp)"
trap 'stop_server; rm -f "$RESULTS"' EXIT

run_wrk() { # seconds phase-args...
    local secs="$1"; shift
    # One wrk thread: on 2 cores every core wrk uses is taken from the server.
    wrk -t1 -c"$CONNECTIONS" -d"${secs}s" --timeout 30s -s "$LUA" "$URL" -- "$@" | sed -n 's/^RESULT //p'
}

check_v5() { # one request: every module found, frames symbolicated
    local body
    body="$(curl -fsS -X POST -H 'Content-Type: application/json' --data-binary @"$DATA/request.json" "$URL/symbolicate/v5")"
    "$VENV/bin/python" - "$body" <<'PY'
import json, sys
r = json.loads(sys.argv[1])["results"][0]
missing = [m for m, found in r["found_modules"].items() if found is not True]
named = sum("function" in f for f in r["stacks"][0])
assert not missing, f"modules not found: {missing}"
assert named > len(r["stacks"][0]) // 2, f"only {named} frames symbolicated"
print(f"loadtest-django: v5 check: {len(r['found_modules'])} modules found, {named}/{len(r['stacks'][0])} frames named", file=sys.stderr)
PY
}

: >"$LOG"
for class in "${CLASSES[@]}"; do
    echo "loadtest-django: gunicorn, 2 $class workers, wrk 1 thread x $CONNECTIONS connections, $ROUNDS rounds of ${DURATION}s per phase" >&2
    start_server "$class"
    check_v5
    # Warm-up: every module open in both workers (the index cache on disk is shared; the
    # first run builds the libxul index once), and Python's imports done.
    run_wrk 8 POST /symbolicate/v5 "$DATA/requests.jsonl" >/dev/null
    run_wrk 2 GET /__lbheartbeat__ >/dev/null
    run_wrk 2 GET "/$SYM_PATH" >/dev/null
    for round in $(seq 1 "$ROUNDS"); do
        for phase in minimal download v5; do
            case "$phase" in
                minimal) line="$(run_wrk "$DURATION" GET /__lbheartbeat__)" ;;
                download) line="$(run_wrk "$DURATION" GET "/$SYM_PATH")" ;;
                v5) line="$(run_wrk "$DURATION" POST /symbolicate/v5 "$DATA/requests.jsonl")" ;;
            esac
            [[ -n "$line" ]] || { echo "loadtest-django: wrk gave no result for $phase" >&2; exit 1; }
            echo "$class $phase $line" >>"$RESULTS"
            echo "loadtest-django: $class round $round $phase: $(sed -n 's/.*"rps": \([0-9.]*\).*/\1/p' <<<"$line") req/s" >&2
        done
    done
    stop_server
done

"$VENV/bin/python" - "$RESULTS" "$OUT/loadtest-django.json" "$SYM_PATH" "$CONNECTIONS" "$DURATION" "$ROUNDS" <<'PY'
import json, sys

results, out, sym_path, connections, duration, rounds = sys.argv[1:7]
what = {
    "minimal": "GET /__lbheartbeat__ (minimal JSON view)",
    "download": f"GET /{sym_path} (302 to storage)",
    "v5": "POST /symbolicate/v5 (~40 frames, 5 modules incl. libxul)",
}
runs: dict[str, dict[str, list[dict]]] = {}
for line in open(results):
    cls, name, raw = line.split(" ", 2)
    runs.setdefault(cls, {}).setdefault(name, []).append(json.loads(raw))
by_class: dict[str, list[dict]] = {}
for cls, phases in runs.items():
    for name, rs in phases.items():
        r = sorted(rs, key=lambda r: r["rps"])[len(rs) // 2]  # the median round
        by_class.setdefault(cls, []).append({
            "name": name, "what": what[name], "rps": round(r["rps"], 1), "p50_ms": round(r["p50_ms"], 2),
            "p99_ms": round(r["p99_ms"], 2), "requests": r["requests"],
            "errors": sum(sum(x["errors"].values()) for x in rs),
            "rounds_rps": [round(x["rps"], 1) for x in rs],
        })
failed = False
for cls, phases in by_class.items():
    base = phases[0]["rps"]
    print(f"\ngunicorn 2 {cls} workers, {connections} connections, median of {rounds} rounds of {duration} s")
    print(f"| phase | req/s | p50 ms | p99 ms | vs minimal |")
    print(f"|---|---:|---:|---:|---:|")
    for p in phases:
        p["ratio"] = round(p["rps"] / base, 3) if base else None
        print(f"| {p['what']} | {p['rps']:,.0f} | {p['p50_ms']:.2f} | {p['p99_ms']:.2f} | {100 * p['ratio']:.0f}% |")
        if p["errors"]:
            failed = True
            print(f"loadtest-django: {cls} {p['name']}: {p['errors']} errors (non-2xx/3xx or socket)", file=sys.stderr)
# The primary class: the one whose v5 phase served the most requests.
primary = max(by_class, key=lambda c: next(p["rps"] for p in by_class[c] if p["name"] == "v5"))
v5 = next(p for p in by_class[primary] if p["name"] == "v5")
print(f"\nbest: {primary}; v5 at {100 * v5['ratio']:.0f}% of the minimal view (target >= 90%)")
json.dump({
    "server": "examples/django under gunicorn, 2 workers",
    "worker_class": primary,
    "connections": int(connections),
    "duration_s": float(duration),
    "rounds": int(rounds),
    "phases": by_class[primary],
    "alternatives": {c: {"phases": p} for c, p in by_class.items() if c != primary},
}, open(out, "w"), indent=1)
print(f"wrote {out}")
sys.exit(1 if failed else 0)
PY
