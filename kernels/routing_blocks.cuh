// Block-level stages of dynamic routing for ONE image (include from .cu files only). Every
// function is called by all threads of a block, works on one image's arrays (shared or global
// memory alike) and ends with __syncthreads(), so the next stage sees its results. The fused
// kernels chain them inside one kernel; the unfused reference runs each in its own kernel.
// Shapes per image: uh (N, J, D); b, c, db, dc (N, J); s, v, ds, dv (J, D).
// Orders of summation: softmax, squash and the softmax backward loop exactly as the CPU twin
// (one thread per row); the dot products use a shuffle tree over the D lanes of a pair; the
// sums over i use blockDim/(J*D) interleaved partial sums added in a fixed order. Results are
// deterministic for a given block size.
#pragma once
#include "kernels/device_math.cuh"

namespace mlcn::kernels {

// Threads per block of every routing kernel whose result depends on the block size.
inline constexpr int kRoutingThreads = 1024;

// c (N, J) = softmax over j of b (N, J)
__device__ inline void blk_softmax(float* c, const float* b, int N, int J) {
  for (int i = threadIdx.x; i < N; i += blockDim.x) {
    const float* bi = b + i * J;
    float* ci = c + i * J;
    float m = bi[0];
    for (int j = 1; j < J; ++j) m = bi[j] > m ? bi[j] : m;
    float z = 0.f;
    for (int j = 0; j < J; ++j) z += (ci[j] = expf(bi[j] - m));
    for (int j = 0; j < J; ++j) ci[j] /= z;
  }
  __syncthreads();
}

// out (JD) = the sum over the G groups of JD threads of each thread's acc, added in group order
// (the weighted sum's last step). part: blockDim.x floats of scratch.
__device__ inline void blk_sum_parts(float* out, float acc, float* part, int G, int JD) {
  const int tid = threadIdx.x;
  part[tid] = acc;
  __syncthreads();
  if (tid < JD) {
    float sum = 0.f;
    for (int k = 0; k < G; ++k) sum += part[k * JD + tid];
    out[tid] = sum;
  }
}

// out (J, D) = sum_i w_ij uh_ijd, where w == nullptr means w_ij = wc for all i, j.
// part: blockDim.x floats of scratch (shared memory).
__device__ inline void blk_weighted_sum(float* out, const float* w, float wc, const float* uh, int N, int J, int D,
                                        float* part) {
  const int JD = J * D, nt = blockDim.x, tid = threadIdx.x;
  if (JD <= nt) {
    // Thread (g, e): partial sum over i = g, g + G, ... of element e; coalesced across e.
    const int G = nt / JD, g = tid / JD, e = tid % JD, j = e / D;
    float acc = 0.f;
    if (g < G)
      for (int i = g; i < N; i += G) acc += (w ? w[i * J + j] : wc) * uh[size_t(i) * JD + e];
    blk_sum_parts(out, acc, part, G, JD);
  } else {
    for (int e = tid; e < JD; e += nt) {
      const int j = e / D;
      float acc = 0.f;
      for (int i = 0; i < N; ++i) acc += (w ? w[i * J + j] : wc) * uh[size_t(i) * JD + e];
      out[e] = acc;
    }
  }
  __syncthreads();
}

// out (N, J) = [out +] uh_ij . x_j. L lanes (power of two >= D, at most 32) per (i, j) pair;
// the loop bound is uniform over the block, so whole warps reach the shuffles together.
__device__ inline void blk_dot(float* out, const float* uh, const float* x, int N, int J, int D, bool accumulate) {
  int L = 1;
  while (L < D && L < 32) L <<= 1;
  const int NJ = N * J, lane = threadIdx.x % L, per = blockDim.x / L;
  for (int p0 = 0; p0 < NJ; p0 += per) {
    const int p = p0 + threadIdx.x / L;
    float a = 0.f;
    if (p < NJ) {
      const float* u = uh + size_t(p) * D;
      const float* xj = x + (p % J) * D;
      for (int d = lane; d < D; d += L) a += u[d] * xj[d];
    }
    for (int off = L / 2; off > 0; off >>= 1) a += __shfl_xor_sync(0xffffffffu, a, off);
    if (p < NJ && lane == 0) out[p] = accumulate ? out[p] + a : a;
  }
  __syncthreads();
}

// v (J, D) = squash(s (J, D)), one thread per capsule (the CPU's order).
__device__ inline void blk_squash(float* v, const float* s, int J, int D) {
  for (int j = threadIdx.x; j < J; j += blockDim.x) {
    const float* sj = s + j * D;
    float n2 = 0.f;
    for (int d = 0; d < D; ++d) n2 += sj[d] * sj[d];
    float f, fp;
    squash_factor(n2, f, fp);
    for (int d = 0; d < D; ++d) v[j * D + d] = f * sj[d];
  }
  __syncthreads();
}

// ds (J, D) = f dv + 2 f'(n2) (s . dv) s  (assigned, not accumulated)
__device__ inline void blk_squash_backward(float* ds, const float* dv, const float* s, int J, int D) {
  for (int j = threadIdx.x; j < J; j += blockDim.x) {
    const float* sj = s + j * D;
    const float* dvj = dv + j * D;
    float n2 = 0.f, sdv = 0.f;
    for (int d = 0; d < D; ++d) n2 += sj[d] * sj[d], sdv += sj[d] * dvj[d];
    float f, fp;
    squash_factor(n2, f, fp);
    for (int d = 0; d < D; ++d) ds[j * D + d] = f * dvj[d] + 2.f * fp * sdv * sj[d];
  }
  __syncthreads();
}

// g (N, J, D) += db_ij v_jd (when db) then += c_ij ds_jd; c == nullptr means c_ij = cc.
__device__ inline void blk_grad_update(float* g, const float* db, const float* v, const float* c, float cc,
                                       const float* ds, int N, int J, int D) {
  const int JD = J * D, total = N * JD;
  for (int e = threadIdx.x; e < total; e += blockDim.x) {
    const int p = e / D, jd = e % JD;
    float x = g[e];
    if (db) x += db[p] * v[jd];
    x += (c ? c[p] : cc) * ds[jd];
    g[e] = x;
  }
  __syncthreads();
}

// db (N, J) += c_ij (dc_ij - sum_k c_ik dc_ik); c == nullptr means c_ij = cc.
__device__ inline void blk_softmax_backward(float* db, const float* c, float cc, const float* dc, int N, int J) {
  for (int i = threadIdx.x; i < N; i += blockDim.x) {
    float dot = 0.f;
    for (int j = 0; j < J; ++j) dot += (c ? c[i * J + j] : cc) * dc[i * J + j];
    for (int j = 0; j < J; ++j) db[i * J + j] += (c ? c[i * J + j] : cc) * (dc[i * J + j] - dot);
  }
  __syncthreads();
}

__device__ inline void blk_zero(float* p, int n) {
  for (int e = threadIdx.x; e < n; e += blockDim.x) p[e] = 0.f;
  __syncthreads();
}

}  // namespace mlcn::kernels
