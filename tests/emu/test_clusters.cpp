// On the emulator alone: its model of thread-block clusters (tests/emu/emu_scheduler.cpp), which
// the cluster routing variant's tests rely on. A cluster's blocks exchange values through
// distributed shared memory behind a cluster barrier; a block that reads another's shared memory
// after that block exited (no final cluster barrier), or a buffer overwritten before the other
// blocks read it (one buffer where two are needed), reads wrong data in both thread orders; and
// launches CUDA refuses (more than 8 blocks per cluster, a grid of partial clusters) fail.
// The kernels here are plain functions (this file is not rewritten by emu_source.py).
#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include "tests/emu/emu_internal.h"

namespace {

void cluster_barrier() {
  __cluster_barrier_arrive();
  __cluster_barrier_wait();
}

// out[block] = the block index of the next block of its cluster, read from that block's shared
// memory; with final_barrier == 0 a block may exit while the previous one still reads it.
void ring_kernel(float* out, int final_barrier) {
  float* sm = ::mlcn_emu::dynamic_shared<float>();
  const unsigned rank = __clusterRelativeBlockRank(), P = __clusterSizeInBlocks();
  if (threadIdx.x == 0) sm[0] = float(blockIdx.x);
  cluster_barrier();
  const float* next = static_cast<const float*>(__cluster_map_shared_rank(sm, (rank + 1) % P));
  if (threadIdx.x == 0) out[blockIdx.x] = next[0];
  if (final_barrier) cluster_barrier();
}

// out[block] = sum over rounds r of the sum over the cluster's ranks k of (k + 1)(r + 1), each
// round's values published in buffer r % buffers of every block's shared memory.
void rounds_kernel(float* out, int buffers, int rounds) {
  float* sm = ::mlcn_emu::dynamic_shared<float>();
  const unsigned rank = __clusterRelativeBlockRank(), P = __clusterSizeInBlocks();
  float total = 0.f;
  for (int r = 0; r < rounds; ++r) {
    if (threadIdx.x == 0) sm[r % buffers] = float(rank + 1) * float(r + 1);
    cluster_barrier();
    float acc = 0.f;
    for (unsigned k = 0; k < P; ++k) acc += static_cast<const float*>(__cluster_map_shared_rank(sm, k))[r % buffers];
    total += acc;
  }
  cluster_barrier();
  if (threadIdx.x == 0) out[blockIdx.x] = total;
}

cudaLaunchConfig_t config(unsigned blocks, unsigned cluster, cudaLaunchAttribute& attr) {
  attr = cudaLaunchAttribute{};
  attr.id = cudaLaunchAttributeClusterDimension;
  attr.val.clusterDim.x = cluster;
  attr.val.clusterDim.y = attr.val.clusterDim.z = 1;
  return cudaLaunchConfig_t{dim3(blocks), dim3(64), 2 * sizeof(float), nullptr, &attr, 1};  // grid, block, ...
}

struct DeviceFloats {
  float* p = nullptr;
  size_t n;
  explicit DeviceFloats(size_t count) : n(count) { REQUIRE(cudaMalloc(&p, n * sizeof(float)) == cudaSuccess); }
  ~DeviceFloats() { (void)cudaFree(p); }
  std::vector<float> host() const {
    std::vector<float> h(n);
    REQUIRE(cudaMemcpy(h.data(), p, n * sizeof(float), cudaMemcpyDeviceToHost) == cudaSuccess);
    return h;
  }
};

}  // namespace

TEST_CASE("emulated clusters: blocks read each other's shared memory behind a cluster barrier", "[cuda][clusters]") {
  const unsigned blocks = 12, P = 4;
  DeviceFloats out(blocks);
  cudaLaunchAttribute attr;
  const cudaLaunchConfig_t cfg = config(blocks, P, attr);
  REQUIRE(::mlcn_emu::launch_ex(&cfg, ring_kernel, out.p, 1) == cudaSuccess);
  const auto got = out.host();
  for (unsigned b = 0; b < blocks; ++b) CHECK(got[b] == float(b / P * P + (b % P + 1) % P));

  SECTION("a block that exits while another still reads its shared memory") {
    REQUIRE(::mlcn_emu::launch_ex(&cfg, ring_kernel, out.p, 0) == cudaSuccess);
    const auto bad = out.host();
    for (unsigned c = 0; c < blocks / P; ++c) {  // in either order, some reader finds its neighbour gone
      int nan = 0;
      for (unsigned r = 0; r < P; ++r) nan += std::isnan(bad[c * P + r]);
      CHECK(nan >= 1);
    }
  }
}

TEST_CASE("emulated clusters: a buffer rewritten before the cluster has read it gives wrong sums",
          "[cuda][clusters]") {
  const unsigned blocks = 8, P = 4;
  const int rounds = 3;
  const float want = float(P * (P + 1) / 2) * float(rounds * (rounds + 1) / 2);
  DeviceFloats out(blocks);
  cudaLaunchAttribute attr;
  const cudaLaunchConfig_t cfg = config(blocks, P, attr);
  REQUIRE(::mlcn_emu::launch_ex(&cfg, rounds_kernel, out.p, 2, rounds) == cudaSuccess);
  for (float x : out.host()) CHECK(x == want);
  REQUIRE(::mlcn_emu::launch_ex(&cfg, rounds_kernel, out.p, 1, rounds) == cudaSuccess);
  int wrong = 0;
  for (float x : out.host()) wrong += x != want;
  CHECK(wrong > 0);
}

TEST_CASE("emulated clusters: launches CUDA refuses fail with cudaErrorInvalidClusterSize", "[cuda][clusters]") {
  DeviceFloats out(18);
  cudaLaunchAttribute attr;
  cudaLaunchConfig_t cfg = config(18, 9, attr);  // more than the portable 8 blocks
  CHECK(::mlcn_emu::launch_ex(&cfg, ring_kernel, out.p, 1) == cudaErrorInvalidClusterSize);
  CHECK(cudaGetLastError() == cudaErrorInvalidClusterSize);
  cfg = config(6, 4, attr);  // 6 blocks are not whole clusters of 4
  CHECK(::mlcn_emu::launch_ex(&cfg, ring_kernel, out.p, 1) == cudaErrorInvalidClusterSize);
  CHECK(cudaGetLastError() == cudaErrorInvalidClusterSize);
  CHECK(cudaGetLastError() == cudaSuccess);
}
