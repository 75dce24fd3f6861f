// Fused dynamic routing: one kernel launch, one block per image, every iteration inside the
// block with the routing logits b and couplings c in shared memory (uhat streams from global
// memory, once per stage). The backward first recomputes the forward keeping c_t (t >= 1; c_0 is
// uniform and never stored) and s_t, v_t, then walks the iterations backwards like
// engine/cpu/capsule.cpp. Shared memory per block (floats, NJ = N*J, JD = J*D, T = blockDim):
//   forward:  2 NJ + 2 JD + T                   (CapsNet 1152x10x16: 97.5 KB)
//   backward: (iters + 1) NJ + 2 (iters + 1) JD + T   (CapsNet, 3 iterations: 189 KB)
// A shape that does not fit the device's opt-in limit (227 KB on H100, 163 KB on A100) goes
// through the unfused variant instead (routing.cu decides). The OnePass variant's forward reads
// uhat once per iteration instead of twice (routing_onepass_forward_kernel); its backward is the
// fused one.
#include "kernels/cuda_context.h"

#include "kernels/routing.cuh"
#include "kernels/routing_blocks.cuh"

namespace mlcn::kernels {
namespace {

__global__ void __launch_bounds__(kRoutingThreads)
    routing_fused_forward_kernel(float* v, const float* uhat, int N, int J, int D, int iters) {
  extern __shared__ float sm[];
  const int NJ = N * J, JD = J * D;
  float* bl = sm;        // (N, J) logits
  float* c = bl + NJ;    // (N, J) couplings
  float* s = c + NJ;     // (J, D)
  float* vt = s + JD;    // (J, D) squashed output of a non-final iteration
  float* part = vt + JD;  // (blockDim.x)
  const float* uh = uhat + size_t(blockIdx.x) * NJ * D;
  float* vo = v + size_t(blockIdx.x) * JD;
  const float c0 = 1.f / float(J);  // softmax of the all-zero logits, as the CPU computes it
  for (int t = 0; t < iters; ++t) {
    if (t > 0) blk_softmax(c, bl, N, J);
    blk_weighted_sum(s, t > 0 ? c : nullptr, c0, uh, N, J, D, part);
    const bool last = t + 1 == iters;
    blk_squash(last ? vo : vt, s, J, D);
    if (!last) blk_dot(bl, uh, vt, N, J, D, t > 0);
  }
}

// Whether the one-pass forward serves a shape: a group of J*D threads per input capsule, and D
// a power of two up to 32 so each class's D lanes are one aligned shuffle segment.
bool onepass_fits(int64_t J, int64_t D) { return D <= 32 && (D & (D - 1)) == 0 && J * D <= kRoutingThreads; }

// The fused forward with one pass over uhat per iteration: iteration t >= 1 forms the agreement
// of iteration t - 1 (b_ij += uhat_ij . v_{t-1,j}) and the softmax of row i as it reads uhat_i
// for the weighted sum, where the plain fused forward reads uhat twice (blk_dot, then
// blk_weighted_sum): r passes instead of 2r - 1. Group g of J*D threads takes capsules i = g,
// g + G, ...; thread (j, d) holds uhat_ijd in a register, the dot product is blk_dot's shuffle
// tree over the D lanes of j (lane d = 0 writes b_ij), and after one barrier every thread of
// the row computes c_ij as blk_softmax does. The arithmetic and its order are the plain fused
// forward's, so the two agree bit for bit where the compiler contracts alike.
__global__ void __launch_bounds__(kRoutingThreads)
    routing_onepass_forward_kernel(float* v, const float* uhat, int N, int J, int D, int iters) {
  extern __shared__ float sm[];
  const int NJ = N * J, JD = J * D;
  float* bl = sm;         // (N, J) logits
  float* s = bl + NJ;     // (J, D)
  float* vt = s + JD;     // (J, D) squashed output of a non-final iteration
  float* part = vt + JD;  // (blockDim.x)
  const float* uh = uhat + size_t(blockIdx.x) * NJ * D;
  float* vo = v + size_t(blockIdx.x) * JD;
  const int G = blockDim.x / JD, g = threadIdx.x / JD, e = threadIdx.x % JD, j = e / D, d = e % D;
  const int steps = (N + G - 1) / G;
  for (int t = 0; t < iters; ++t) {
    if (t == 0) {
      blk_weighted_sum(s, nullptr, 1.f / float(J), uh, N, J, D, part);
    } else {
      float acc = 0.f;
      for (int k = 0; k < steps; ++k) {  // uniform over the block: every thread reaches the shuffles
        const int i = g + k * G;
        const bool on = g < G && i < N;
        const float u = on ? uh[size_t(i) * JD + e] : 0.f;
        float a = 0.f;
        if (on) a += u * vt[e];
        for (int off = D / 2; off > 0; off >>= 1) a += __shfl_xor_sync(0xffffffffu, a, off);
        if (on && d == 0) bl[i * J + j] = t > 1 ? bl[i * J + j] + a : a;
        __syncthreads();
        if (on) {
          const float* bi = bl + i * J;
          float m = bi[0];
          for (int q = 1; q < J; ++q) m = bi[q] > m ? bi[q] : m;
          float z = 0.f;
          for (int q = 0; q < J; ++q) z += expf(bi[q] - m);
          acc += (expf(bi[j] - m) / z) * u;
        }
      }
      blk_sum_parts(s, acc, part, G, JD);
      __syncthreads();
    }
    blk_squash(t + 1 == iters ? vo : vt, s, J, D);
  }
}

__global__ void __launch_bounds__(kRoutingThreads)
    routing_fused_backward_kernel(float* duhat, const float* dv, const float* uhat, int N, int J, int D, int iters,
                                  bool stop_grad) {
  extern __shared__ float sm[];
  const int NJ = N * J, JD = J * D;
  float* cs = sm;                          // (iters - 1, N, J): c_t for t >= 1
  float* bd = cs + (iters - 1) * NJ;       // (N, J): logits b while recomputing, then db
  float* dc = bd + NJ;                     // (N, J)
  float* s_all = dc + NJ;                  // (iters, J, D)
  float* v_all = s_all + iters * JD;       // (iters, J, D)
  float* dvt = v_all + iters * JD;         // (J, D)
  float* ds = dvt + JD;                    // (J, D)
  float* part = ds + JD;                   // (blockDim.x)
  const float* uh = uhat + size_t(blockIdx.x) * NJ * D;
  float* g = duhat + size_t(blockIdx.x) * NJ * D;
  const float* dvb = dv + size_t(blockIdx.x) * JD;
  const float c0 = 1.f / float(J);
  for (int t = 0; t < iters; ++t) {
    float* ct = t > 0 ? cs + (t - 1) * NJ : nullptr;
    if (t > 0) blk_softmax(ct, bd, N, J);
    blk_weighted_sum(s_all + t * JD, ct, c0, uh, N, J, D, part);
    blk_squash(v_all + t * JD, s_all + t * JD, J, D);
    if (t + 1 < iters) blk_dot(bd, uh, v_all + t * JD, N, J, D, t > 0);
  }
  blk_zero(bd, NJ);
  for (int t = iters - 1; t >= 0; --t) {
    const float* ct = t > 0 ? cs + (t - 1) * NJ : nullptr;
    const bool later = t + 1 < iters;  // b_{t+1} = b_t + uhat . v_t fed the later iterations
    if (later) blk_weighted_sum(dvt, bd, 0.f, uh, N, J, D, part);
    blk_squash_backward(ds, later ? dvt : dvb, s_all + t * JD, J, D);
    blk_grad_update(g, later ? bd : nullptr, v_all + t * JD, ct, c0, ds, N, J, D);
    if (stop_grad || t == 0) break;  // at t == 0 the logits gradient has no further use
    blk_dot(dc, uh, ds, N, J, D, false);
    blk_softmax_backward(bd, ct, c0, dc, N, J);
  }
}

bool fits_block_int(int64_t N, int64_t J, int64_t D) {
  return N > 0 && J > 0 && D > 0 && N * J * D <= (int64_t(1) << 31) - 1 - kRoutingThreads;
}

void set_smem(const void* kernel, size_t bytes) {
  if (bytes > 48 * 1024)
    MLCN_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, int(bytes)));
}

}  // namespace

size_t routing_fused_smem(int64_t N, int64_t J, int64_t D, int iters, bool backward) {
  const int64_t NJ = N * J, JD = J * D;
  const int64_t floats = backward ? (iters + 1) * NJ + 2 * (iters + 1) * JD + kRoutingThreads
                                  : 2 * NJ + 2 * JD + kRoutingThreads;
  return size_t(floats) * sizeof(float);
}

bool routing_fused_fits(int64_t N, int64_t J, int64_t D, int iters, bool backward, int device) {
  return fits_block_int(N, J, D) && iters >= 1 &&
         routing_fused_smem(N, J, D, iters, backward) <= max_shared_per_block(device);
}

void routing_fused_forward_cuda(float* v, const float* uhat, int64_t B, int64_t N, int64_t J, int64_t D, int iters,
                                cudaStream_t s) {
  if (B <= 0) return;
  MLCN_CHECK(routing_fused_fits(N, J, D, iters, false, current_device()),
             "fused routing: N=" << N << " J=" << J << " D=" << D << " needs " << routing_fused_smem(N, J, D, iters, false)
                                 << " bytes of shared memory per block; use the unfused variant");
  const size_t smem = routing_fused_smem(N, J, D, iters, false);
  set_smem(reinterpret_cast<const void*>(&routing_fused_forward_kernel), smem);
  routing_fused_forward_kernel<<<unsigned(B), kRoutingThreads, smem, s>>>(v, uhat, int(N), int(J), int(D), iters);
  MLCN_CUDA_LAUNCH_CHECK();
}

void routing_onepass_forward_cuda(float* v, const float* uhat, int64_t B, int64_t N, int64_t J, int64_t D, int iters,
                                  cudaStream_t s) {
  if (B <= 0) return;
  if (!onepass_fits(J, D)) {  // the plain fused forward serves every other shape
    routing_fused_forward_cuda(v, uhat, B, N, J, D, iters, s);
    return;
  }
  MLCN_CHECK(routing_fused_fits(N, J, D, iters, false, current_device()),
             "one-pass routing: N=" << N << " J=" << J << " D=" << D << " needs "
                                    << routing_fused_smem(N, J, D, iters, false)
                                    << " bytes of shared memory per block; use the unfused variant");
  const size_t smem = routing_fused_smem(N, J, D, iters, false);
  set_smem(reinterpret_cast<const void*>(&routing_onepass_forward_kernel), smem);
  routing_onepass_forward_kernel<<<unsigned(B), kRoutingThreads, smem, s>>>(v, uhat, int(N), int(J), int(D), iters);
  MLCN_CUDA_LAUNCH_CHECK();
}

void routing_fused_backward_cuda(float* duhat, const float* dv, const float* uhat, int64_t B, int64_t N, int64_t J,
                                 int64_t D, int iters, bool stop_grad, cudaStream_t s) {
  if (B <= 0) return;
  MLCN_CHECK(routing_fused_fits(N, J, D, iters, true, current_device()),
             "fused routing backward: N=" << N << " J=" << J << " D=" << D << " iters=" << iters << " needs "
                                          << routing_fused_smem(N, J, D, iters, true)
                                          << " bytes of shared memory per block; use the unfused variant");
  const size_t smem = routing_fused_smem(N, J, D, iters, true);
  set_smem(reinterpret_cast<const void*>(&routing_fused_backward_kernel), smem);
  routing_fused_backward_kernel<<<unsigned(B), kRoutingThreads, smem, s>>>(duhat, dv, uhat, int(N), int(J), int(D),
                                                                           iters, stop_grad);
  MLCN_CUDA_LAUNCH_CHECK();
}

}  // namespace mlcn::kernels
