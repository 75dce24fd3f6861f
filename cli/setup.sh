#!/usr/bin/env bash
# Installs what the engine needs from Debian (idempotent), then configures and builds it in
# ./build with Ninja. The CUDA backend is compiled whenever nvcc is found (/usr/local/cuda/bin).
# Usage: bash cli/setup.sh [extra cmake arguments]
set -euo pipefail
cd "$(dirname "$0")/.."
packages=(cmake ninja-build g++ pkg-config libeigen3-dev nlohmann-json3-dev catch2 zlib1g-dev libdnnl-dev
          dataset-fashion-mnist python3-numpy python3-matplotlib libopenmpi-dev openmpi-bin)
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}"
fi
export PATH="/usr/local/cuda/bin:$PATH"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release "$@"
cmake --build build -j"$(nproc)"
