// Cluster dynamic routing (sm_90): each image's N input capsules spread over the P blocks of one
// thread-block cluster, every iteration in one kernel. Block p of the cluster owns the rows
// [p * ceil(N/P), ...) of the image (Split's ranges): their logits b and couplings c stay in its
// shared memory, and it runs the row stages (softmax, agreement, gradient update, softmax
// backward) on them. A sum over i is Split's two phases without a second kernel: each block
// writes its rows' partial (J, D) sum into its shared memory, a cluster barrier, and every block
// adds the P partials in rank order through distributed shared memory, so all of them hold the
// same s and squash it themselves. The stages are routing_blocks.cuh's with Split's block size and
// the same order of the partial sums, so Cluster and Split with P slices agree bit for bit.
// The partials are double-buffered: a block can overwrite a buffer only after the next sum's
// cluster barrier, which every block reaches after reading the previous sum; a last barrier keeps
// every block's shared memory alive until the others have read it.
// Where Fused runs one block per image (100 blocks for CapsNet at batch 100 on 132 SMs, each
// walking all 1152 capsules), this runs P blocks per image over N/P capsules each, with b and c
// in shared memory as in Fused and one launch per direction.
// Staging: where the block's rows of uhat (n, J, D) fit in shared memory too, the block copies
// them there first and every stage reads them from shared memory, so uhat crosses from device
// memory once per kernel: 1 pass forward instead of 2r - 1, and in the backward 1 read plus the
// r read-writes of duhat instead of 6r - 3 uhat-sized transfers (CapsNet in clusters of 6 or 8:
// 123 or 92 KB per block). The values are the same, so staged and unstaged agree bit for bit.
// Shared memory per block (floats, n = ceil(N/P) rows, nJ = n*J, JD = J*D, T = blockDim):
//   forward:  2 nJ + 4 JD + T                     (+ nJ D staged)
//   backward: (iters + 1) nJ + 2 (iters + 2) JD + T  (+ nJ D staged)
#include "kernels/cuda_context.h"

#include <algorithm>
#include <cstdint>
#include <map>
#include <mutex>
#include <tuple>

#include "kernels/routing.cuh"
#include "kernels/routing_blocks.cuh"

namespace mlcn::kernels {
namespace {

// Compiled for every architecture of the build; the host launches it only on devices that
// support cluster launches (compute capability 9.0 and later).
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ < 900
#define MLCN_CLUSTER_CODE 0
#else
#define MLCN_CLUSTER_CODE 1
#endif

#if MLCN_CLUSTER_CODE
// Waits for every block of the cluster; orders their shared memory writes before it with the
// reads after it (the barrier's release and acquire).
__device__ inline void cluster_barrier() {
  __cluster_barrier_arrive();
  __cluster_barrier_wait();
}

// out (J, D) = the sum over the cluster's P blocks of their `mine` (J, D), added in rank order
// (routing_wsum_reduce_kernel's order). `mine` is at the same shared memory offset in every block.
__device__ inline void cluster_sum(float* out, float* mine, int P, int JD) {
  cluster_barrier();
  for (int e = threadIdx.x; e < JD; e += blockDim.x) {
    float acc = 0.f;
    for (int k = 0; k < P; ++k) acc += static_cast<const float*>(__cluster_map_shared_rank(mine, unsigned(k)))[e];
    out[e] = acc;
  }
  __syncthreads();
}

// This block's rows of its image: Split's ranges with P slices.
struct ClusterRows {
  int P, p, i0, n;
  size_t image;
};
__device__ inline ClusterRows cluster_rows(int N) {
  const int P = int(__clusterSizeInBlocks()), p = int(__clusterRelativeBlockRank());
  const int per = (N + P - 1) / P, i0 = p * per;
  return {P, p, i0, i0 < N ? min(per, N - i0) : 0, size_t(blockIdx.x) / size_t(P)};
}

// Copies count floats of this block's uhat rows to shared memory (float4 when both are 16-byte
// aligned and count is a multiple of 4) and returns the copy, or returns src when not staging.
__device__ inline const float* stage_rows(float* dst, const float* src, int count, bool stage) {
  if (!stage) return src;
  if (reinterpret_cast<uintptr_t>(src) % 16 == 0 && reinterpret_cast<uintptr_t>(dst) % 16 == 0 && count % 4 == 0) {
    for (int e = threadIdx.x; e < count / 4; e += blockDim.x)
      reinterpret_cast<float4*>(dst)[e] = reinterpret_cast<const float4*>(src)[e];
  } else {
    for (int e = threadIdx.x; e < count; e += blockDim.x) dst[e] = src[e];
  }
  __syncthreads();
  return dst;
}

// The weighted sum over all N capsules of the image: this block's rows into buffer k % 2 of
// `sums` (2, J, D), then the cluster's total into out (J, D). k counts the kernel's sums.
__device__ inline void sum_rows(float* out, float* sums, int& k, const float* w, float wc, const float* uh,
                                const ClusterRows& r, int J, int D, float* part) {
  float* mine = sums + (k++ % 2) * J * D;
  blk_weighted_sum(mine, w, wc, uh, r.n, J, D, part);
  cluster_sum(out, mine, r.P, J * D);
}
#endif

__global__ void __launch_bounds__(kRoutingThreads)
    routing_cluster_forward_kernel(float* v, const float* uhat, int N, int J, int D, int iters, bool stage) {
#if MLCN_CLUSTER_CODE
  extern __shared__ float sm[];
  const ClusterRows r = cluster_rows(N);
  const int nJ = ((N + r.P - 1) / r.P) * J, JD = J * D;
  float* us = sm;                                 // (n, J, D) staged uhat rows, when staging
  float* bl = us + (stage ? size_t(nJ) * D : 0);  // (n, J) logits of this block's rows
  float* c = bl + nJ;                             // (n, J) couplings
  float* sums = c + nJ;                           // (2, J, D) this block's partial sums
  float* s = sums + 2 * JD;                       // (J, D)
  float* vt = s + JD;                             // (J, D) squashed output
  float* part = vt + JD;                          // (blockDim.x)
  const float* uh = stage_rows(us, uhat + (r.image * size_t(N) + size_t(r.i0)) * size_t(JD), r.n * JD, stage);
  const float c0 = 1.f / float(J);
  int k = 0;
  for (int t = 0; t < iters; ++t) {
    if (t > 0) blk_softmax(c, bl, r.n, J);
    sum_rows(s, sums, k, t > 0 ? c : nullptr, c0, uh, r, J, D, part);
    const bool last = t + 1 == iters;
    blk_squash(last && r.p == 0 ? v + r.image * size_t(JD) : vt, s, J, D);
    if (!last) blk_dot(bl, uh, vt, r.n, J, D, t > 0);
  }
  cluster_barrier();
#else
  __trap();
#endif
}

__global__ void __launch_bounds__(kRoutingThreads)
    routing_cluster_backward_kernel(float* duhat, const float* dv, const float* uhat, int N, int J, int D, int iters,
                                    bool stop_grad, bool stage) {
#if MLCN_CLUSTER_CODE
  extern __shared__ float sm[];
  const ClusterRows r = cluster_rows(N);
  const int nJ = ((N + r.P - 1) / r.P) * J, JD = J * D;
  float* us = sm;                                 // (n, J, D) staged uhat rows, when staging
  float* cs = us + (stage ? size_t(nJ) * D : 0);  // (iters - 1, n, J): c_t for t >= 1
  float* bd = cs + (iters - 1) * nJ;              // (n, J): logits b while recomputing, then db
  float* dc = bd + nJ;                            // (n, J)
  float* s_all = dc + nJ;                         // (iters, J, D)
  float* v_all = s_all + iters * JD;              // (iters, J, D)
  float* dvt = v_all + iters * JD;                // (J, D)
  float* ds = dvt + JD;                           // (J, D)
  float* sums = ds + JD;                          // (2, J, D) this block's partial sums
  float* part = sums + 2 * JD;                    // (blockDim.x)
  const size_t off = (r.image * size_t(N) + size_t(r.i0)) * size_t(JD);
  const float* uh = stage_rows(us, uhat + off, r.n * JD, stage);
  float* g = duhat + off;
  const float* dvb = dv + r.image * size_t(JD);
  const float c0 = 1.f / float(J);
  int k = 0;
  for (int t = 0; t < iters; ++t) {
    float* ct = t > 0 ? cs + (t - 1) * nJ : nullptr;
    if (t > 0) blk_softmax(ct, bd, r.n, J);
    sum_rows(s_all + t * JD, sums, k, ct, c0, uh, r, J, D, part);
    blk_squash(v_all + t * JD, s_all + t * JD, J, D);
    if (t + 1 < iters) blk_dot(bd, uh, v_all + t * JD, r.n, J, D, t > 0);
  }
  blk_zero(bd, nJ);
  for (int t = iters - 1; t >= 0; --t) {
    const float* ct = t > 0 ? cs + (t - 1) * nJ : nullptr;
    const bool later = t + 1 < iters;  // b_{t+1} = b_t + uhat . v_t fed the later iterations
    if (later) sum_rows(dvt, sums, k, bd, 0.f, uh, r, J, D, part);
    blk_squash_backward(ds, later ? dvt : dvb, s_all + t * JD, J, D);
    blk_grad_update(g, later ? bd : nullptr, v_all + t * JD, ct, c0, ds, r.n, J, D);
    if (stop_grad || t == 0) break;  // at t == 0 the logits gradient has no further use
    blk_dot(dc, uh, ds, r.n, J, D, false);
    blk_softmax_backward(bd, ct, c0, dc, r.n, J);
  }
  cluster_barrier();
#else
  __trap();
#endif
}

int64_t rows_per_block(int64_t N, int P) { return (N + P - 1) / P; }

// The launch configuration of P-block clusters along x; attr must outlive it.
cudaLaunchConfig_t cluster_config(cudaLaunchAttribute& attr, unsigned blocks, int P, size_t smem, cudaStream_t s) {
  attr = cudaLaunchAttribute{};
  attr.id = cudaLaunchAttributeClusterDimension;
  attr.val.clusterDim.x = unsigned(P);
  attr.val.clusterDim.y = 1;
  attr.val.clusterDim.z = 1;
  return cudaLaunchConfig_t{dim3(blocks), dim3(kRoutingThreads), smem, s, &attr, 1};  // grid, block, smem, ...
}

void allow_smem(const void* kernel, size_t smem) {
  if (smem > 48 * 1024)
    MLCN_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, int(smem)));
}

// Launches `kernel` over B clusters of P blocks (grid B * P along x).
template <class... K, class... A>
void launch_clusters(void (*kernel)(K...), int64_t B, int P, size_t smem, cudaStream_t s, A... args) {
  allow_smem(reinterpret_cast<const void*>(kernel), smem);
  cudaLaunchAttribute attr;
  const cudaLaunchConfig_t cfg = cluster_config(attr, unsigned(B * P), P, smem, s);
  MLCN_CUDA_CHECK(cudaLaunchKernelEx(&cfg, kernel, args...));
}

// Whether clusters of P blocks of `smem` bytes can run on the current device at all (asked of
// the runtime once per device, kernel, P and size).
bool clusters_run(const void* kernel, int P, size_t smem) {
  const int device = current_device();
  if (!supports_clusters(device) || smem > max_shared_per_block(device)) return false;
  static std::mutex mu;
  static std::map<std::tuple<int, const void*, int, size_t>, bool> known;
  std::lock_guard<std::mutex> lock(mu);
  const auto key = std::make_tuple(device, kernel, P, smem);
  const auto it = known.find(key);
  if (it != known.end()) return it->second;
  allow_smem(kernel, smem);
  cudaLaunchAttribute attr;
  const cudaLaunchConfig_t cfg = cluster_config(attr, unsigned(P), P, smem, nullptr);
  int clusters = 0;
  MLCN_CUDA_CHECK(cudaOccupancyMaxActiveClusters(&clusters, kernel, &cfg));
  return known[key] = clusters > 0;
}

const void* kernel_of(bool backward) {
  return backward ? reinterpret_cast<const void*>(&routing_cluster_backward_kernel)
                  : reinterpret_cast<const void*>(&routing_cluster_forward_kernel);
}

bool shape_ok(int64_t N, int64_t J, int64_t D, int iters, int P) {
  return P >= 2 && P <= kMaxRoutingCluster && P <= N && iters >= 1 && J > 0 && D > 0 &&
         N * J * D <= (int64_t(1) << 31) - 1 - kRoutingThreads;
}

void check_cluster(int64_t B, int64_t N, int64_t J, int64_t D, int iters, int P, bool backward) {
  MLCN_CHECK(P >= 2 && P <= kMaxRoutingCluster && P <= N,
             "cluster routing: " << P << " blocks per cluster for N=" << N << " (2 to " << kMaxRoutingCluster
                                 << ", at most N)");
  MLCN_CHECK(B * P < (int64_t(1) << 31), "cluster routing: batch " << B << " is too large");
  MLCN_CHECK(routing_cluster_fits(N, J, D, iters, P, backward),
             "cluster routing: N=" << N << " J=" << J << " D=" << D << " in clusters of " << P << " needs "
                                   << routing_cluster_smem(N, J, D, iters, P, backward, false)
                                   << " bytes of shared memory per block, or this device has no cluster launch; use "
                                      "the split variant");
}

}  // namespace

size_t routing_cluster_smem(int64_t N, int64_t J, int64_t D, int iters, int P, bool backward, bool stage) {
  const int64_t nJ = rows_per_block(N, std::max(P, 1)) * J, JD = J * D;
  const int64_t floats = (backward ? (iters + 1) * nJ + 2 * (iters + 2) * JD + kRoutingThreads
                                   : 2 * nJ + 4 * JD + kRoutingThreads) +
                         (stage ? nJ * D : 0);
  return size_t(floats) * sizeof(float);
}

bool routing_cluster_stages(int64_t N, int64_t J, int64_t D, int iters, int P, bool backward) {
  return shape_ok(N, J, D, iters, P) &&
         clusters_run(kernel_of(backward), P, routing_cluster_smem(N, J, D, iters, P, backward, true));
}

bool routing_cluster_fits(int64_t N, int64_t J, int64_t D, int iters, int P, bool backward) {
  return shape_ok(N, J, D, iters, P) &&
         clusters_run(kernel_of(backward), P, routing_cluster_smem(N, J, D, iters, P, backward, false));
}

int routing_cluster_size(int64_t B, int64_t N) {
  const int64_t want = (4 * int64_t(sm_count(current_device())) + B - 1) / std::max<int64_t>(B, 1);
  const int64_t P = std::min(std::clamp<int64_t>(want, 2, kMaxRoutingCluster), std::max<int64_t>(2, N / 32));
  return int(std::min(P, N));
}

void routing_cluster_forward_cuda(float* v, const float* uhat, int64_t B, int64_t N, int64_t J, int64_t D, int iters,
                                  int P, cudaStream_t s) {
  if (B <= 0) return;
  check_cluster(B, N, J, D, iters, P, false);
  const bool stage = routing_cluster_stages(N, J, D, iters, P, false);
  launch_clusters(routing_cluster_forward_kernel, B, P, routing_cluster_smem(N, J, D, iters, P, false, stage), s, v,
                  uhat, int(N), int(J), int(D), iters, stage);
}

void routing_cluster_backward_cuda(float* duhat, const float* dv, const float* uhat, int64_t B, int64_t N, int64_t J,
                                   int64_t D, int iters, bool stop_grad, int P, cudaStream_t s) {
  if (B <= 0) return;
  check_cluster(B, N, J, D, iters, P, true);
  const bool stage = routing_cluster_stages(N, J, D, iters, P, true);
  launch_clusters(routing_cluster_backward_kernel, B, P, routing_cluster_smem(N, J, D, iters, P, true, stage), s,
                  duhat, dv, uhat, int(N), int(J), int(D), iters, stop_grad, stage);
}

}  // namespace mlcn::kernels
