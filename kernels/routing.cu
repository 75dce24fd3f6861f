// Dynamic routing entry points: the J == 1 fast path (one block per image: the sum over i, the
// squash, and in the backward the broadcast of ds to every i) and the choice between the fused,
// one-pass, unfused, split and cluster variants for everything else (routing.cuh explains them).
#include "kernels/cuda_context.h"

#include <algorithm>

#include "kernels/routing.cuh"
#include "kernels/routing_blocks.cuh"

namespace mlcn::kernels {
namespace {

// c == 1 exactly, so s = sum_i 1 * uhat_i: the weighted sum with a constant weight of one.
__global__ void __launch_bounds__(kRoutingThreads)
    routing_j1_forward_kernel(float* v, const float* uhat, int N, int D) {
  extern __shared__ float sm[];
  float* s = sm;         // (D)
  float* part = s + D;   // (blockDim.x)
  blk_weighted_sum(s, nullptr, 1.f, uhat + size_t(blockIdx.x) * N * D, N, 1, D, part);
  blk_squash(v + size_t(blockIdx.x) * D, s, 1, D);
}

// The softmax gradient is exactly zero with one class, so duhat_i += squash'(s)^T dv for all i.
__global__ void __launch_bounds__(kRoutingThreads)
    routing_j1_backward_kernel(float* duhat, const float* dv, const float* uhat, int N, int D) {
  extern __shared__ float sm[];
  float* s = sm;         // (D)
  float* ds = s + D;     // (D)
  float* part = ds + D;  // (blockDim.x)
  const size_t off = size_t(blockIdx.x) * N * D;
  blk_weighted_sum(s, nullptr, 1.f, uhat + off, N, 1, D, part);
  blk_squash_backward(ds, dv + size_t(blockIdx.x) * D, s, 1, D);
  blk_grad_update(duhat + off, nullptr, nullptr, nullptr, 1.f, ds, N, 1, D);
}

size_t j1_smem(int64_t D, bool backward) { return size_t((backward ? 2 : 1) * D + kRoutingThreads) * sizeof(float); }

void check_routing_shape(int64_t B, int64_t N, int64_t J, int64_t D, int iters) {
  MLCN_CHECK(iters >= 1, "routing: iterations must be >= 1, got " << iters);
  MLCN_CHECK(N > 0 && J > 0 && D > 0 && B < (int64_t(1) << 31) && N * J * D <= (int64_t(1) << 31) - 1 - kRoutingThreads,
             "routing: unsupported shape B=" << B << " N=" << N << " J=" << J << " D=" << D);
}

bool use_fused(RoutingVariant variant, int64_t N, int64_t J, int64_t D, int iters, bool backward) {
  switch (variant) {
    case RoutingVariant::Fused:
    case RoutingVariant::OnePass: return true;  // the fused launchers throw if it does not fit
    case RoutingVariant::Unfused:
    case RoutingVariant::Split:
    case RoutingVariant::Cluster: return false;
    default: return routing_fused_fits(N, J, D, iters, backward, current_device());
  }
}

int slices_for(RoutingVariant variant, int64_t B, int64_t N) {
  return variant == RoutingVariant::Split || variant == RoutingVariant::Cluster ? routing_split_slices(B, N) : 1;
}

// The cluster size Cluster runs with, or 0 where it cannot run (then Split serves it).
int cluster_for(RoutingVariant variant, int64_t B, int64_t N, int64_t J, int64_t D, int iters, bool backward) {
  if (variant != RoutingVariant::Cluster) return 0;
  const int P = routing_cluster_size(B, N);
  return routing_cluster_fits(N, J, D, iters, P, backward) ? P : 0;
}

}  // namespace

int routing_split_slices(int64_t B, int64_t N) {
  const int64_t want = (2 * int64_t(sm_count(current_device())) + B - 1) / B;
  return int(std::max<int64_t>(1, std::min<int64_t>({want, N / 64, 65535})));
}

void routing_j1_forward_cuda(float* v, const float* uhat, int64_t B, int64_t N, int64_t D, cudaStream_t s) {
  if (B <= 0) return;
  check_routing_shape(B, N, 1, D, 1);
  MLCN_CHECK(j1_smem(D, false) <= 48 * 1024, "routing J=1: capsule dimension " << D << " is too large");
  routing_j1_forward_kernel<<<unsigned(B), kRoutingThreads, j1_smem(D, false), s>>>(v, uhat, int(N), int(D));
  MLCN_CUDA_LAUNCH_CHECK();
}

void routing_j1_backward_cuda(float* duhat, const float* dv, const float* uhat, int64_t B, int64_t N, int64_t D,
                              cudaStream_t s) {
  if (B <= 0) return;
  check_routing_shape(B, N, 1, D, 1);
  MLCN_CHECK(j1_smem(D, true) <= 48 * 1024, "routing J=1: capsule dimension " << D << " is too large");
  routing_j1_backward_kernel<<<unsigned(B), kRoutingThreads, j1_smem(D, true), s>>>(duhat, dv, uhat, int(N), int(D));
  MLCN_CUDA_LAUNCH_CHECK();
}

void routing_forward_cuda(float* v, const float* uhat, int64_t B, int64_t N, int64_t J, int64_t D, int iters,
                          bool fast, RoutingVariant variant, cudaStream_t s) {
  if (B <= 0) return;
  check_routing_shape(B, N, J, D, iters);
  const int P = J == 1 && fast ? 0 : cluster_for(variant, B, N, J, D, iters, false);
  if (J == 1 && fast) routing_j1_forward_cuda(v, uhat, B, N, D, s);
  else if (P > 0) routing_cluster_forward_cuda(v, uhat, B, N, J, D, iters, P, s);
  else if (variant == RoutingVariant::OnePass) routing_onepass_forward_cuda(v, uhat, B, N, J, D, iters, s);
  else if (use_fused(variant, N, J, D, iters, false)) routing_fused_forward_cuda(v, uhat, B, N, J, D, iters, s);
  else routing_unfused_forward_cuda(v, uhat, B, N, J, D, iters, s, slices_for(variant, B, N));
}

void routing_backward_cuda(float* duhat, const float* dv, const float* uhat, int64_t B, int64_t N, int64_t J,
                           int64_t D, int iters, bool stop_grad, bool fast, RoutingVariant variant, cudaStream_t s) {
  if (B <= 0) return;
  check_routing_shape(B, N, J, D, iters);
  const int P = J == 1 && fast ? 0 : cluster_for(variant, B, N, J, D, iters, true);
  if (J == 1 && fast) routing_j1_backward_cuda(duhat, dv, uhat, B, N, D, s);
  else if (P > 0) routing_cluster_backward_cuda(duhat, dv, uhat, B, N, J, D, iters, stop_grad, P, s);
  else if (use_fused(variant, N, J, D, iters, true))
    routing_fused_backward_cuda(duhat, dv, uhat, B, N, J, D, iters, stop_grad, s);
  else routing_unfused_backward_cuda(duhat, dv, uhat, B, N, J, D, iters, stop_grad, s, slices_for(variant, B, N));
}

}  // namespace mlcn::kernels
