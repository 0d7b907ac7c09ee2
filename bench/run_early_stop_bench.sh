#!/usr/bin/env bash
# The early-termination benchmark (BENCHMARKS.md section 4) and its Optuna
# peer, in one run: generates the learning curves when missing
# (bench/learning_curves.py: three synthetic families and sklearn's digits
# MLP), builds and runs early_stop_bench (our Hyperband, ASHA and median
# rules), replays the same curves through Optuna's pruners
# (bench/early_stop_peer.py), then prints one table
# (bench/early_stop_summary.py).
#
#   bench/run_early_stop_bench.sh [--quick] [--build-dir DIR] [--jobs N]
#                                 [--workers W]
#
# --quick: a small pool (120 configs, random search of 16 trials, 5 orderings;
# its own curve files) for a smoke run. --workers: trials running at a time
# (default: the curve files' 8). --jobs: processes for the Python side.
# Curves are computed once and kept in DIR/early-stop/curves[-quick]/
# (training the 500 digits models takes about 10 min of CPU); delete them to
# recompute. Builds early_stop_bench in DIR (default: build; configured as
# Release when DIR does not exist yet). Needs Debian's python3-numpy,
# python3-sklearn and python3-optuna under /usr/bin/python3. Not a test: CI
# does not run it.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build_dir=$root/build
quick=0
jobs=2
workers=0
while [[ $# -gt 0 ]]; do
  case $1 in
    --quick) quick=1; shift ;;
    --build-dir)
      build_dir=$(cd "$2" 2>/dev/null && pwd || echo "$2")
      shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    --workers) workers=$2; shift 2 ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "run_early_stop_bench.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done

# Debian's packages live under /usr/bin/python3, which may not be the python3
# first on PATH (pyenv).
python=
for candidate in /usr/bin/python3 python3; do
  if "$candidate" -c 'import numpy, sklearn' 2>/dev/null; then
    python=$candidate
    break
  fi
done
if [[ -z $python ]]; then
  echo "run_early_stop_bench.sh: no python3 with numpy and sklearn" \
    "(apt-get install python3-numpy python3-sklearn python3-optuna)" >&2
  exit 1
fi

workloads=(speed crossing overfit digits)
suffix=
generate=()
if (( quick )); then
  suffix=-quick
  generate=(--configs 120 --random-search-trials 16 --orderings 5)
fi
curves_dir=$build_dir/early-stop/curves$suffix
results=$build_dir/early-stop/results$suffix
if (( workers )); then results=$results-w$workers; fi
mkdir -p "$curves_dir" "$results"
missing=()
for w in "${workloads[@]}"; do
  [[ -f $curves_dir/$w.json ]] || missing+=("$w")
done
if (( ${#missing[@]} )); then
  echo "== generating curves: ${missing[*]}"
  "$python" "$root/bench/learning_curves.py" --out-dir "$curves_dir" \
    --workloads "$(IFS=,; echo "${missing[*]}")" --jobs "$jobs" \
    "${generate[@]}"
fi
files=()
for w in "${workloads[@]}"; do files+=("$curves_dir/$w.json"); done

if [[ ! -f $build_dir/CMakeCache.txt ]]; then
  cmake -S "$root" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release
fi
cmake --build "$build_dir" --target early_stop_bench -j2

rm -f "$results/ours.json" "$results/optuna.json"
echo "== early_stop_bench ($(date -u +%Y-%m-%dT%H:%MZ))"
"$build_dir/bench/early_stop_bench" --workers "$workers" \
  --json-out "$results/ours.json" "${files[@]}"

peer=()
echo
if "$python" -c 'import optuna' 2>/dev/null; then
  echo "== Optuna peer"
  "$python" "$root/bench/early_stop_peer.py" --jobs "$jobs" \
    --workers "$workers" --json-out "$results/optuna.json" "${files[@]}"
  peer=(--peer "$results/optuna.json")
else
  echo "== Optuna peer skipped: no python3 with optuna" \
    "(apt-get install python3-optuna)"
fi

echo
echo "== Summary (medians over the orderings; JSON in $results)"
"$python" "$root/bench/early_stop_summary.py" --ours "$results/ours.json" \
  "${peer[@]}" "${files[@]}"
