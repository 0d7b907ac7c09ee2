#!/usr/bin/env bash
# The Bayesian search benchmarks (BENCHMARKS.md sections 2 and 3) and their
# peers, in one run: suggestion latency (bayes_latency_bench, Optuna TPE on
# the same histories), then search quality (search_quality_bench for bayes
# and random search, search_quality_peer.py for Optuna TPE), then the tables.
#
#   bench/run_search_bench.sh [--quick] [--build-dir DIR] [--jobs N]
#
# --quick: 5 seeds instead of 20, and latency at n = 100 and 500 only (a few
# minutes instead of about half an hour on 2 cores). Builds the benchmarks in
# DIR (default: build; configured as Release when DIR does not exist yet).
# --jobs: runs of our searchers in parallel (default 1, so that the wall-clock
# figures are not shared). Not a test: CI does not run it. Figures (JSON
# lines) are kept in DIR/bench-results/.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build_dir=$root/build
seeds=20
sizes=(100 500 2000)
jobs=1
while [[ $# -gt 0 ]]; do
  case $1 in
    --quick) seeds=5; sizes=(100 500); shift ;;
    --build-dir) build_dir=$(cd "$2" 2>/dev/null && pwd || echo "$2"); shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "run_search_bench.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done

if [[ ! -f $build_dir/CMakeCache.txt ]]; then
  cmake -S "$root" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release
fi
cmake --build "$build_dir" --target bayes_latency_bench search_quality_bench -j2
build_type=$(sed -n 's/^CMAKE_BUILD_TYPE:STRING=//p' "$build_dir/CMakeCache.txt")
python=/usr/bin/python3

results=$build_dir/bench-results
mkdir -p "$results"
rm -f "$results"/search_*.jsonl "$results"/latency_*.json*
echo "== search benchmarks ($build_type build, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)," \
  "$(date -u +%Y-%m-%dT%H:%MZ))"

echo "-- latency: bayes_latency_bench --n ${sizes[*]}"
"$build_dir/bench/bayes_latency_bench" --n "${sizes[@]}" \
  --dump-history "$results/latency_history_" > "$results/latency_bayes.jsonl"
for n in "${sizes[@]}"; do
  "$python" "$root/bench/search_quality_peer.py" \
    --latency "$results/latency_history_$n.json" >> "$results/latency_tpe.jsonl"
done

echo "-- quality: search_quality_bench --seeds $seeds (bayes, random)"
"$build_dir/bench/search_quality_bench" --seeds "$seeds" --jobs "$jobs" \
  > "$results/search_ours.jsonl"
echo "-- quality: search_quality_peer.py --seeds $seeds (Optuna TPE)"
"$python" "$root/bench/search_quality_peer.py" --seeds "$seeds" \
  > "$results/search_tpe.jsonl"

"$python" "$root/bench/summarize_search_bench.py" \
  --latency "$results/latency_bayes.jsonl" "$results/latency_tpe.jsonl" \
  --quality "$results/search_ours.jsonl" "$results/search_tpe.jsonl"
