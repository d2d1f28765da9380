#!/usr/bin/env bash
# Runs every test of the repository: formatting and lint checks, unit tests, and the
# integration tests (which start their own MariaDB primary + replicas on free ports), and
# the fuzz targets for 10 s each. Arguments: passed to `cargo test` (then no fuzzing).
# Installs what is missing first (MariaDB, PyMySQL, sysbench, Chromium, Prometheus) via
# scripts/deps.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/deps.sh --test --browser

echo "== cargo fmt --check"
cargo fmt --all -- --check

echo "== cargo clippy"
cargo clippy --workspace --all-targets --quiet -- -D warnings

echo "== cargo test"
if [ $# -gt 0 ]; then
  # A chosen subset (e.g. scripts/test.sh -p rwsplit --test integration): no fuzzing.
  exec cargo test --workspace "$@"
fi
cargo test --workspace --no-run --quiet
# The fuzz targets build meanwhile, at the lowest CPU priority (the tests mostly wait on
# their servers), in a session of their own so an early exit stops them.
mkdir -p target
rm -f target/fuzz-build.rc
setsid bash -c 'nice -n 19 bash scripts/fuzz.sh --build-only >target/fuzz-build.log 2>&1; echo $? >target/fuzz-build.rc' &
fuzz_build=$!
trap 'kill -- -$fuzz_build 2>/dev/null || true' EXIT
cargo test --workspace
# The session-state and prepared-statement groups again with session pooling (the
# default is transaction pooling; a test that names a mode keeps it).
echo "== session-state and prepared-statement tests with pool.mode = session"
RWSPLIT_POOL_MODE=session cargo test -p rwsplit --test integration -- session_state:: prepared::
wait "$fuzz_build" || true
trap - EXIT
if [ "$(cat target/fuzz-build.rc 2>/dev/null)" != 0 ]; then
  tail -40 target/fuzz-build.log
  echo "the fuzz targets did not build (target/fuzz-build.log)" >&2
  exit 1
fi

echo "== fuzz: every cargo-fuzz target for 10 s (scripts/fuzz.sh --seconds N for longer)"
bash scripts/fuzz.sh --seconds 10
