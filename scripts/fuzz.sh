#!/usr/bin/env bash
# Runs every cargo-fuzz target for FUZZ_SECONDS each (default 20), starting from
# the seeds in fuzz/seeds/. Installs cargo-fuzz on first use. The toolchain here
# is stable, so RUSTC_BOOTSTRAP lets cargo-fuzz pass libFuzzer's -Z flags; the
# targets are safe Rust, so no sanitizer is needed to catch what they look for
# (panics, overflows, hangs).
set -euo pipefail
cd "$(dirname "$0")/.."
FUZZ_SECONDS=${FUZZ_SECONDS:-20}
command -v cargo-fuzz >/dev/null 2>&1 || cargo install cargo-fuzz --locked --quiet
export RUSTC_BOOTSTRAP=1
for target in $(cargo fuzz list); do
  corpus=fuzz/corpus/$target
  mkdir -p "$corpus"
  echo "fuzzing $target for ${FUZZ_SECONDS}s"
  cargo fuzz run --sanitizer none "$target" "$corpus" "fuzz/seeds/$target" -- \
    -max_total_time="$FUZZ_SECONDS" -timeout=5 -print_final_stats=0 2>&1 | tail -n 2
done
