#!/usr/bin/env bash
# The controller load benchmark (BENCHMARKS.md section 1) and its peers, in
# one run: controller_load_bench at N = 16, 256 and 1000 agents calling back
# to back (each against a fresh `sweep server`, followed by the empty-call
# floor at the same concurrency), then 1000 paced agents (one call a second
# each: the latency a realistic load sees), then the Optuna peer, then one
# summary table.
#
#   bench/run_controller_bench.sh [--quick] [--build-dir DIR] [--sync full|normal]
#
# --quick: 3 s per run instead of 10, and 15 s instead of 60 for the long
# sweep that shows memory staying flat (about 1.5 min in all instead of 4).
# Builds `sweep` and `controller_load_bench` in DIR (default: build;
# configured as Release when DIR does not exist yet). Not a test: CI does not
# run it. Figures (JSON) are kept in DIR/bench-results/.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build_dir=$root/build
quick=()
peer_quick=()
sync=full
long_seconds=60
while [[ $# -gt 0 ]]; do
  case $1 in
    --quick) quick=(--quick); peer_quick=(--quick); long_seconds=15; shift ;;
    --build-dir) build_dir=$(cd "$2" 2>/dev/null && pwd || echo "$2"); shift 2 ;;
    --sync) sync=$2; shift 2 ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "run_controller_bench.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done

if [[ ! -f $build_dir/CMakeCache.txt ]]; then
  cmake -S "$root" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release
fi
cmake --build "$build_dir" --target sweep controller_load_bench -j2
build_type=$(sed -n 's/^CMAKE_BUILD_TYPE:STRING=//p' "$build_dir/CMakeCache.txt")

results=$build_dir/bench-results
mkdir -p "$results"
rm -f "$results/controller.json" "$results/paced.json" "$results/optuna.json" \
  "$results/long.json"
echo "== controller_load_bench ($build_type build, $(nproc) cores," \
  "$(date -u +%Y-%m-%dT%H:%MZ), load average $(cut -d" " -f1-3 /proc/loadavg))"
"$build_dir/bench/controller_load_bench" "${quick[@]}" --sync "$sync" \
  --sweep-binary "$build_dir/cli/sweep" --agents 16,256,1000 \
  --json-out "$results/controller.json"
echo
echo "== controller_load_bench, paced agents"
"$build_dir/bench/controller_load_bench" "${quick[@]}" --sync "$sync" \
  --sweep-binary "$build_dir/cli/sweep" --agents 1000 --think-ms 1000 \
  --json-out "$results/paced.json"
echo
echo "== controller_load_bench, a long sweep (memory over about 100,000 trials)"
"$build_dir/bench/controller_load_bench" --seconds "$long_seconds" --no-floor \
  --sync "$sync" --sweep-binary "$build_dir/cli/sweep" --agents 256 \
  --json-out "$results/long.json"

# Debian's python3-optuna lives under /usr/bin/python3, which may not be the
# python3 first on PATH (pyenv).
python=
for candidate in /usr/bin/python3 python3; do
  if "$candidate" -c 'import optuna' 2>/dev/null; then
    python=$candidate
    break
  fi
done
echo
if [[ -n $python ]]; then
  echo "== Optuna peer"
  "$python" "$root/bench/optuna_peer.py" "${peer_quick[@]}" \
    --json-out "$results/optuna.json"
else
  echo "== Optuna peer skipped: no python3 with optuna" \
    "(apt-get install python3-optuna)"
fi

echo
echo "== Summary"
summarizer_python=${python:-python3}
"$summarizer_python" "$root/bench/summarize_controller_bench.py" \
  "$results/controller.json" "$results/optuna.json" "$results/paced.json" \
  "$results/long.json"
