#!/usr/bin/env bash
# The agent benchmark (BENCHMARKS.md section 5) and its peers, in one run:
# spawn latency, stop delay by report reply and by heartbeat, idle CPU and
# RSS of the real `sweep agent` against a stub controller; posix_spawn and
# Python's subprocess.Popen (W&B's agent's launcher) on the same probe.
#
#   bench/run_agent_bench.sh [--quick] [--build-dir DIR]
#
# --quick: fewer trials and 3 s idle windows (about 20 s instead of a
# minute). Builds what it needs in DIR (default: build). Not a test: CI does
# not run it. Figures (JSON) go to DIR/bench-results/agent.json.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build_dir=$root/build
args=(--spawns 200 --stops 20 --beats 10 --idle-seconds 10)
while [[ $# -gt 0 ]]; do
  case $1 in
    --quick) args=(--spawns 50 --stops 10 --beats 5 --idle-seconds 3); shift ;;
    --build-dir) build_dir=$(cd "$2" 2>/dev/null && pwd || echo "$2"); shift 2 ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    *) echo "run_agent_bench.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done

if [[ ! -f $build_dir/CMakeCache.txt ]]; then
  cmake -S "$root" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release
fi
cmake --build "$build_dir" --target sweep agent_bench agent_probe -j2
mkdir -p "$build_dir/bench-results"
echo "== $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)," \
  "commit $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)"
"$build_dir/bench/agent_bench" --sweep-binary "$build_dir/cli/sweep" \
  --probe "$build_dir/bench/agent_probe" --peer "$root/bench/agent_peer.py" \
  "${args[@]}" --json-out "$build_dir/bench-results/agent.json"
