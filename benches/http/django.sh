#!/usr/bin/env bash
# The load test of the Django example (examples/django) under gunicorn with
# 2 workers on 127.0.0.1, driven by wrk, measuring in one run:
#   minimal   GET /__lbheartbeat__, a minimal JSON view (Django alone)
#   download  GET of a stored .sym: Tecken's cached download, a 302 to the storage URL
#   v5        POST /symbolicate/v5 replaying the distinct requests of requests.jsonl
#             (~40 frames over 5 modules, one of them the ~418 MB libxul-scale module),
#             warm index cache
#   v5-bytes  the same requests to POST /bench/v5-bytes (TECKEN_BENCH_ROUTES): the body read
#             and a v5 answer of the same size written, no lookup; v5's ceiling when the
#             core costs nothing
# for 2 sync workers and 2 gthread workers (4 threads each). It prints requests/s, p50 and
# p99 latency and the ratio to the minimal view per phase and worker class, and writes
# bench-out/loadtest-django.json:
#   {"worker_class": .., "phases": [{"name", "rps", "p50_ms", "p99_ms", "ratio", ...}], ...}
# ("phases" are those of the class with the higher v5 requests/s; the other's are under
# "alternatives").
#
#   benches/run.sh django [--duration SECS] [--rounds N] [--connections N]
#
# The machine is shared (2 cores, other builds and benchmarks): both servers run at once
# (an idle one costs nothing) and each round runs every class and phase for --duration
# seconds (default 2) in turn, so slow drifts in load hit all of them alike. A phase's
# req/s and latencies are the median over --rounds (default 8) rounds; its ratio to the
# minimal view is the median of the ratios within each round.
#
# The data set comes from `gen-loadtest` (benches/) into bench-out/loadtest, made once and
# reused. Needs wrk (installed with apt-get, announced, when running as root) and the
# virtualenv (TECKEN_VENV or .venv) with Django and gunicorn. Everything it starts it stops.
set -euo pipefail
# shellcheck source=../lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
OUT="$ROOT/bench-out"
DATA="$OUT/loadtest"
DURATION=2
ROUNDS=8
CONNECTIONS=8
PORT="${TECKEN_LOADTEST_PORT:-8766}" # and PORT+1
CLASSES=(sync gthread)

usage() { sed -n '2,29p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
while [[ $# -gt 0 ]]; do
    case "$1" in
        --duration) DURATION="$2"; shift 2 ;;
        --rounds) ROUNDS="$2"; shift 2 ;;
        --connections) CONNECTIONS="$2"; shift 2 ;;
        -h|--help) usage ;;
        *) echo "django: unknown argument $1" >&2; usage ;;
    esac
done

need_wrk
need_venv

mkdir -p "$OUT"
if [[ ! -s "$DATA/requests.jsonl" ]]; then
    echo "django: generating the data set into $DATA (gen-loadtest)" >&2
    bench_build -q -p tecken-benches --bin gen-loadtest
    "$BIN/gen-loadtest" --out "$DATA"
fi
# A stored .sym for the download phase: the first small module of the store.
SYM_PATH="$(cd "$DATA/symbols/v1" && find . -name '*.sym' ! -path './libxul.so/*' | sort | head -1)"
SYM_PATH="${SYM_PATH#./}"
[[ -n "$SYM_PATH" ]] || { echo "django: no .sym under $DATA/symbols/v1" >&2; exit 1; }

LOG="$OUT/loadtest-django.server.log"
LUA="$ROOT/benches/http/django.lua"
RESULTS="$(mktemp)"
declare -A PIDS=() URLS=()

cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${PIDS[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    rm -f "$RESULTS"
}
trap cleanup EXIT

EXTRA_GUNICORN=()
# gunicorn 24+ opens a control socket in ~/.gunicorn by default; test servers need none.
if [[ -x "$VENV/bin/gunicorn" ]] && "$VENV/bin/gunicorn" --help 2>/dev/null | grep -q -- --no-control-socket; then
    EXTRA_GUNICORN=(--no-control-socket)
fi

start_server() { # worker class, port
    # The store is the generated one; downloads answer 302 to a (never contacted) storage
    # URL, as Tecken's do.
    TECKEN_STORE="$DATA/symbols" TECKEN_CACHE_DIR="$DATA/cache" \
        TECKEN_DOWNLOAD_URL="https://symbols.invalid/" TECKEN_BENCH_ROUTES=1 \
        TECKEN_BIND="127.0.0.1:$2" TECKEN_WORKERS=2 TECKEN_WORKER_CLASS="$1" TECKEN_THREADS=4 \
        TECKEN_VENV="$VENV" \
        "$ROOT/examples/django/run.sh" --timeout 300 "${EXTRA_GUNICORN[@]}" >>"$LOG" 2>&1 &
    PIDS[$1]=$!
    URLS[$1]="http://127.0.0.1:$2"
    for _ in $(seq 1 600); do # the first run may build the binding: up to 10 minutes
        if curl -fsS -o /dev/null "${URLS[$1]}/__lbheartbeat__" 2>/dev/null; then
            return 0
        fi
        kill -0 "${PIDS[$1]}" 2>/dev/null || { echo "django: the $1 server exited; see $LOG" >&2; exit 1; }
        sleep 1
    done
    echo "django: the $1 server did not answer; see $LOG" >&2
    exit 1
}

run_wrk() { # url seconds phase
    local url="$1" secs="$2" args
    case "$3" in
        minimal) args=(GET /__lbheartbeat__) ;;
        download) args=(GET "/$SYM_PATH") ;;
        v5) args=(POST /symbolicate/v5 "$DATA/requests.jsonl") ;;
        v5-bytes) args=(POST /bench/v5-bytes "$DATA/requests.jsonl") ;;
    esac
    # One wrk thread: on 2 cores every core wrk uses is taken from the server.
    wrk -t1 -c"$CONNECTIONS" -d"${secs}s" --timeout 30s -s "$LUA" "$url" -- "${args[@]}" | sed -n 's/^RESULT //p'
}

check_v5() { # url: one request, every module found, frames symbolicated
    local body
    body="$(curl -fsS -X POST -H 'Content-Type: application/json' --data-binary @"$DATA/request.json" "$1/symbolicate/v5")"
    "$VENV/bin/python" - "$body" <<'PY'
import json, sys
r = json.loads(sys.argv[1])["results"][0]
missing = [m for m, found in r["found_modules"].items() if found is not True]
named = sum("function" in f for f in r["stacks"][0])
assert not missing, f"modules not found: {missing}"
assert named > len(r["stacks"][0]) // 2, f"only {named} frames symbolicated"
print(f"django: v5 check: {len(r['found_modules'])} modules found, {named}/{len(r['stacks'][0])} frames named", file=sys.stderr)
PY
}

: >"$LOG"
port="$PORT"
for class in "${CLASSES[@]}"; do
    start_server "$class" "$port"
    port=$((port + 1))
    check_v5 "${URLS[$class]}"
    # Warm-up: every module open in both workers (the index cache on disk is shared; the
    # first run builds the libxul index once), and every code path run once.
    run_wrk "${URLS[$class]}" 8 v5 >/dev/null
    run_wrk "${URLS[$class]}" 2 minimal >/dev/null
    run_wrk "${URLS[$class]}" 2 download >/dev/null
    run_wrk "${URLS[$class]}" 2 v5-bytes >/dev/null
done
echo "django: 2 workers per class, wrk 1 thread x $CONNECTIONS connections, $ROUNDS rounds of ${DURATION}s per class and phase" >&2
for round in $(seq 1 "$ROUNDS"); do
    for class in "${CLASSES[@]}"; do
        for phase in minimal download v5 v5-bytes; do
            line="$(run_wrk "${URLS[$class]}" "$DURATION" "$phase")"
            [[ -n "$line" ]] || { echo "django: wrk gave no result for $class $phase" >&2; exit 1; }
            echo "$class $phase $round $line" >>"$RESULTS"
        done
    done
    echo "django: round $round: $(awk '$3 == '"$round"' {match($0, /"rps": [0-9.]+/); printf "%s %s %.0f  ", $1, $2, substr($0, RSTART + 7, RLENGTH - 7)}' "$RESULTS")" >&2
done

"$VENV/bin/python" - "$RESULTS" "$OUT/loadtest-django.json" "$SYM_PATH" "$CONNECTIONS" "$DURATION" "$ROUNDS" <<'PY'
import json, statistics, sys

results, out, sym_path, connections, duration, rounds = sys.argv[1:7]
what = {
    "minimal": "GET /__lbheartbeat__ (minimal JSON view)",
    "download": "GET of a stored .sym (302 to storage)",
    "v5": "POST /symbolicate/v5 (~40 frames, 5 modules incl. libxul)",
    "v5-bytes": "POST /bench/v5-bytes (v5's body and answer size, no lookup)",
}
runs: dict[str, dict[str, dict[int, dict]]] = {}
for line in open(results):
    cls, name, rnd, raw = line.split(" ", 3)
    runs.setdefault(cls, {}).setdefault(name, {})[int(rnd)] = json.loads(raw)
by_class: dict[str, list[dict]] = {}
failed = False
for cls, phases in runs.items():
    base = phases["minimal"]
    for name, rs in phases.items():
        errors = sum(sum(r["errors"].values()) for r in rs.values())
        if errors:
            failed = True
            print(f"django: {cls} {name}: {errors} errors (non-2xx/3xx or socket)", file=sys.stderr)
        by_class.setdefault(cls, []).append({
            "name": name, "what": what[name] if name != "download" else f"GET /{sym_path} (302 to storage)",
            "rps": round(statistics.median(r["rps"] for r in rs.values()), 1),
            "p50_ms": round(statistics.median(r["p50_ms"] for r in rs.values()), 2),
            "p99_ms": round(statistics.median(r["p99_ms"] for r in rs.values()), 2),
            "ratio": round(statistics.median(rs[k]["rps"] / base[k]["rps"] for k in rs), 3),
            "requests": sum(r["requests"] for r in rs.values()),
            "errors": errors,
            "rounds_rps": [round(rs[k]["rps"], 1) for k in sorted(rs)],
        })
for cls, phases in by_class.items():
    print(f"\ngunicorn, 2 {cls} workers{' x 4 threads' if cls == 'gthread' else ''}, wrk {connections} connections; "
          f"median of {rounds} interleaved rounds of {duration} s")
    print("| phase | req/s | p50 ms | p99 ms | vs minimal |")
    print("|---|---:|---:|---:|---:|")
    for p in phases:
        print(f"| {p['what'].replace(sym_path, '{module}.sym')} | {p['rps']:,.0f} | {p['p50_ms']:.2f} | {p['p99_ms']:.2f} | {100 * p['ratio']:.0f}% |")
primary = max(by_class, key=lambda c: next(p["rps"] for p in by_class[c] if p["name"] == "v5"))
v5 = next(p for p in by_class[primary] if p["name"] == "v5")
floor = next(p for p in by_class[primary] if p["name"] == "v5-bytes")
print(f"\nhigher v5 req/s: {primary}; its v5 at {100 * v5['ratio']:.0f}% of its minimal view (target >= 90%); "
      f"the same bytes without lookups at {100 * floor['ratio']:.0f}%")
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
