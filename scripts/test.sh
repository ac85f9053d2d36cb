#!/usr/bin/env bash
# Runs every test of the project: Rust (core, CLI, S3 against a real S3-compatible server on
# 127.0.0.1), Python and Node bindings when present. Installs what it needs (a local Python
# virtualenv, npm packages) and stops every service it started. `.ci/run` calls this script.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

# The build output's size is printed with each step: the test builds must fit a CI disk.
target_dir() { echo "${CARGO_TARGET_DIR:-$ROOT/target}"; }
step() {
  local used
  used=$(du -sh "$(target_dir)" 2>/dev/null | cut -f1) || used=0
  printf '\n==> %s   [build output %s, %s free]\n' "$*" "${used:-0}" \
    "$(df -h --output=avail "$ROOT" 2>/dev/null | tail -1 | tr -d ' ')"
}

# One clean build, no incremental state: incremental compilation only pays on a rebuild and
# would add gigabytes of build output. A caller can still turn it on.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"

cleanup() {
  if [[ -x scripts/s3-server.sh && -n "${S3_STARTED:-}" ]]; then
    scripts/s3-server.sh stop || true
  fi
}
trap cleanup EXIT

# System tools the tests use: curl (a client that is not ours, for `tecken serve`).
need_apt=()
command -v curl >/dev/null || need_apt+=(curl)
if ((${#need_apt[@]})); then
  step "installing ${need_apt[*]} (apt)"
  if [[ $(id -u) -eq 0 ]]; then SUDO=(); else SUDO=(sudo); fi
  "${SUDO[@]}" apt-get install -y "${need_apt[@]}" >/dev/null 2>&1 ||
    { "${SUDO[@]}" apt-get update >/dev/null && "${SUDO[@]}" apt-get install -y "${need_apt[@]}" >/dev/null; }
fi

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy (all targets, -D warnings)"
cargo clippy --workspace --all-targets -- -D warnings

# The configurations the README documents must build: the CLI without the AWS SDK, and the
# API docs without a broken link or a missing doc.
step "cargo build -p tecken-cli --no-default-features"
cargo build -p tecken-cli --no-default-features

step "cargo doc (no deps, warnings denied)"
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps -p tecken-core -p tecken-server -p tecken-cli --features tecken-core/s3

# A real S3-compatible server for the S3 backend's tests.
if [[ -x scripts/s3-server.sh ]]; then
  step "starting the S3 test server"
  eval "$(scripts/s3-server.sh start)"
  S3_STARTED=1
fi

step "cargo test (workspace)"
if [[ -n "${TECKEN_TEST_S3_ENDPOINT:-}" ]] && grep -q '^s3 *=' tecken-core/Cargo.toml; then
  cargo test --features tecken-core/s3
else
  cargo test
fi

# The benchmark crate's tests: the unwind evaluators against breakpad-symbols' on random
# and hostile STACK CFI / STACK WIN records (not a default member: its peers compile slowly).
step "cargo test -p tecken-benches (differential tests against the peers)"
cargo test -p tecken-benches

if [[ -f tecken-py/pyproject.toml && -x tecken-py/test.sh ]]; then
  step "Python binding"
  tecken-py/test.sh
fi

if [[ -f tecken-node/package.json && -x tecken-node/test.sh ]]; then
  step "Node binding"
  tecken-node/test.sh
fi

step "all tests passed"
