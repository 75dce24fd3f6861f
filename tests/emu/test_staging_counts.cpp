// On the emulator, which counts host-to-device copies from pageable memory: the small host arrays
// of every step (labels, class selections, lane scales, Adam's step size) are sent from pinned
// staging (kernels/allocator.h), because a pageable source lets the driver wait for the stream's
// earlier work before copying, a stall of the calling thread on every op that has one.
#include <catch2/catch.hpp>

#include <cstdint>
#include <vector>

#include "engine/core/backend.h"
#include "kernels/allocator.h"
#include "tests/emu/emu_internal.h"

using namespace mlcn;

TEST_CASE("small host arrays reach the device from pinned staging, large ones from pageable memory",
          "[cuda][staging]") {
  REQUIRE(cudaSetDevice(0) == cudaSuccess);
  const Stream s = cuda().create_stream(0);
  std::vector<int32_t> labels(100, 3);
  std::vector<float> rate{1e-3f, 0.999f};
  std::vector<float> big(kernels::kStagingSlotBytes / sizeof(float) + 1, 0.5f);
  float* dev = static_cast<float*>(cuda().alloc(s, big.size() * sizeof(float)));
  mlcn_emu::reset_counts();
  for (int k = 0; k < 5; ++k) kernels::DeviceBuffer b = kernels::upload(labels.data(), labels.size() * 4, static_cast<cudaStream_t>(s.handle));
  cuda().copy(s, dev, 0, rate.data(), -1, rate.size() * sizeof(float));
  CHECK(mlcn_emu::counts().copy == 6);
  CHECK(mlcn_emu::counts().pageable_upload == 0);
  cuda().copy(s, dev, 0, big.data(), -1, big.size() * sizeof(float));
  CHECK(mlcn_emu::counts().pageable_upload == 1);
  cuda().synchronize(s);
  float back[2] = {0, 0};
  REQUIRE(cudaMemcpy(back, dev, sizeof back, cudaMemcpyDeviceToHost) == cudaSuccess);
  CHECK(back[0] == 0.5f);  // the large copy ran after the small one
  cuda().release(dev);
}
