#!/usr/bin/env bash
# The cargo-fuzz targets (fuzz/fuzz_targets: framer, handshake, command, relay, classifier):
# builds them (libFuzzer, AddressSanitizer with leak detection) and runs each for a bounded
# time from its checked-in seeds (fuzz/seeds/TARGET), printing the executions reached. A
# panic, a sanitizer report or a leak fails the run; the input that caused it is saved
# under fuzz/artifacts/TARGET/ (replay: cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run TARGET FILE).
#
#   scripts/fuzz.sh [--seconds N] [--build-only] [TARGET...]
#
#   --seconds N    time per target (default 10; for a long hunt: --seconds 3600)
#   --build-only   build the targets and stop (CI builds them while the tests run)
#
# Stable Rust: cargo-fuzz passes flags the stable compiler accepts only with
# RUSTC_BOOTSTRAP=1 (-Zsanitizer, the coverage passes). cargo-fuzz is installed from
# crates.io when missing. New inputs go to a scratch corpus that is deleted afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."

SECS=10 BUILD_ONLY=0 TARGETS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) SECS=$2; shift 2 ;;
    --build-only) BUILD_ONLY=1; shift ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    -*) echo "usage: $0 [--seconds N] [--build-only] [TARGET...]" >&2; exit 2 ;;
    *) TARGETS+=("$1"); shift ;;
  esac
done

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "fuzz: installing cargo-fuzz (crates.io)"
  cargo install cargo-fuzz --locked --quiet
fi
export RUSTC_BOOTSTRAP=1
cd fuzz
cargo fuzz build
[ "$BUILD_ONLY" = 1 ] && exit 0

[ ${#TARGETS[@]} -gt 0 ] || mapfile -t TARGETS < <(cargo fuzz list)
mkdir -p target
for t in "${TARGETS[@]}"; do
  scratch=$(mktemp -d "/tmp/rwsplit-fuzz-$t.XXXXXX")
  log="target/fuzz-$t.log"
  if ! cargo fuzz run "$t" "$scratch" "seeds/$t" -- \
      -max_total_time="$SECS" -rss_limit_mb=2048 -detect_leaks=1 >"$log" 2>&1; then
    tail -40 "$log"
    rm -rf "$scratch"
    echo "fuzz: $t FAILED (log: fuzz/$log; input saved under fuzz/artifacts/$t/)" >&2
    exit 1
  fi
  runs=$(grep -Eo 'Done [0-9]+ runs' "$log" | awk '{print $2}' | tail -1)
  cov=$(grep -Eo 'cov: [0-9]+' "$log" | tail -1 | awk '{print $2}')
  echo "fuzz: $t: ${runs:-?} executions in ${SECS} s, coverage ${cov:-?} edges; no crash, no leak"
  rm -rf "$scratch"
done
