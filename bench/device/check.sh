#!/usr/bin/env bash
# The GPU machine check: one command that reports the machine, builds the engine with the CUDA
# backend (ninja, all cores, sm_90), then, in order of importance and each only while enough of
# the 8 minutes is left: the CUDA parity tests, compute-sanitizer memcheck over the handwritten
# kernels' tests, the kernel microbenchmark, the engine's training step against the PyTorch
# peer on the same GPU (bench/peer/compare.py), one Fashion-MNIST epoch of the default config
# (datasets/fashion-mnist carried, or the Debian path), ctest's CPU tests (less the long CPU training "integration" tests), racecheck on the
# routing kernels, the peer with torch.compile, and memcheck over the cuDNN convolution tests.
# It writes a summary table to $OUT/summary.md (printed last). Every step has a time limit; a
# failing step is recorded and the next one still runs.
#
#   bash bench/device/check.sh               # on the GPU machine, from anywhere in the repo
#   bash bench/device/check.sh --pack-deps   # here (Debian): copy the header-only build
#                                            # dependencies into .deps/ for a machine without them
#
# Environment: OUT (default ./device-out), BUILD (default build-device), JOBS (default nproc).
# The device image has nvcc, cmake, ninja and PyTorch, and may lack Debian's Eigen,
# nlohmann-json, Catch2 or zlib headers (nothing can be installed there): with --pack-deps they
# travel in .deps/ (git-ignored through .git/info/exclude; name it in the device call's carry
# list), and this script adds .deps to CMAKE_PREFIX_PATH when it exists.
set -uo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)

if [ "${1:-}" = "--pack-deps" ]; then
  D="$ROOT/.deps"
  rm -rf "$D"
  mkdir -p "$D/include" "$D/share/cmake" "$D/share/eigen3" "$D/lib/cmake"
  cp -r /usr/include/eigen3 "$D/include/"
  cp -r /usr/share/eigen3/cmake "$D/share/eigen3/"
  cp -r /usr/include/nlohmann "$D/include/"
  cp -r /usr/share/cmake/nlohmann_json "$D/share/cmake/"
  cp -r /usr/include/catch2 "$D/include/"
  cp -r /usr/lib/cmake/Catch2 "$D/lib/cmake/"
  cp /usr/lib/libCatch2WithMain.a "$D/lib/" 2>/dev/null || true
  cp /usr/include/zlib.h /usr/include/zconf.h "$D/include/"
  cp /usr/lib/x86_64-linux-gnu/libz.a "$D/lib/"
  grep -qx '/.deps/' .git/info/exclude 2>/dev/null || echo '/.deps/' >> .git/info/exclude
  echo "packed $(du -sh "$D" | cut -f1) into $D (carry \".deps\" in the device call)"
  exit 0
fi

OUT=${OUT:-$ROOT/device-out}
BUILD=${BUILD:-build-device}
JOBS=${JOBS:-$(nproc)}
mkdir -p "$OUT"
export PATH="/usr/local/cuda/bin:$PATH"
T0=$(date +%s)
SUMMARY=()  # rows "| step | status | seconds | note |"

elapsed() { echo $(( $(date +%s) - T0 )); }
# step NAME LIMIT_S LOGFILE CMD...: runs CMD with a time limit, logs to $OUT/LOGFILE, records a row.
step() {
  local name=$1 limit=$2 log=$3
  shift 3
  local t=$(date +%s)
  echo "=== $name (limit ${limit}s) ===" | tee -a "$OUT/$log"
  timeout --kill-after=10 "$limit" "$@" >> "$OUT/$log" 2>&1
  local rc=$?
  local dt=$(( $(date +%s) - t ))
  local status="ok"
  [ $rc -ne 0 ] && status="FAILED (rc $rc)"
  [ $rc -eq 124 ] && status="TIMEOUT"
  [ $rc -eq 77 ] && status="skipped (no usable GPU)"
  SUMMARY+=("| $name | $status | $dt | $log |")
  tail -n 5 "$OUT/$log"
  return $rc
}
skip() { SUMMARY+=("| $1 | skipped | 0 | $2 |"); echo "=== $1: skipped ($2) ==="; }
# Time left before the 8-minute mark, minus a reserve for the summary.
left() { echo $(( 470 - $(elapsed) )); }

{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "commit: $(git rev-parse --short HEAD 2>/dev/null) $(git status --porcelain 2>/dev/null | wc -l) files changed"
  nvidia-smi 2>&1
  nvcc --version 2>&1 | tail -n 2
  cmake --version | head -n 1
  echo "cuDNN:"; ls /usr/local/cuda/lib*/libcudnn.so* /usr/lib/x86_64-linux-gnu/libcudnn.so* 2>/dev/null | head -n 5
  grep -h "define CUDNN_M[AI][JN]OR\|define CUDNN_PATCHLEVEL" /usr/local/cuda/include/cudnn_version.h 2>/dev/null
  echo "NCCL:"; ls /usr/local/cuda/lib*/libnccl.so* /usr/lib/x86_64-linux-gnu/libnccl.so* 2>/dev/null | head -n 5
  command -v compute-sanitizer || echo "compute-sanitizer: not found"
} > "$OUT/machine.txt" 2>&1
cat "$OUT/machine.txt"
GPU=$(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null | head -n 1)

PREFIX=()
[ -d "$ROOT/.deps" ] && PREFIX=(-DCMAKE_PREFIX_PATH="$ROOT/.deps")
step "configure" 120 build.log cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DMLCN_CUDA=ON \
  -DMLCN_CUDA_ENGINE=ON -DMLCN_MPI=OFF -DMLCN_EMU_TESTS=OFF -DCMAKE_CUDA_ARCHITECTURES=90 "${PREFIX[@]}"
step "build" 300 build.log cmake --build "$BUILD" -j "$JOBS"

TEST_CUDA="$BUILD/tests/cuda/test_cuda"
BENCH="$BUILD/bench/kernels/bench_kernels"
HAVE_SAN=0
command -v compute-sanitizer >/dev/null && [ -x "$TEST_CUDA" ] && HAVE_SAN=1
PY=python3
"$PY" -c "import torch; assert torch.cuda.is_available()" 2>/dev/null || PY=/usr/bin/python3
HAVE_PEER=0
"$PY" -c "import torch; assert torch.cuda.is_available()" 2>/dev/null && [ -f bench/peer/step_bench.py ] && HAVE_PEER=1
# min(a, b)
min() { echo $(( $1 < $2 ? $1 : $2 )); }

# In order of importance, each only while enough of the 8 minutes is left.
if [ -x "$TEST_CUDA" ]; then
  step "test_cuda" 180 test_cuda.log "$TEST_CUDA" --durations yes
else
  skip "test_cuda" "not built"
fi
# memcheck over the handwritten kernels' tests first (no cuDNN search, no whole-model steps).
if [ $HAVE_SAN -eq 1 ] && [ "$(left)" -gt 90 ]; then
  step "memcheck test_cuda (kernels)" "$(min $(( $(left) - 60 )) 150)" memcheck.log \
    compute-sanitizer --tool memcheck --error-exitcode 3 "$TEST_CUDA" '~[model]~[conv]~[runtime]'
else
  skip "memcheck test_cuda (kernels)" "no compute-sanitizer, no test_cuda, or no time left"
fi
if [ -x "$BENCH" ] && [ "$(left)" -gt 120 ]; then
  step "bench_kernels" 90 bench_kernels.log "$BENCH" --csv "$OUT/kernels.csv"
  cp "$OUT/bench_kernels.log" "$OUT/kernels.txt"
else
  skip "bench_kernels" "not built (bench/CMakeLists.txt needs add_subdirectory(kernels)) or no time left"
fi
STEP="$BUILD/bench/step"
if [ -x "$STEP" ] && [ $HAVE_PEER -eq 1 ] && [ "$(left)" -gt 120 ]; then
  step "engine vs pytorch step" 180 compare.log "$PY" bench/peer/compare.py --device cuda --iters 20 --warmup 5 \
    --engine "$STEP" --variants eager,grouped,graphs,grouped+graphs
elif [ -x "$STEP" ] && [ "$(left)" -gt 60 ]; then
  step "engine step" 60 compare.log "$STEP" --device cuda --iters 20 --warmup 5 \
    --variants eager,grouped,graphs,grouped+graphs
else
  skip "engine vs pytorch step" "bench/step not built or no time left"
fi
# One Fashion-MNIST epoch of the default config on the GPU (carry datasets/fashion-mnist).
FM=${FMNIST_DIR:-$ROOT/datasets/fashion-mnist}
[ -d "$FM" ] || FM=/usr/share/datasets/fashion-mnist
if [ -d "$FM" ] && [ "$(left)" -gt 90 ]; then
  step "default config, 1 epoch" "$(min $(( $(left) - 40 )) 120)" epoch.log "$BUILD/cli/mlcn" train \
    --config configs/default.json --set train.epochs=1 --set data.path="$FM" --out "$OUT/epoch"
  if [ "$(left)" -gt 150 ]; then
    step "default config, 1 epoch, graphs" "$(min $(( $(left) - 40 )) 90)" epoch_graphs.log "$BUILD/cli/mlcn" train \
      --config configs/default.json --set train.epochs=1 --set data.path="$FM" --set runtime.cuda_graphs=true \
      --set runtime.group_lanes=true --out "$OUT/epoch_graphs"
  fi
else
  skip "default config, 1 epoch" "no Fashion-MNIST files (carry datasets/fashion-mnist) or no time left"
fi
if [ "$(left)" -gt 90 ]; then
  step "ctest (CPU tests)" "$(min $(( $(left) - 60 )) 120)" ctest.log \
    ctest --test-dir "$BUILD" -E '^cuda$|^cuda_emu|integration' -j "$JOBS" --timeout 100 --output-on-failure
else
  skip "ctest (CPU tests)" "no time left"
fi
if [ $HAVE_SAN -eq 1 ] && [ "$(left)" -gt 60 ]; then
  step "racecheck routing" "$(min $(( $(left) - 30 )) 90)" racecheck.log \
    compute-sanitizer --tool racecheck --error-exitcode 3 "$TEST_CUDA" '[routing]'
else
  skip "racecheck routing" "no compute-sanitizer, no test_cuda, or no time left"
fi
if [ $HAVE_PEER -eq 1 ] && [ "$(left)" -gt 100 ]; then
  step "pytorch peer (torch.compile)" "$(min $(( $(left) - 20 )) 150)" peer_compile.log \
    "$PY" bench/peer/step_bench.py --device cuda --json --compile
else
  skip "pytorch peer (torch.compile)" "no CUDA torch or no time left"
fi
if [ $HAVE_SAN -eq 1 ] && [ "$(left)" -gt 60 ]; then
  step "memcheck test_cuda (conv)" "$(( $(left) - 20 ))" memcheck_conv.log \
    compute-sanitizer --tool memcheck --error-exitcode 3 "$TEST_CUDA" '[conv]'
else
  skip "memcheck test_cuda (conv)" "no compute-sanitizer, no test_cuda, or no time left"
fi

{
  echo "# Device check, $(date -u +%Y-%m-%d)"
  echo
  echo "GPU: ${GPU:-unknown}; commit $(git rev-parse --short HEAD 2>/dev/null); total $(elapsed) s; logs in $OUT"
  echo
  echo "| step | status | seconds | log |"
  echo "|---|---|---|---|"
  printf '%s\n' "${SUMMARY[@]}"
  echo
  echo "## Results"
  echo
  echo "- test_cuda: $(grep -E 'test cases|All tests passed' "$OUT/test_cuda.log" 2>/dev/null | tail -n 1)"
  echo "- ctest: $(grep -E 'tests passed' "$OUT/ctest.log" 2>/dev/null | tail -n 1)"
  echo "- memcheck (kernels): $(grep -E 'ERROR SUMMARY' "$OUT/memcheck.log" 2>/dev/null | tail -n 1)"
  echo "- memcheck (conv): $(grep -E 'ERROR SUMMARY' "$OUT/memcheck_conv.log" 2>/dev/null | tail -n 1)"
  echo "- racecheck: $(grep -E 'RACECHECK SUMMARY|ERROR SUMMARY' "$OUT/racecheck.log" 2>/dev/null | tail -n 1)"
  if [ -f "$OUT/kernels.txt" ]; then
    echo
    echo "### Kernels (bench_kernels, batch 100)"
    echo
    grep -E '^(device|measured)' "$OUT/kernels.txt"
    echo
    grep -E '^\|' "$OUT/kernels.txt"
  fi
  for f in compare epoch epoch_graphs peer_compile; do
    if [ -f "$OUT/$f.log" ]; then
      echo
      echo "### PyTorch peer ($f)"
      echo
      echo '```'
      grep -vE '^===' "$OUT/$f.log" | tail -n 20
      echo '```'
    fi
  done
} > "$OUT/summary.md"
echo
cat "$OUT/summary.md"
