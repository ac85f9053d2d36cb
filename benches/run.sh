#!/usr/bin/env bash
# The one runner of tecken's benchmarks: benches/run.sh [SUITE] [OPTIONS]
#
# Suites (see benches/README.md for what each measures and how to read it):
#   engine   (default) tecken-core vs symbolic vs breakpad-symbols on the fixtures and a
#            generated libxul-scale .sym (418 MB, 3-5 min); OPTIONS go to `compare`
#            (--time-scale X, --lookups N, ...; `compare --help`). Env: FUNCS (300000),
#            SEED (1), OUT (bench-out).
#   store    uploads of a ~200 MB archive into the local store and S3 against the same work
#            done the way Tecken does it in Python; OPTIONS go to `bench-upload`
#            (--size-mb N, --threads N). Starts scripts/s3-server.sh when needed. Needs the
#            virtualenv (TECKEN_VENV or .venv) with boto3 for the S3 half.
#   serve    HTTP load test of `tecken serve` with wrk: heartbeat, download HEAD, v5 warm and
#            cold (benches/http/serve.sh; env DURATION, CONNS, WRK_THREADS, WORKERS,
#            XUL_FUNCS, DATA).
#   django   HTTP load test of the Django example under gunicorn with wrk
#            (benches/http/django.sh; OPTIONS: --duration, --rounds, --connections). Needs
#            the virtualenv with Django, gunicorn and the Python binding.
#   django-profile  where a Django v5 request's time goes: the example's WSGI handler
#            called in-process (minimal view, v5 without lookups, v5, the core alone) on the
#            load test's data set, and the HTTP ratio those costs predict
#            (benches/python/django_inprocess.py; OPTIONS: --rounds, --requests). Needs the
#            same virtualenv as django.
#   python   the Python binding's cost per call against the same call in Rust
#            (benches/python/bench_binding.py; OPTIONS: --seconds, --rounds). Needs the
#            virtualenv with tecken_core installed (maturin develop).
#   node     the Node binding's cost per call against the same call in Rust
#            (benches/node/bench.mjs; OPTIONS: [SECONDS]). Needs node and the built addon
#            (cd tecken-node && npm run build).
#   stackwalk crash processing: tecken-core's minidump-unwind provider against breakpad-
#            symbols' (what minidump-stackwalk links): walk_frame and fill_symbol per call,
#            a fresh process per bundled dump (fixtures/minidumps) and for a dump of the
#            generated libxul-scale module (FUNCS, default 300000: 418 MB with STACK CFI),
#            time and peak RSS; OPTIONS go to `bench-stackwalk` (--rounds N, --seconds S).
#   quick    a few minutes: `engine` on a smaller generated file (FUNCS, default 100000,
#            ~140 MB; --time-scale 0.5), `serve` on a data set of the same size for 5 s a
#            phase, and `prof v5` (the core's cost of a v5 request without HTTP) for 5 s.
#            Prints the ratios; results in QUICK_OUT (default OUT/quick). What
#            benches/before-after.sh runs on two revisions.
#
# Every suite builds what it runs in release mode (CARGO_TARGET_DIR is honoured), or takes
# prebuilt binaries from BENCH_BIN. Nothing is installed silently: wrk (serve, django) is
# installed with apt-get only when running as root, and the suite says so; anything else
# missing is an error naming what to set up. Outputs go under OUT (bench-out/, git-ignored).
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

usage() { sed -n '2,44p' "$0" | sed 's/^# \{0,1\}//'; }

OUT=${OUT:-bench-out}
SEED=${SEED:-1}

# The generated libxul-scale .sym of FUNCS functions, made once per FUNCS/SEED and reused.
large_sym() {
    mkdir -p "$OUT"
    LARGE="$OUT/libxul-${FUNCS}f-s${SEED}.sym"
    if [[ ! -f "$LARGE" ]]; then
        "$BIN/gen-sym" --funcs "$FUNCS" --seed "$SEED" -o "$LARGE"
    fi
}

suite_engine() {
    FUNCS=${FUNCS:-300000}
    bench_build -p tecken-benches --bin compare --bin gen-sym
    large_sym
    "$BIN/compare" \
        --out "$OUT" \
        --fixtures fixtures/tecken \
        --fixtures fixtures/generated \
        --large "$LARGE" \
        "$@" | tee "$OUT/compare.txt"
}

suite_store() {
    need_venv
    if ! scripts/s3-server.sh status; then
        trap 'scripts/s3-server.sh stop' EXIT # stop it only if this suite started it
    fi
    eval "$(scripts/s3-server.sh start)"
    bench_build -q -p tecken-benches --features s3 --bin bench-upload
    "$BIN/bench-upload" --python "$VENV/bin/python" "$@"
}

suite_python() {
    need_venv
    if ! "$VENV/bin/python" -c 'import tecken_core' 2>/dev/null; then
        echo "benches: tecken_core is not installed in $VENV (cd tecken-py && maturin develop --release)" >&2
        exit 2
    fi
    bench_build -q -p tecken-benches --bin bench-v5
    BENCH_V5="$BIN/bench-v5" exec "$VENV/bin/python" benches/python/bench_binding.py "$@"
}

suite_node() {
    command -v node >/dev/null || { echo "benches: the node suite needs node (>= 20)" >&2; exit 2; }
    if ! compgen -G 'tecken-node/*.node' >/dev/null; then
        echo "benches: the Node addon is not built (cd tecken-node && npm run build)" >&2
        exit 2
    fi
    bench_build -q -p tecken-benches --bin bench-v5
    BENCH_V5="$BIN/bench-v5" exec node benches/node/bench.mjs "$@"
}

suite_django_profile() {
    need_venv
    local data="$OUT/loadtest"
    if [[ ! -s "$data/requests.jsonl" ]]; then
        echo "django-profile: generating the data set into $data (gen-loadtest)" >&2
        bench_build -q -p tecken-benches --bin gen-loadtest
        "$BIN/gen-loadtest" --out "$data"
    fi
    "$VENV/bin/python" benches/python/django_inprocess.py --data "$data" \
        --json "$OUT/django-profile.json" "$@" | tee "$OUT/django-profile.txt"
}

suite_stackwalk() {
    FUNCS=${FUNCS:-300000}
    bench_build -q -p tecken-benches --bin bench-stackwalk --bin gen-sym
    large_sym
    "$BIN/bench-stackwalk" --fixtures fixtures/minidumps --large "$LARGE" "$@" \
        | tee "$OUT/stackwalk.txt"
}

suite_quick() {
    FUNCS=${FUNCS:-100000}
    QUICK_OUT=${QUICK_OUT:-$OUT/quick}
    mkdir -p "$QUICK_OUT"
    bench_build -q -p tecken-benches --bin compare --bin gen-sym --bin gen-loadtest --bin prof
    bench_build -q -p tecken-cli --bin tecken
    echo "== quick: engine ($FUNCS functions; load average $(cut -d' ' -f1-3 /proc/loadavg))"
    large_sym
    "$BIN/compare" --out "$QUICK_OUT" --json "$QUICK_OUT/compare.json" --large "$LARGE" \
        --time-scale 0.5 "$@" | tee "$QUICK_OUT/compare.txt"

    local data="$OUT/loadtest-${FUNCS}f"
    echo "== quick: serve (load average $(cut -d' ' -f1-3 /proc/loadavg))"
    BENCH_BIN="$BIN" DATA="$data" XUL_FUNCS="$FUNCS" DURATION=${DURATION:-5} \
        RESULTS="$QUICK_OUT/serve.json" benches/http/serve.sh | tee "$QUICK_OUT/serve.txt"

    echo "== quick: prof v5, 5 s (load average $(cut -d' ' -f1-3 /proc/loadavg))"
    rm -rf "$QUICK_OUT/v5-cache"
    # The plain tree under v1/: read the same way by every revision of `prof v5`.
    "$BIN/prof" v5 "$data/symbols/v1" "$QUICK_OUT/v5-cache" "$data/requests.jsonl" 5 2>&1 \
        | tee "$QUICK_OUT/prof-v5.txt"
    rm -rf "$QUICK_OUT/v5-cache"
}

SUITE=engine
if [[ $# -gt 0 && "$1" != -* ]]; then
    SUITE="$1"
    shift
elif [[ "${1:-}" == -h || "${1:-}" == --help ]]; then
    usage
    exit 0
fi

case "$SUITE" in
    engine) suite_engine "$@" ;;
    store) suite_store "$@" ;;
    serve) exec benches/http/serve.sh "$@" ;;
    django) exec benches/http/django.sh "$@" ;;
    django-profile) suite_django_profile "$@" ;;
    python) suite_python "$@" ;;
    node) suite_node "$@" ;;
    stackwalk) suite_stackwalk "$@" ;;
    quick) suite_quick "$@" ;;
    help) usage ;;
    *)
        echo "benches/run.sh: unknown suite '$SUITE'" >&2
        usage >&2
        exit 2
        ;;
esac
