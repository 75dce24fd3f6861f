// The CUDA entry points the emulator does not run, because cuDNN does the work there: each
// throws, and the test cases that call them are excluded by tag ([cudnn]).
#include "engine/core/check.h"
#include "engine/ops/cuda_bridge.h"
#include "kernels/conv.cuh"

namespace mlcn::cuda {

void conv2d_forward(float*, const float*, const float*, const float*, const cpu::ConvShape&) {
  MLCN_FAIL("conv2d_forward: cuDNN is not emulated");
}
void conv2d_backward(float*, float*, float*, const float*, const float*, const float*, const cpu::ConvShape&) {
  MLCN_FAIL("conv2d_backward: cuDNN is not emulated");
}
size_t conv_plans_cached() { return 0; }

}  // namespace mlcn::cuda
