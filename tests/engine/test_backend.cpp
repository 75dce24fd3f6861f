// The engine's one way to the CUDA backend (engine/core/backend.h): without a usable backend,
// CUDA tensors and runtimes fail with an error that names the cause, never a silent CPU run.
#include <catch2/catch.hpp>

#include "engine/core/backend.h"
#include "engine/core/tensor.h"
#include "engine/models/model.h"
#include "engine/runtime/lane_runtime.h"

using namespace mlcn;

TEST_CASE("CUDA work without a usable backend fails with a clear error", "[backend]") {
  if (cuda_available()) {
    CHECK(cuda_compiled());
    CHECK(cuda().device_count() == cuda_device_count());
    return;
  }
  CHECK(cuda_device_count() == 0);
  const std::string why = cuda_compiled() ? "0 GPU(s) found" : "built without CUDA";
  CHECK_THROWS_WITH(Tensor::zeros({3}, DType::F32, Device::cuda(0)), Catch::Contains(why));
  CHECK_THROWS_WITH(Tensor::full({3}, 1.0).to(Device::cuda(0)), Catch::Contains(why));
  if (!cuda_compiled()) CHECK_THROWS_WITH(cuda(), Catch::Contains("built without CUDA"));
  ModelSpec spec;
  spec.lanes.assign(1, LaneSpec{"mlcn1", 1, 1});
  Model m(spec);
  RuntimeOptions o;
  o.devices = {Device::cuda(0)};
  CHECK_THROWS_WITH(LaneRuntime(m, o), Catch::Contains(cuda_compiled() ? "not usable" : "built without CUDA"));
}

TEST_CASE("a stream names its device, unchosen means the setup stream", "[backend]") {
  const Stream none;
  CHECK_FALSE(none.chosen());
  CHECK(stream_for(none, Device::cuda(1)) == Stream::setup(1));
  const Stream s{0, reinterpret_cast<void*>(0x10)};
  CHECK(stream_for(s, Device::cuda(0)) == s);
  CHECK_THROWS_WITH(stream_for(s, Device::cuda(1)), Catch::Contains("queued on a stream of cuda:0"));
  Tape t(s);
  CHECK(t.stream_for(Tensor::zeros({2})) == Stream{});  // CPU tensors take no stream
}
