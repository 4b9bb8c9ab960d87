#!/usr/bin/env bash
# Runs the coverage-guided fuzz targets in fuzz/ (libFuzzer through cargo-fuzz, pinned below,
# on the nightly toolchain it needs) for a bounded time each; a crash fails the run and
# leaves the input that made it under fuzz/artifacts/<target>/.
# Usage: tests/fuzz/run.sh [seconds per target]   (default: 60)
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
secs="${1:-60}"
tools="$root/target/tools"
if ! rustup toolchain list | grep -q '^nightly'; then
  rustup toolchain install nightly --profile minimal
fi
if [ ! -x "$tools/bin/cargo-fuzz" ]; then
  cargo install cargo-fuzz --version 0.13.2 --locked --root "$tools"
fi
export PATH="$tools/bin:$PATH" CARGO_TARGET_DIR="$root/target/fuzz"
cd "$root/fuzz"
for target in scim_parsers; do
  corpus="$root/target/fuzz/corpus/$target"
  mkdir -p "$corpus"
  # The first corpus directory is the one libFuzzer adds to; the seeds are only read.
  cargo +nightly fuzz run "$target" "$corpus" "seeds/$target" -- \
    -max_total_time="$secs" -dict=scim.dict -max_len=4096 -print_final_stats=1
done
