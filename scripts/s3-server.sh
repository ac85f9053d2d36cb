#!/usr/bin/env bash
# Start or stop a real S3-compatible server (moto's server) on 127.0.0.1 for tests and
# benchmarks. Installs it into `.venv` at the repository root (git-ignored) on first
# use (needs only PyPI).
#
#   scripts/s3-server.sh start [--port N]   start (if not running), wait until it answers,
#                                           print `export TECKEN_TEST_S3_ENDPOINT=...`
#   scripts/s3-server.sh stop  [--port N]   stop it (SIGTERM, then SIGKILL)
#   scripts/s3-server.sh kill  [--port N]   SIGKILL it at once (fault-injection tests)
#   scripts/s3-server.sh status [--port N]  exit 0 when it answers
#   scripts/s3-server.sh install            only install
#
# Default port 9787 (or $TECKEN_S3_PORT). State (pid, log) lives in $TECKEN_S3_STATE_DIR,
# default <repo>/target/s3-server. moto keeps objects in memory: a restarted server is empty.
#
# Typical use:  eval "$(scripts/s3-server.sh start)" && cargo test -p tecken-core --features s3
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${TECKEN_S3_VENV:-$ROOT/.venv}"
STATE="${TECKEN_S3_STATE_DIR:-$ROOT/target/s3-server}"
PORT="${TECKEN_S3_PORT:-9787}"
MOTO_SPEC='moto[server]>=5.0,<6'

cmd="${1:-}"
shift || true
while [ $# -gt 0 ]; do
    case "$1" in
        --port) PORT="$2"; shift 2 ;;
        *) echo "unknown argument: $1" >&2; exit 2 ;;
    esac
done
PIDFILE="$STATE/moto-$PORT.pid"
LOG="$STATE/moto-$PORT.log"
URL="http://127.0.0.1:$PORT"

install() {
    if [ -x "$VENV/bin/moto_server" ]; then
        return 0
    fi
    local py
    py="$(command -v python3 || true)"
    if [ -z "$py" ]; then
        echo "python3 is required (apt-get install -y python3 python3-venv)" >&2
        exit 1
    fi
    if ! "$py" -m venv "$VENV" >/dev/null 2>&1; then
        echo "python3 -m venv failed; trying to install python3-venv" >&2
        if command -v apt-get >/dev/null; then
            apt-get install -y python3-venv >/dev/null || { apt-get update >/dev/null && apt-get install -y python3-venv >/dev/null; }
        fi
        "$py" -m venv "$VENV"
    fi
    "$VENV/bin/pip" install --quiet --disable-pip-version-check "$MOTO_SPEC" >&2
}

answers() {
    "$VENV/bin/python" - "$URL" <<'EOF' >/dev/null 2>&1
import sys, urllib.request
try:
    urllib.request.urlopen(sys.argv[1] + "/moto-api/", timeout=2).read()
except Exception:
    sys.exit(1)
EOF
}

running_pid() {
    if [ -f "$PIDFILE" ]; then
        local pid
        pid="$(cat "$PIDFILE")"
        if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
            echo "$pid"
            return 0
        fi
    fi
    return 1
}

start() {
    install
    mkdir -p "$STATE"
    if ! running_pid >/dev/null; then
        # setsid: the server outlives the shell that started it, and is not killed by a
        # test harness's process-group signals.
        setsid "$VENV/bin/moto_server" -H 127.0.0.1 -p "$PORT" >"$LOG" 2>&1 < /dev/null &
        echo $! >"$PIDFILE"
    fi
    for _ in $(seq 1 150); do
        if answers; then
            echo "export TECKEN_TEST_S3_ENDPOINT=$URL"
            return 0
        fi
        if ! running_pid >/dev/null; then
            echo "moto server exited; log:" >&2
            cat "$LOG" >&2 || true
            exit 1
        fi
        sleep 0.2
    done
    echo "moto server did not answer on $URL within 30 s; log:" >&2
    cat "$LOG" >&2 || true
    exit 1
}

stop() {
    local pid
    if pid="$(running_pid)"; then
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 1 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$PIDFILE"
}

case "$cmd" in
    install) install ;;
    start) start ;;
    stop) stop ;;
    kill)
        if pid="$(running_pid)"; then kill -9 "$pid" 2>/dev/null || true; fi
        # Wait until the port is closed.
        for _ in $(seq 1 50); do answers || break; sleep 0.1; done
        rm -f "$PIDFILE"
        ;;
    status) answers ;;
    *) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
