#!/usr/bin/env bash
# The GPU machine check: one command that reports the machine, builds the engine with the CUDA
# backend (ninja, all cores, sm_90), then, most valuable first and each only while enough of the
# 8-minute plan is left: the CUDA parity tests, compute-sanitizer memcheck over the handwritten
# kernels' tests, the training step against the PyTorch peer with TF32 off on both sides (each
# model in its own call with its own limit), the kernel microbenchmark, one Fashion-MNIST epoch,
# the step comparison with TF32 on on both sides, CapsNet training steps with each routing and
# prediction-transform variant, ctest's CPU tests (with no GPU visible),
# racecheck on the routing kernels, and memcheck over the cuDNN convolution tests.
# Only a few files come back from the GPU machine: run directories and logs go to a scratch
# folder, and $OUT receives exactly two files, logs.tar.gz and summary.md (printed last).
#
#   bash bench/device/check.sh                 # on the GPU machine, from anywhere in the repo
#   bash bench/device/check.sh --dry-run       # here: configure against a copy of the GPU image's
#                                              # layout (cuDNN/NCCL as wheels only) and check every
#                                              # path and command the real run uses
#   bash bench/device/check.sh --pack-deps     # here (Debian): copy the header-only build
#                                              # dependencies into .deps/ for the GPU machine
#
# Environment: OUT (default ./device-out), SCRATCH (default /tmp/mlcn-device), BUILD (default
# build-device), JOBS (default nproc). The image has nvcc, and CMake, ninja and PyTorch in its
# python3; cuDNN and NCCL may exist there only as Python wheels, which the configure step finds
# (cmake/MlcnCudaLibs.cmake) and puts on the build RPATH. Debian's Eigen, nlohmann-json, Catch2
# and zlib headers travel in .deps/ (--pack-deps; carry ".deps"), the dataset in datasets/.
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

DRY=0
[ "${1:-}" = "--dry-run" ] && DRY=1
OUT=${OUT:-$ROOT/device-out}
SCRATCH=${SCRATCH:-/tmp/mlcn-device}
BUILD=${BUILD:-build-device}
JOBS=${JOBS:-$(nproc)}
PLAN_S=480  # the 8 minutes of the 15-minute budget this script plans for
rm -rf "$SCRATCH"
mkdir -p "$OUT" "$SCRATCH/logs"
LOGS="$SCRATCH/logs"
export PATH="/usr/local/cuda/bin:$PATH"
T0=$(date +%s)
SUMMARY=()  # rows "| step | status | seconds | log |"
MISSING=0

elapsed() { echo $(( $(date +%s) - T0 )); }
left() { echo $(( PLAN_S - 10 - $(elapsed) )); }
min() { echo $(( $1 < $2 ? $1 : $2 )); }

# In a dry run, a command is checked instead of run: a build output is fine (the build makes it),
# anything else must exist now.
check_cmd() {
  local c=$1
  case "$c" in
    "$BUILD"/*) echo "built by the build step" ;;
    */*) [ -e "$c" ] && echo "exists" || { echo "MISSING"; MISSING=$((MISSING + 1)); } ;;
    compute-sanitizer) command -v "$c" >/dev/null && echo "found" || echo "not on this machine (the GPU image has it)" ;;
    *) command -v "$c" >/dev/null && echo "found" || { echo "MISSING"; MISSING=$((MISSING + 1)); } ;;
  esac
}

# step NAME LIMIT_S LOG CMD...: runs CMD with a time limit (logging to $LOGS/LOG) and records a row.
step() {
  local name=$1 limit=$2 log=$3
  shift 3
  if [ $DRY -eq 1 ]; then
    local seen
    seen=$(check_cmd "$1")
    for a in "$@"; do
      case "$a" in bench/*|configs/*|tests/*) [ -e "$a" ] || { seen="$seen; $a MISSING"; MISSING=$((MISSING + 1)); } ;; esac
    done
    SUMMARY+=("| $name | dry run: $1 $seen | limit $limit | $log |")
    return 0
  fi
  local t
  t=$(date +%s)
  echo "=== $name (limit ${limit}s) ===" | tee -a "$LOGS/$log"
  timeout --kill-after=10 "$limit" "$@" >> "$LOGS/$log" 2>&1
  local rc=$?
  local dt=$(( $(date +%s) - t ))
  local status="ok"
  [ $rc -ne 0 ] && status="FAILED (rc $rc)"
  [ $rc -eq 124 ] && status="TIMEOUT"
  [ $rc -eq 77 ] && status="skipped (no usable GPU)"
  SUMMARY+=("| $name | $status | $dt | $log |")
  tail -n 5 "$LOGS/$log"
  return $rc
}
skip() { SUMMARY+=("| $1 | skipped | 0 | $2 |"); echo "=== $1: skipped ($2) ==="; }
# when SECONDS: true while that much of the plan is left (always true in a dry run).
when() { [ $DRY -eq 1 ] || [ "$(left)" -gt "$1" ]; }

PY=python3
"$PY" -c "import torch" 2>/dev/null || PY=/usr/bin/python3
CMAKE_EXTRA=()
if [ $DRY -eq 1 ]; then
  # The GPU image's layout: cuDNN and NCCL only as wheel folders with versioned libraries.
  SITE=$(bash bench/device/fake_image.sh "$SCRATCH/fake-image") || exit 1
  export PYTHONPATH="$SITE${PYTHONPATH:+:$PYTHONPATH}"
  CMAKE_EXTRA=(-DMLCN_CUDA_LIBS_FROM=wheels -DMLCN_WHEEL_PYTHON="$(command -v python3)")
  BUILD="$SCRATCH/build-dry"
fi

{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "commit: $(git rev-parse --short HEAD 2>/dev/null) $(git status --porcelain 2>/dev/null | wc -l) files changed"
  nvidia-smi 2>&1 || echo "nvidia-smi: not found (no GPU here)"
  nvcc --version 2>&1 | tail -n 2
  cmake --version | head -n 1
  echo "python: $PY $("$PY" -c 'import sys, torch; print(sys.version.split()[0], "torch", torch.__version__)' 2>&1)"
  echo "cuDNN/NCCL wheels:"
  "$PY" -c "import importlib.util as u; s = u.find_spec('nvidia'); print(list(s.submodule_search_locations) if s else 'none')" 2>&1
  command -v compute-sanitizer || echo "compute-sanitizer: not found"
} > "$LOGS/machine.txt" 2>&1
cat "$LOGS/machine.txt"
GPU=$(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null | head -n 1)

PREFIX=()
[ -d "$ROOT/.deps" ] && PREFIX=(-DCMAKE_PREFIX_PATH="$ROOT/.deps")
# The configure step runs in a dry run too: it is what proves cuDNN and NCCL are found as wheels.
DRY_SAVED=$DRY
DRY=0
step "configure" 120 build.log cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DMLCN_CUDA=ON \
  -DMLCN_CUDA_ENGINE=ON -DMLCN_MPI=OFF -DMLCN_EMU_TESTS=OFF -DCMAKE_CUDA_ARCHITECTURES=90 "${PREFIX[@]}" \
  "${CMAKE_EXTRA[@]}"
DRY=$DRY_SAVED
if [ $DRY -eq 1 ]; then
  for lib in CUDNN_LIBRARY NCCL_LIBRARY; do
    found=$(grep "^$lib:" "$BUILD/CMakeCache.txt" | cut -d= -f2)
    case "$found" in
      "$SITE"/*) SUMMARY+=("| $lib from the wheel layout | ok: $found | - | build.log |") ;;
      *) SUMMARY+=("| $lib from the wheel layout | MISSING: '$found' | - | build.log |"); MISSING=$((MISSING + 1)) ;;
    esac
  done
  grep -q "$SITE" "$BUILD/build.ninja" && SUMMARY+=("| wheel folders on the build RPATH | ok | - | build.ninja |") ||
    { SUMMARY+=("| wheel folders on the build RPATH | MISSING | - | build.ninja |"); MISSING=$((MISSING + 1)); }
fi
step "build" 300 build.log cmake --build "$BUILD" -j "$JOBS"

TEST_CUDA="$BUILD/tests/cuda/test_cuda"
BENCH="$BUILD/bench/kernels/bench_kernels"
STEP="$BUILD/bench/step"
HAVE_SAN=0
command -v compute-sanitizer >/dev/null && [ -x "$TEST_CUDA" ] && HAVE_SAN=1
HAVE_PEER=0
"$PY" -c "import torch; assert torch.cuda.is_available()" 2>/dev/null && HAVE_PEER=1
if [ $DRY -eq 1 ]; then  # the image has compute-sanitizer and CUDA PyTorch: check what they would run
  HAVE_SAN=1
  HAVE_PEER=1
  if "$PY" -m py_compile bench/peer/compare.py bench/peer/step_bench.py bench/peer/models.py bench/peer/grouped.py; then
    SUMMARY+=("| peer scripts compile | ok | - | - |")
  else
    SUMMARY+=("| peer scripts compile | MISSING | - | - |"); MISSING=$((MISSING + 1))
  fi
fi
MODELS="capsnet mlcn-2l-w4d1 mlcn-8l-w4d1 mlcn-4l-w2d4"
# compare TF32 LIMIT: the engine against the peer, one model per call, TF32 set alike on both sides.
compare() {
  local tf32=$1 limit=$2
  for m in $MODELS; do
    when 40 || { skip "step vs pytorch, $m, tf32 $tf32" "no time left"; continue; }
    step "step vs pytorch, $m, tf32 $tf32" "$(min "$limit" $(( $(left) - 20 )))" "compare_tf32_$tf32.log" \
      "$PY" bench/peer/compare.py --device cuda --iters 20 --warmup 5 --models "$m" --tf32 "$tf32" \
      --limit "$(( limit / 2 ))" --engine "$STEP" --variants eager,grouped,graphs,grouped+graphs
  done
}

if [ -x "$TEST_CUDA" ] || [ $DRY -eq 1 ]; then
  step "test_cuda (parity)" 150 test_cuda.log "$TEST_CUDA" --durations yes
else
  skip "test_cuda (parity)" "not built"
fi
# memcheck over the handwritten kernels' tests first (no cuDNN search, no whole-model steps).
if [ $HAVE_SAN -eq 1 ] && when 150; then
  step "memcheck test_cuda (kernels)" "$(min $(( $(left) - 120 )) 120)" memcheck.log \
    compute-sanitizer --tool memcheck --error-exitcode 3 "$TEST_CUDA" '~[model]~[conv]~[runtime]'
else
  skip "memcheck test_cuda (kernels)" "no compute-sanitizer, no test_cuda, or no time left"
fi
if [ $HAVE_PEER -eq 1 ]; then
  compare off 60
else
  skip "step vs pytorch, tf32 off" "no CUDA PyTorch"
fi
if when 80; then
  step "bench_kernels" 60 bench_kernels.log "$BENCH" --csv "$SCRATCH/kernels.csv"
else
  skip "bench_kernels" "no time left"
fi
# One Fashion-MNIST epoch of the default config on the GPU (carry datasets/fashion-mnist).
FM=${FMNIST_DIR:-$ROOT/datasets/fashion-mnist}
[ -d "$FM" ] || FM=/usr/share/datasets/fashion-mnist
if [ -d "$FM" ] && when 100; then
  step "default config, 1 epoch, graphs+grouped" "$(min $(( $(left) - 40 )) 90)" epoch.log "$BUILD/cli/mlcn" train \
    --config configs/default.json --set train.epochs=1 --set data.path="$FM" --set runtime.cuda_graphs=true \
    --set runtime.group_lanes=true --out "$SCRATCH/runs/epoch"
else
  skip "default config, 1 epoch" "no Fashion-MNIST files (carry datasets/fashion-mnist) or no time left"
fi
if [ $HAVE_PEER -eq 1 ]; then
  compare on 45
fi
# Whole CapsNet training steps (graphs on) with each capsule-kernel variant, one call each, so
# one run can choose what Auto picks (runtime.routing_variant / predict_variant).
for rv in fused:shared one-pass:shared split:shared cluster:shared auto:blas; do
  if when 60; then
    step "capsnet step, routing ${rv%%:*}, predict ${rv##*:}" 20 variants.log "$STEP" --device cuda --models capsnet \
      --variants graphs --warmup 5 --iters 20 --routing "${rv%%:*}" --predict "${rv##*:}"
  else
    skip "capsnet step, routing ${rv%%:*}, predict ${rv##*:}" "no time left"
  fi
done
if when 70; then
  # CPU tests see no GPU, and two OpenMP threads each, so -j8 does not oversubscribe 16 cores.
  step "ctest (CPU tests, no GPU visible)" "$(min $(( $(left) - 30 )) 100)" ctest.log \
    env CUDA_VISIBLE_DEVICES= OMP_NUM_THREADS=2 ctest --test-dir "$BUILD" -E '^cuda$|^cuda_emu|integration|resume|nas_e2e' \
    -j 8 --timeout 90 --output-on-failure
else
  skip "ctest (CPU tests)" "no time left"
fi
if [ $HAVE_SAN -eq 1 ] && when 60; then
  step "racecheck routing" "$(min $(( $(left) - 30 )) 60)" racecheck.log \
    compute-sanitizer --tool racecheck --error-exitcode 3 "$TEST_CUDA" '[routing]'
else
  skip "racecheck routing" "no compute-sanitizer, no test_cuda, or no time left"
fi
if [ $HAVE_SAN -eq 1 ] && when 50; then
  step "memcheck test_cuda (conv)" "$(( $(left) - 20 ))" memcheck_conv.log \
    compute-sanitizer --tool memcheck --error-exitcode 3 "$TEST_CUDA" '[conv]'
else
  skip "memcheck test_cuda (conv)" "no compute-sanitizer, no test_cuda, or no time left"
fi

{
  if [ $DRY -eq 1 ]; then
    echo "# Device check: dry run, $(date -u +%Y-%m-%d), $MISSING missing"
  else
    echo "# Device check, $(date -u +%Y-%m-%d)"
  fi
  echo
  echo "GPU: ${GPU:-none}; commit $(git rev-parse --short HEAD 2>/dev/null); total $(elapsed) s of a ${PLAN_S} s plan"
  echo
  echo "| step | status | seconds | log |"
  echo "|---|---|---|---|"
  printf '%s\n' "${SUMMARY[@]}"
  echo
  echo "## Results"
  echo
  echo "- test_cuda: $(grep -E 'test cases|All tests passed' "$LOGS/test_cuda.log" 2>/dev/null | tail -n 1)"
  echo "- ctest: $(grep -E 'tests passed' "$LOGS/ctest.log" 2>/dev/null | tail -n 1)"
  echo "- memcheck (kernels): $(grep -E 'ERROR SUMMARY' "$LOGS/memcheck.log" 2>/dev/null | tail -n 1)"
  echo "- memcheck (conv): $(grep -E 'ERROR SUMMARY' "$LOGS/memcheck_conv.log" 2>/dev/null | tail -n 1)"
  echo "- racecheck: $(grep -E 'RACECHECK SUMMARY|ERROR SUMMARY' "$LOGS/racecheck.log" 2>/dev/null | tail -n 1)"
  if [ -f "$LOGS/bench_kernels.log" ]; then
    echo
    echo "### Kernels (bench_kernels, batch 100)"
    echo
    grep -E '^(device|measured)' "$LOGS/bench_kernels.log"
    echo
    grep -E '^\|' "$LOGS/bench_kernels.log"
  fi
  if [ -f "$LOGS/variants.log" ]; then
    echo
    echo "### CapsNet step per kernel variant (graphs, batch 100)"
    echo
    echo '```'
    grep -E '^===|^capsnet' "$LOGS/variants.log"
    echo '```'
  fi
  for f in compare_tf32_off compare_tf32_on epoch; do
    if [ -f "$LOGS/$f.log" ]; then
      echo
      echo "### $f"
      echo
      echo '```'
      grep -vE '^===|^\[' "$LOGS/$f.log" | grep -E 'model|capsnet|mlcn|FAILED|epoch|accuracy|BLAS' | tail -n 30
      echo '```'
    fi
  done
} > "$SCRATCH/summary.md"
cp "$SCRATCH/summary.md" "$LOGS/"
[ -f "$SCRATCH/kernels.csv" ] && cp "$SCRATCH/kernels.csv" "$LOGS/"
find "$SCRATCH/runs" -maxdepth 2 \( -name '*.csv' -o -name '*.json' -o -name '*.jsonl' \) -exec cp --parents {} "$LOGS/" \; 2>/dev/null
tar -czf "$OUT/logs.tar.gz" -C "$SCRATCH" logs
cp "$SCRATCH/summary.md" "$OUT/summary.md"
echo
cat "$OUT/summary.md"
[ $DRY -eq 1 ] && [ $MISSING -gt 0 ] && exit 1
exit 0
