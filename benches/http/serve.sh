#!/usr/bin/env bash
# Load test of `tecken serve` on 127.0.0.1 with wrk, in one run:
#
#   lbheartbeat   GET /__lbheartbeat__ (the HTTP floor)
#   download_head HEAD of a stored libxul .sym (Tecken's cheapest cached path)
#   v5_warm       POST /symbolicate/v5 replaying requests.jsonl round-robin (2000 distinct
#                 stacks, ~40 frames over 5 of 40 modules, always libxul), all modules open
#   v5_cold       the same against a restarted server with an empty index cache: the first
#                 seconds build libxul's index (418 MB .sym) and the others
#
# For each phase: requests/s, p50/p99 latency, and the server's CPU (utime+stime from
# /proc/PID/stat, in % of one core). With bench-out/loadtest-django.json (the Django
# load test's output) it also prints the ratios. Results: bench-out/loadtest-serve.json.
#
# Usage: benches/run.sh serve     (env: DURATION=10 CONNS=64 WRK_THREADS=2 WORKERS=2
#                                 XUL_FUNCS=300000 DATA=bench-out/loadtest
#                                 RESULTS=bench-out/loadtest-serve.json)
set -euo pipefail
# shellcheck source=../lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
cd "$ROOT"

DURATION=${DURATION:-10}
CONNS=${CONNS:-64}
WRK_THREADS=${WRK_THREADS:-2}
WORKERS=${WORKERS:-2}
XUL_FUNCS=${XUL_FUNCS:-300000}
DATA=${DATA:-bench-out/loadtest}
RESULTS=${RESULTS:-bench-out/loadtest-serve.json}
WORK=$(mktemp -d /tmp/tecken-loadtest.XXXXXX)
SERVER_PID=

cleanup() {
    if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

echo "== build (release)"
bench_build -q -p tecken-cli --bin tecken
bench_build -q -p tecken-benches --bin gen-loadtest

if [ ! -s "$DATA/requests.jsonl" ] || [ ! -s "$DATA/manifest.json" ] \
    || ! grep -q "\"xul_funcs\": $XUL_FUNCS" "$DATA/manifest.json"; then
    echo "== generate data into $DATA"
    "$BIN/gen-loadtest" --out "$DATA" --xul-funcs "$XUL_FUNCS"
fi

need_wrk

XUL_ID=$(python3 -c "import json,sys; m=json.load(open(sys.argv[1])); print(m['modules'][0]['debug_id'])" "$DATA/manifest.json")
HEAD_PATH="/libxul.so/$XUL_ID/libxul.so.sym"

# wrk scripts: one prints a machine-readable summary, the others add the request shape.
cat > "$WORK/report.lua" <<'EOF'
done = function(summary, latency, requests)
  local non2xx = summary.errors.status
  io.write(string.format(
    'RESULT {"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, "errors": %d, "non2xx": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    non2xx))
end
EOF
cat > "$WORK/head.lua" <<'EOF'
wrk.method = "HEAD"
EOF
cat "$WORK/report.lua" >> "$WORK/head.lua"
cat > "$WORK/v5.lua" <<EOF
local bodies = {}
for line in io.lines("$(cd "$DATA" && pwd)/requests.jsonl") do
  bodies[#bodies + 1] = line
end
local n = 0
local headers = { ["Content-Type"] = "application/json" }
setup = function(thread)
  thread:set("offset", math.random(#bodies))
end
init = function(args)
  n = offset or 0
end
request = function()
  n = n % #bodies + 1
  return wrk.format("POST", "/symbolicate/v5", headers, bodies[n])
end
EOF
cat "$WORK/report.lua" >> "$WORK/v5.lua"

start_server() { # $1: cache dir
    rm -f "$WORK/addr"
    "$BIN/tecken" serve --symbols "$DATA/symbols" --cache "$1" \
        --bind 127.0.0.1:0 --workers "$WORKERS" >"$WORK/addr" 2>>"$WORK/server.log" &
    SERVER_PID=$!
    for _ in $(seq 100); do
        grep -q listening "$WORK/addr" 2>/dev/null && break
        sleep 0.1
    done
    ADDR=$(sed -n 's/^listening on //p' "$WORK/addr")
    [ -n "$ADDR" ] || { echo "server did not start"; cat "$WORK/server.log"; exit 1; }
}

stop_server() {
    kill -TERM "$SERVER_PID"
    wait "$SERVER_PID" || true
    SERVER_PID=
}

cpu_ticks() { # utime + stime of the server
    awk '{print $14 + $15}' "/proc/$SERVER_PID/stat"
}

: > "$WORK/phases.jsonl"
phase() { # $1 name, $2 lua script, $3 path
    local t0 t1
    t0=$(cpu_ticks)
    wrk -t"$WRK_THREADS" -c"$CONNS" -d"${DURATION}s" --timeout 60s --latency -s "$2" "$ADDR$3" > "$WORK/$1.out"
    t1=$(cpu_ticks)
    local result
    result=$(sed -n 's/^RESULT //p' "$WORK/$1.out")
    echo "{\"name\": \"$1\", \"cpu_ticks\": $((t1 - t0)), \"clk_tck\": $(getconf CLK_TCK), \"wrk\": $result}" >> "$WORK/phases.jsonl"
    echo "   $1: $(grep -E 'Requests/sec' "$WORK/$1.out")"
}

echo "== warm server"
start_server "$WORK/cache-warm"
# Warm-up: every request once (builds all 40 indexes), so the warm phase measures lookups.
curl -sf -o /dev/null "$ADDR/__lbheartbeat__"
python3 - "$ADDR" "$DATA/requests.jsonl" <<'EOF'
import sys, urllib.request
addr, path = sys.argv[1], sys.argv[2]
for line in open(path, "rb"):
    req = urllib.request.Request(addr + "/symbolicate/v5", data=line.rstrip(b"\n"),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req) as r:
        assert r.status == 200, r.status
EOF
phase lbheartbeat "$WORK/report.lua" /__lbheartbeat__
phase download_head "$WORK/head.lua" "$HEAD_PATH"
phase v5_warm "$WORK/v5.lua" /symbolicate/v5
stop_server

echo "== cold server (empty index cache)"
sync
start_server "$WORK/cache-cold"
phase v5_cold "$WORK/v5.lua" /symbolicate/v5
stop_server

python3 - "$WORK/phases.jsonl" "$RESULTS" bench-out/loadtest-django.json "$DURATION" "$CONNS" "$WRK_THREADS" "$WORKERS" <<'EOF'
import json, os, sys
phases_path, out_path, django_path, duration, conns, wrk_threads, workers = sys.argv[1:]
rows = []
for line in open(phases_path):
    p = json.loads(line)
    w = p["wrk"]
    secs = w["duration_us"] / 1e6
    rows.append({
        "name": p["name"],
        "rps": round(w["requests"] / secs, 1),
        "p50_ms": round(w["p50_us"] / 1000, 3),
        "p99_ms": round(w["p99_us"] / 1000, 3),
        "cpu_pct": round(100.0 * p["cpu_ticks"] / p["clk_tck"] / secs, 1),
        "requests": w["requests"],
        "errors": w["errors"],
        "non2xx": w["non2xx"],
    })
cpus = os.cpu_count()
print()
print(f"tecken serve load test: wrk -t{wrk_threads} -c{conns} -d{duration}s on 127.0.0.1, "
      f"server --workers {workers}, {cpus} CPUs shared by server and wrk")
print(f"{'phase':<15} {'req/s':>10} {'p50 ms':>8} {'p99 ms':>8} {'server CPU':>11} {'errors':>7}")
for r in rows:
    print(f"{r['name']:<15} {r['rps']:>10,.0f} {r['p50_ms']:>8.3f} {r['p99_ms']:>8.3f} "
          f"{r['cpu_pct']:>10.0f}% {r['errors'] + r['non2xx']:>7}")
targets = {"v5_warm": 20000, "download_head": 50000}
for name, target in targets.items():
    got = next((r["rps"] for r in rows if r["name"] == name), 0)
    print(f"target {name}: {target:,} req/s -> {'met' if got >= target else 'MISSED'} ({got:,.0f})")
json.dump({"phases": rows, "wrk": {"threads": int(wrk_threads), "connections": int(conns),
           "duration_s": int(duration)}, "workers": int(workers), "cpus": cpus},
          open(out_path, "w"), indent=1)
if os.path.exists(django_path):
    django = json.load(open(django_path))["phases"]
    ours = {r["name"]: r for r in rows}
    def match(name):
        n = name.lower()
        if "v5" in n or "symbolic" in n:
            return ours.get("v5_warm")
        if "download" in n or "head" in n or "cached" in n:
            return ours.get("download_head")
        if "minimal" in n or "heartbeat" in n or "empty" in n or "json" in n:
            return ours.get("lbheartbeat")
        return ours.get(name)
    print()
    print(f"{'vs Django':<22} {'django req/s':>12} {'serve req/s':>12} {'ratio':>7}")
    for d in django:
        o = match(d["name"])
        if o and d.get("rps"):
            print(f"{d['name'][:22]:<22} {d['rps']:>12,.0f} {o['rps']:>12,.0f} {o['rps'] / d['rps']:>6.1f}x")
print(f"\nwritten: {out_path}")
EOF
