#!/usr/bin/env bash
# Sets up (Debian packages), builds the `sweep` binary and runs a real sweep
# end to end on the embedded defaults: `sweep run` starts a controller with
# its SQLite store (under ~/.local/share/sweep unless SWEEP_DATA_DIR says
# otherwise), three local agents running configs/train_quadratic.py, a live
# progress line, and prints the best trial and its command at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" --target sweep
exec ./build/cli/sweep run configs/quickstart.yaml --agents 3 "$@"
