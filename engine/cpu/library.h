// The switch between the CPU backend's library paths (oneDNN convolutions, conv_dnnl.h, and
// oneDNN's float32 GEMM, gemm.h) and the readable twins they stand in for. On by default; the
// environment variable MLCN_CPU_KERNELS=reference (read at the first call) or
// set_use_library(false) turns every library path off, so that tests and benchmarks can run the
// same step both ways. float64 always runs the twins (the libraries are float32 only).
#pragma once

namespace mlcn::cpu {

bool use_library();
void set_use_library(bool on);

}  // namespace mlcn::cpu
