// Main of the CUDA test binary: exits 77 (ctest "skipped") when no GPU is usable, otherwise runs
// every Catch2 test case. Listing the tests (--list-*) works without a GPU.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <cstdio>
#include <cstring>

#include "engine/core/backend.h"

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i)
    if (std::strncmp(argv[i], "--list", 6) == 0) return Catch::Session().run(argc, argv);
  if (!mlcn::cuda_available()) {
    std::printf("test_cuda: no usable CUDA device; skipping (exit 77)\n");
    return 77;
  }
  std::printf("test_cuda: running on %s\n", mlcn::cuda().device_name(0).c_str());
  return Catch::Session().run(argc, argv);
}
