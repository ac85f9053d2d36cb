#!/usr/bin/env bash
# Runs the example under gunicorn: creates or reuses the repository's virtualenv (.venv,
# as tecken-py/test.sh does), installs Django, gunicorn and the tecken_core binding (built
# from ../../tecken-py when it is missing or older than the crate), then starts gunicorn.
#
#   examples/django/run.sh                      # 127.0.0.1:8000, 2 workers
#   TECKEN_BIND=127.0.0.1:9000 TECKEN_UPLOAD_TOKEN=t examples/django/run.sh --access-logfile -
#
# Settings come from TECKEN_* variables (tecken/settings.py); extra arguments go to
# gunicorn. TECKEN_BIND (127.0.0.1:8000), TECKEN_WORKERS (2), TECKEN_WORKER_CLASS (sync) and TECKEN_THREADS (for
# gthread) set the worker model; `benches/run.sh django` measures both.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
VENV="${TECKEN_VENV:-$ROOT/.venv}"

if [[ ! -x "$VENV/bin/python" ]]; then
    python3 -m venv "$VENV"
fi
PY="$VENV/bin/python"
export PATH="$VENV/bin:$PATH"
PIP=("$PY" -m pip install --quiet --disable-pip-version-check)
"$PY" -c "import django, gunicorn" 2>/dev/null || "${PIP[@]}" -r "$HERE/requirements.txt"
want="$(sed -n 's/^version *= *"\(.*\)"/\1/p' "$ROOT/Cargo.toml" | head -1)"
have="$("$PY" -c "import tecken_core; print(tecken_core.__version__)" 2>/dev/null || true)"
if [[ "$have" != "$want" || "${TECKEN_REBUILD:-0}" == 1 ]]; then
    echo "run.sh: building tecken_core $want from tecken-py (a few minutes the first time)" >&2
    "${PIP[@]}" "maturin>=1.9,<2"
    "${PIP[@]}" --force-reinstall --no-deps --no-build-isolation "$ROOT/tecken-py"
fi

# gunicorn runs in this directory: make relative directories in the settings absolute
# against the caller's, as the caller meant them.
absolute() { # comma-separated specs
    local out=() spec
    IFS=, read -ra specs <<<"$1"
    for spec in "${specs[@]}"; do
        [[ "$spec" == /* || "$spec" == *://* || -z "$spec" ]] || spec="$PWD/$spec"
        out+=("$spec")
    done
    (IFS=,; echo "${out[*]}")
}
for var in TECKEN_STORE TECKEN_SYMBOLS TECKEN_CACHE_DIR; do
    if [[ -n "${!var:-}" ]]; then
        export "$var=$(absolute "${!var}")"
    fi
done

worker_args=(--workers "${TECKEN_WORKERS:-2}" --worker-class "${TECKEN_WORKER_CLASS:-sync}")
if [[ "${TECKEN_WORKER_CLASS:-sync}" == gthread ]]; then
    worker_args+=(--threads "${TECKEN_THREADS:-4}")
fi
exec "$VENV/bin/gunicorn" --chdir "$HERE" "${worker_args[@]}" \
    --bind "${TECKEN_BIND:-127.0.0.1:8000}" "$@" tecken.wsgi:application
