#!/usr/bin/env bash
# Builds the libFuzzer targets with clang in build-fuzz/ and runs each for a
# bounded time (fuzz/README.md). Exits non-zero when a fuzzer finds a crash,
# a hang, a leak or a memory blow-up, printing the reproducer's path.
#
# Usage: fuzz/run_fuzzers.sh [fuzzer...]   (default: every fuzzer)
# Environment:
#   FUZZ_SECONDS  seconds per fuzzer (default 60)
#   FUZZ_JOBS     build parallelism (default: min(nproc, 2))
#   BUILD_DIR     build directory (default build-fuzz)
set -euo pipefail
cd "$(dirname "$0")/.."

FUZZ_SECONDS="${FUZZ_SECONDS:-60}"
BUILD_DIR="${BUILD_DIR:-build-fuzz}"
FUZZ_JOBS="${FUZZ_JOBS:-$(($(nproc) < 2 ? $(nproc) : 2))}"
FUZZERS=("$@")
if [ "${#FUZZERS[@]}" -eq 0 ]; then
  FUZZERS=(spec_parser_fuzzer metrics_line_fuzzer)
fi

build_start=$SECONDS
CC=clang CXX=clang++ cmake -S . -B "$BUILD_DIR" -G Ninja \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSWEEP_FUZZ=ON >/dev/null
cmake --build "$BUILD_DIR" -j"$FUZZ_JOBS" --target "${FUZZERS[@]}"
echo "run_fuzzers: built in $((SECONDS - build_start)) s"

# The seeds of each fuzzer: committed files, copied so that libFuzzer, which
# writes what it learns into its first corpus directory, never touches them.
seed_corpus() {
  local fuzzer=$1 seeds=$2
  mkdir -p "$seeds"
  case "$fuzzer" in
    spec_parser_fuzzer) cp configs/*.yaml configs/invalid/*.yaml "$seeds"/ ;;
    metrics_line_fuzzer) cp fuzz/corpus/metrics/* "$seeds"/ ;;
  esac
}

failed=()
for fuzzer in "${FUZZERS[@]}"; do
  work="$BUILD_DIR/fuzz/work/$fuzzer"
  corpus="$work/corpus"        # Kept between local runs; grows as it learns.
  seeds="$work/seeds"
  artifacts="$work/artifacts/"
  rm -rf "$seeds" "$artifacts"
  mkdir -p "$corpus" "$artifacts"
  seed_corpus "$fuzzer" "$seeds"
  dict="fuzz/${fuzzer%_fuzzer}.dict"

  echo "run_fuzzers: $fuzzer for ${FUZZ_SECONDS} s"
  status=0
  UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" \
  ASAN_OPTIONS="detect_leaks=1:abort_on_error=0" \
    "$BUILD_DIR/fuzz/$fuzzer" "$corpus" "$seeds" \
      -dict="$dict" -max_total_time="$FUZZ_SECONDS" -max_len=65536 \
      -timeout=10 -rss_limit_mb=2048 -artifact_prefix="$artifacts" \
      -print_final_stats=1 >"$work/log" 2>&1 || status=$?
  grep -E '^(#[0-9]+[[:space:]]+DONE|stat::number_of_executed_units|stat::peak_rss_mb)' \
    "$work/log" || true
  if [ "$status" -ne 0 ]; then
    failed+=("$fuzzer")
    echo "run_fuzzers: $fuzzer FAILED (exit $status); its log ($work/log):"
    grep -v -E '^#[0-9]+[[:space:]]+(NEW|REDUCE|pulse|RELOAD|INITED|READ)' "$work/log" | tail -n 80
    for reproducer in "$artifacts"*; do
      [ -e "$reproducer" ] || continue
      echo "run_fuzzers: reproducer: $reproducer"
      echo "run_fuzzers: replay with: $BUILD_DIR/fuzz/$fuzzer $reproducer"
      if [ "$(stat -c %s "$reproducer")" -le 4096 ]; then
        echo "run_fuzzers: its bytes, base64 (CI may not keep the file):"
        base64 "$reproducer"
      fi
    done
  fi
done

if [ "${#failed[@]}" -ne 0 ]; then
  echo "run_fuzzers: FAILED: ${failed[*]}"
  exit 1
fi
echo "run_fuzzers: no crash in ${#FUZZERS[@]} fuzzer(s), ${FUZZ_SECONDS} s each"
