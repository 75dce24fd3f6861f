// Launchers of dynamic routing (kernels/routing*.cu); math in engine/cpu/capsule.h:
//   b = 0; r times: c = softmax_j(b); s_j = sum_i c_ij uhat_ij; v_j = squash(s_j);
//   b_ij += uhat_ij . v_j (not after the last iteration).
// uhat (B, N, J, D) -> v (B, J, D). The backward recomputes the forward (like the CPU twin) and
// accumulates into duhat: the full gradient through every iteration, or with stop_grad only the
// last iteration's sum with c held constant. With fast and J == 1, c == 1 exactly and the
// routing is v = squash(sum_i uhat_i) (one kernel each way).
// Variants for the general case: Fused (one kernel, one block per image, b and c in shared
// memory) and Unfused (the reference: one kernel per stage, state in global memory). Both run
// the same block-level stage functions (kernels/routing_blocks.cuh) with the same block size,
// so they agree bit for bit. OnePass is Fused with a forward that makes one pass over uhat per
// iteration (same arithmetic in the same order). Split is Unfused with each image's N input capsules spread over
// `slices` blocks (routing_split_slices: enough blocks for twice the SMs), its sums over i in
// two phases (routing_unfused.cu), so it agrees with the others to rounding. Cluster (sm_90) is
// Split in one kernel per direction: each image's slices are the blocks of a thread-block
// cluster that add their partial sums through distributed shared memory (routing_cluster.cu);
// it agrees with Split at the same slice count bit for bit, and where a device cannot launch
// it (no clusters, too little shared memory) Split runs instead.
#pragma once
#include <cuda_runtime.h>  // defines: cudaStream_t

#include <cstddef>
#include <cstdint>

#include "kernels/api.h"  // defines: RoutingVariant

namespace mlcn::kernels {


// v (B, J, D) from uhat (B, N, J, D); `variant` as in kernels/api.h (Auto picks per shape).
void routing_forward_cuda(float* v, const float* uhat, int64_t B, int64_t N, int64_t J, int64_t D, int iters,
                          bool fast, RoutingVariant variant, cudaStream_t s);
// duhat (B, N, J, D) += d v / d uhat applied to dv (B, J, D)
void routing_backward_cuda(float* duhat, const float* dv, const float* uhat, int64_t B, int64_t N, int64_t J,
                           int64_t D, int iters, bool stop_grad, bool fast, RoutingVariant variant, cudaStream_t s);

// Dynamic shared memory one fused block needs, and whether it fits `device`.
size_t routing_fused_smem(int64_t N, int64_t J, int64_t D, int iters, bool backward);
bool routing_fused_fits(int64_t N, int64_t J, int64_t D, int iters, bool backward, int device);

// The variants themselves (used by the dispatch above, the tests and the benchmark).
void routing_fused_forward_cuda(float* v, const float* uhat, int64_t B, int64_t N, int64_t J, int64_t D, int iters,
                                cudaStream_t s);
void routing_fused_backward_cuda(float* duhat, const float* dv, const float* uhat, int64_t B, int64_t N, int64_t J,
                                 int64_t D, int iters, bool stop_grad, cudaStream_t s);
// OnePass's forward (its backward is the fused one); shapes other than D a power of two <= 32
// with J*D <= the block run the plain fused forward.
void routing_onepass_forward_cuda(float* v, const float* uhat, int64_t B, int64_t N, int64_t J, int64_t D, int iters,
                                  cudaStream_t s);
void routing_unfused_forward_cuda(float* v, const float* uhat, int64_t B, int64_t N, int64_t J, int64_t D, int iters,
                                  cudaStream_t s, int slices = 1);
void routing_unfused_backward_cuda(float* duhat, const float* dv, const float* uhat, int64_t B, int64_t N, int64_t J,
                                   int64_t D, int iters, bool stop_grad, cudaStream_t s, int slices = 1);
// The Split variant's slices per image on the current device: about 2 blocks per SM over the
// batch, each slice at least 64 input capsules, at least 1.
int routing_split_slices(int64_t B, int64_t N);
// Cluster variant, P blocks per image (2 to kMaxRoutingCluster, at most N): its shared memory per
// block, whether it runs on the current device, the P the dispatch picks (about 4 blocks per SM
// over the batch, from 2 to 8, at least 32 capsules per block where N allows), and the launchers (which throw where it does
// not fit).
inline constexpr int kMaxRoutingCluster = 8;  // CUDA's portable cluster size
// Staged: the block's uhat rows copied to shared memory first (used wherever they fit).
size_t routing_cluster_smem(int64_t N, int64_t J, int64_t D, int iters, int P, bool backward, bool stage);
bool routing_cluster_fits(int64_t N, int64_t J, int64_t D, int iters, int P, bool backward);
bool routing_cluster_stages(int64_t N, int64_t J, int64_t D, int iters, int P, bool backward);
int routing_cluster_size(int64_t B, int64_t N);
void routing_cluster_forward_cuda(float* v, const float* uhat, int64_t B, int64_t N, int64_t J, int64_t D, int iters,
                                  int P, cudaStream_t s);
void routing_cluster_backward_cuda(float* duhat, const float* dv, const float* uhat, int64_t B, int64_t N, int64_t J,
                                   int64_t D, int iters, bool stop_grad, int P, cudaStream_t s);
// J == 1 fast path: v (B, 1, D) = squash(sum_i uhat (B, N, 1, D)).
void routing_j1_forward_cuda(float* v, const float* uhat, int64_t B, int64_t N, int64_t D, cudaStream_t s);
void routing_j1_backward_cuda(float* duhat, const float* dv, const float* uhat, int64_t B, int64_t N, int64_t D,
                              cudaStream_t s);

}  // namespace mlcn::kernels
