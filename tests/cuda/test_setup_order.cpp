// Setup work (parameter uploads, optimizer state, checkpoint loads) runs on each GPU's setup
// stream, and every lane stream is ordered after it (order_after_setup) before it reads what
// setup wrote. On the emulator a stream's work runs only when something orders or waits for
// it, so a read on a lane stream that skips the ordering sees the old bytes: the race a real
// GPU shows once nothing else (a device-wide cudaFree) happens to hide it. The unordered half
// runs on the emulator only (on a GPU its outcome is timing); the ordered half runs everywhere.
#include <vector>

#include "cuda_test_util.h"
#include "engine/core/backend.h"

using namespace mlcn;
using namespace mlcn::test;

namespace {
bool on_emulator() { return cuda().device_name(0).find("emulator") != std::string::npos; }

// Setup writes `value` into dst (n floats) through a pinned staging buffer on the setup stream,
// then `lane` copies dst into out; the host reads out after synchronising `lane` only.
std::vector<float> setup_then_lane_read(Stream lane, bool ordered, float value, size_t n) {
  Guarded dst(n), out(n);
  auto* staged = static_cast<float*>(cuda().pinned_alloc(n * sizeof(float)));
  for (size_t i = 0; i < n; ++i) staged[i] = value + float(i);
  cuda().copy(Stream::setup(0), dst.get(), 0, staged, -1, n * sizeof(float));
  if (ordered) cuda().order_after_setup(lane);
  cuda().copy(lane, out.get(), 0, dst.get(), 0, n * sizeof(float));
  cuda().synchronize(lane);
  std::vector<float> got(n);
  cuda_ok(cudaMemcpy(got.data(), out.get(), n * sizeof(float), cudaMemcpyDeviceToHost), "read back");
  cuda().synchronize(Stream::setup(0));
  cuda().pinned_free(staged);
  return got;
}
}  // namespace

TEST_CASE("a lane stream reads what setup wrote only when ordered after the setup stream", "[cuda][setup]") {
  cuda_ok(cudaSetDevice(0), "device 0");
  const Stream lane = cuda().create_stream(0);
  const size_t n = 257;
  std::vector<float> want(n);
  for (size_t i = 0; i < n; ++i) want[i] = 3.f + float(i);
  CHECK(setup_then_lane_read(lane, true, 3.f, n) == want);
  if (on_emulator()) CHECK(setup_then_lane_read(lane, false, 3.f, n) != want);  // the race, shown
}
