// Copies between two GPUs: the data arrives intact, and the first such copy enables peer access
// in both directions where the devices allow it (enabling it again then reports "already
// enabled"), so later copies go device to device instead of through the host. Needs two
// devices (the emulator has two); skipped with one.
#include <vector>

#include "cuda_test_util.h"
#include "engine/core/backend.h"

using namespace mlcn;
using namespace mlcn::test;

TEST_CASE("a copy between two GPUs arrives intact and enables peer access both ways", "[cuda][multigpu][peer]") {
  if (cuda().device_count() < 2) return;  // one GPU: nothing to copy between
  const std::vector<float> host = rand_vec(1000, 77);
  cuda_ok(cudaSetDevice(0), "device 0");
  Guarded a(host);
  cuda_ok(cudaSetDevice(1), "device 1");
  Guarded b(host.size());
  cuda().copy(Stream::setup(1), b.get(), 1, a.get(), 0, host.size() * sizeof(float));
  CHECK(b.host() == host);
  b.expect_guards_intact("peer copy");
  for (auto [from, to] : {std::pair<int, int>{0, 1}, std::pair<int, int>{1, 0}}) {
    int can = 0;
    cuda_ok(cudaDeviceCanAccessPeer(&can, from, to), "can access peer");
    if (!can) continue;
    cuda_ok(cudaSetDevice(from), "device");
    CHECK(cudaDeviceEnablePeerAccess(to, 0) == cudaErrorPeerAccessAlreadyEnabled);
    (void)cudaGetLastError();
  }
  cuda_ok(cudaSetDevice(0), "device 0");
}
