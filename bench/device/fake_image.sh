#!/usr/bin/env bash
# Builds, on a development machine, a copy of the GPU image's library layout: cuDNN and NCCL only
# as Python-wheel folders (site-packages/nvidia/{cudnn,nccl}/{include,lib}) with versioned
# libraries (libcudnn.so.9, libnccl.so.2) and no unversioned libcudnn.so or libnccl.so. The
# libraries are links to this machine's copies. check.sh --dry-run configures against it.
#   bash bench/device/fake_image.sh DIR     # prints the PYTHONPATH to use
set -euo pipefail
DIR=${1:?usage: fake_image.sh DIR}
SRC_INC=${CUDA_INC:-/usr/local/cuda/include}
SRC_LIB=${CUDA_LIB:-/usr/local/cuda/lib64}
rm -rf "$DIR"
for pkg in cudnn nccl; do
  mkdir -p "$DIR/site/nvidia/$pkg/include" "$DIR/site/nvidia/$pkg/lib"
done
cp "$SRC_INC"/cudnn*.h "$DIR/site/nvidia/cudnn/include/"
cp "$SRC_INC"/nccl*.h "$DIR/site/nvidia/nccl/include/"
for f in "$SRC_LIB"/libcudnn*.so.9; do ln -s "$(readlink -f "$f")" "$DIR/site/nvidia/cudnn/lib/$(basename "$f")"; done
ln -s "$(readlink -f "$SRC_LIB/libnccl.so.2")" "$DIR/site/nvidia/nccl/lib/libnccl.so.2"
if ls "$DIR"/site/nvidia/*/lib/lib*.so 2>/dev/null | grep -q .; then
  echo "fake_image.sh: an unversioned library slipped in" >&2
  exit 1
fi
echo "$DIR/site"
