# Shell helpers shared by the benchmark suites (sourced, not run). Sets ROOT (the repository)
# and BIN (the directory of the release binaries), and defines:
#
#   bench_build CARGO_ARGS...   cargo build --release CARGO_ARGS, unless BENCH_BIN names a
#                               directory of prebuilt binaries (benches/before-after.sh runs
#                               the suites on another revision's binaries that way)
#   need_wrk                    wrk on PATH, or installed with apt-get (announced) when this
#                               runs as root on a machine with apt-get; otherwise an error
#                               that says what to install
#   need_venv                   VENV: $TECKEN_VENV or ROOT/.venv, with bin/python, or an error
#
# Prerequisites are never installed behind the caller's back: wrk is the only thing a suite
# installs, and it says so first.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [[ -n "${BENCH_BIN:-}" ]]; then
    BIN="$(cd "$BENCH_BIN" && pwd)"
else
    BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release"
fi

bench_build() {
    if [[ -n "${BENCH_BIN:-}" ]]; then
        return 0
    fi
    (cd "$ROOT" && cargo build --release "$@")
}

need_wrk() {
    command -v wrk >/dev/null && return 0
    if [[ "$(id -u)" = 0 ]] && command -v apt-get >/dev/null; then
        echo "benches: wrk is missing; installing it with apt-get (package wrk)" >&2
        apt-get install -y wrk >/dev/null 2>&1 \
            || { apt-get update >/dev/null && apt-get install -y wrk >/dev/null; }
        return 0
    fi
    echo "benches: this suite needs wrk (https://github.com/wg/wrk; Debian/Ubuntu: apt-get install wrk)" >&2
    exit 2
}

need_venv() {
    VENV="${TECKEN_VENV:-$ROOT/.venv}"
    if [[ ! -x "$VENV/bin/python" ]]; then
        echo "benches: no virtualenv at $VENV (set TECKEN_VENV, or make one: see tecken-py/README.md)" >&2
        exit 2
    fi
}
