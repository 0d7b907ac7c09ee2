#!/usr/bin/env bash
# Sets up, builds the `sweep` binary and runs the main job on the example
# sweeps: validates each file in configs/ and prints a dry run of its first
# trials (the configuration and the exact command each would run).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" --target sweep
for file in configs/*.yaml; do
  echo "=== ${file}"
  ./build/cli/sweep validate "${file}" --preview 3
done
echo "=== configs/invalid/broken.yaml (every error, with line and column)"
./build/cli/sweep validate configs/invalid/broken.yaml || true
