#!/usr/bin/env bash
# Runs every test of the repository: formatting and lint checks, unit tests, and the
# integration tests (which start their own MariaDB primary + replicas on free ports).
# Installs what is missing first (MariaDB, PyMySQL, sysbench, Chromium) via scripts/deps.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/deps.sh --test --browser

echo "== cargo fmt --check"
cargo fmt --all -- --check

echo "== cargo clippy"
cargo clippy --workspace --all-targets --quiet -- -D warnings

echo "== cargo test"
cargo test --workspace "$@"
