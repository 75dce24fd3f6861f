// Main of the CUDA test binary: exits 77 (ctest "skipped") when no GPU is usable, otherwise
// initialises the backend (device memory hooks) and runs every Catch2 test case.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <cstdio>

#include "kernels/cuda_backend.h"

int main(int argc, char** argv) {
  if (!mlcn::cuda_available()) {
    std::printf("test_cuda: no usable CUDA device; skipping (exit 77)\n");
    return 77;
  }
  mlcn::cuda_backend_init();
  std::printf("test_cuda: running on %s\n", mlcn::cuda_device_name(0).c_str());
  return Catch::Session().run(argc, argv);
}
