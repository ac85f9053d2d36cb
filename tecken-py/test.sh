#!/usr/bin/env bash
# Builds the Python binding into the repository's virtualenv (.venv, git-ignored; created
# on first use, reused after) and runs its tests with pytest (including mypy's stubtest of
# the type stubs against the module), then the Django example's tests (examples/django).
# scripts/test.sh calls this with TECKEN_TEST_S3_ENDPOINT set when its S3 test server runs;
# without it the S3 tests are skipped.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
VENV="${TECKEN_VENV:-$ROOT/.venv}"

if [[ ! -x "$VENV/bin/python" ]]; then
    python3 -m venv "$VENV"
fi
PY="$VENV/bin/python"
# maturin (the build backend, installed below) is found on PATH.
export PATH="$VENV/bin:$PATH"
"$PY" -m pip install --quiet --disable-pip-version-check "maturin>=1.9,<2" "pytest>=8" "mypy>=1.10"
# Build the wheel with the project's own target dir (incremental across runs) and install it.
"$PY" -m pip install --quiet --disable-pip-version-check --force-reinstall --no-deps --no-build-isolation "$HERE"

cd "$HERE"
"$PY" -m pytest -q tests "$@"

# The Django example (examples/django) against the binding just built, with Django's test
# client: no server, no network beyond PyPI for the install.
"$PY" -m pip install --quiet --disable-pip-version-check -r "$ROOT/examples/django/requirements.txt"
cd "$ROOT/examples/django"
exec "$PY" -m pytest -q tests
