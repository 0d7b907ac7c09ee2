#!/usr/bin/env bash
# Installs the build and test dependencies of Sweep from Debian's packages.
# Idempotent: packages already present are left alone; safe to run again.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build pkg-config git
  libgrpc++-dev libgrpc-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler libssl-dev
  libabsl-dev libeigen3-dev libyaml-cpp-dev libgtest-dev libgmock-dev
  libsqlite3-dev sqlite3 libnlopt-cxx-dev libnlopt-dev nlohmann-json3-dev libcli11-dev libboost-dev
  python3 python3-numpy python3-yaml  # python3-yaml: the W&B shim's YAML config tests.
  iproute2  # tests/partition_e2e_test: network namespaces (where run as root).
  openssl  # tests/controller_e2e_test: a certificate for the TLS controller.
  clang libclang-rt-14-dev  # fuzz/: clang with the libFuzzer and sanitizer runtimes.
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ "${#missing[@]}" -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages already installed"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
