// Prediction transform. With R = J*Dout, capsule i maps u_bi (Din) to uhat_bi (R) through the
// same W_i (R, Din) for every image, so one block per capsule (and batch chunk) stages W_i in
// shared memory once and streams the batch through it; uhat is written in contiguous rows of R.
// The backward kernel reads duhat[:, i, :] once per capsule and produces both dW_i (summed
// over the batch in shared memory, owned element by element, so no atomics) and du.
// Shapes whose W_i does not fit in shared memory use the plain global-memory kernels. The Blas
// variant runs both directions as cuBLAS strided-batched GEMMs over the capsules instead.
// Per output the k (or r, or b) sums run in the CPU's order; FMA contraction and, in dW/du,
// adding the partial sum to the old value once instead of term by term give float-rounding
// differences only.
#include "kernels/cuda_context.h"

#include <algorithm>

#include "kernels/gemm.cuh"
#include "kernels/predict.cuh"

namespace mlcn::kernels {
namespace {

constexpr int kSharedFloats = 48 * 1024 / 4;  // default dynamic shared memory, no opt-in needed

// grid (N, batch chunks). Wt holds W_i transposed (Din, R): threads of consecutive r read
// consecutive banks.
__global__ void predict_forward_kernel(float* uhat, const float* u, const float* W, int B, int N, int R, int Din,
                                       int bchunk) {
  extern __shared__ float sm[];
  float* Wt = sm;            // (Din, R)
  float* us = sm + R * Din;  // (bchunk, Din)
  const int i = blockIdx.x, b0 = blockIdx.y * bchunk, nb = min(bchunk, B - b0);
  const float* Wi = W + size_t(i) * R * Din;
  for (int e = threadIdx.x; e < R * Din; e += blockDim.x) Wt[(e % Din) * R + e / Din] = Wi[e];
  for (int e = threadIdx.x; e < nb * Din; e += blockDim.x)
    us[e] = u[(size_t(b0 + e / Din) * N + i) * Din + e % Din];
  __syncthreads();
  for (int e = threadIdx.x; e < nb * R; e += blockDim.x) {
    const int bb = e / R, r = e % R;
    float acc = 0.f;
    for (int k = 0; k < Din; ++k) acc += Wt[k * R + r] * us[bb * Din + k];
    uhat[(size_t(b0 + bb) * N + i) * R + r] = acc;
  }
}

__global__ void predict_forward_global_kernel(float* uhat, const float* u, const float* W, int64_t B, int64_t N,
                                              int64_t R, int64_t Din) {
  const int64_t total = B * N * R;
  for (int64_t e = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; e < total; e += int64_t(gridDim.x) * blockDim.x) {
    const int64_t r = e % R, bi = e / R, i = bi % N;
    const float* w = W + (i * R + r) * Din;
    const float* x = u + bi * Din;
    float acc = 0.f;
    for (int64_t k = 0; k < Din; ++k) acc += w[k] * x[k];
    uhat[e] = acc;
  }
}

// grid (N); the batch is streamed in chunks of BC images. gs rows are padded to R + 1 floats: in
// the du loop a warp reads gs at 32 / Din different images b and one r, and with CapsNet's R = 160
// (a multiple of 32 banks) unpadded rows put all of them in one bank (a 4-way conflict at Din 8).
__global__ void predict_backward_kernel(float* du, float* dW, const float* duhat, const float* u, const float* W,
                                        int B, int N, int R, int Din, int BC) {
  extern __shared__ float sm[];
  const int Rp = R + 1;        // gs row stride
  float* Ws = sm;              // (R, Din), only when du is wanted
  float* dWs = Ws + R * Din;   // (R, Din) accumulators; element e belongs to thread e % blockDim.x
  float* us = dWs + R * Din;   // (BC, Din)
  float* gs = us + BC * Din;   // (BC, Rp)
  const int i = blockIdx.x;
  const float* Wi = W + size_t(i) * R * Din;
  for (int e = threadIdx.x; e < R * Din; e += blockDim.x) {
    if (du) Ws[e] = Wi[e];
    dWs[e] = 0.f;
  }
  for (int b0 = 0; b0 < B; b0 += BC) {
    const int nb = min(BC, B - b0);
    __syncthreads();  // the previous chunk is consumed (and Ws is loaded on the first pass)
    for (int e = threadIdx.x; e < nb * R; e += blockDim.x)
      gs[(e / R) * Rp + e % R] = duhat[(size_t(b0 + e / R) * N + i) * R + e % R];
    for (int e = threadIdx.x; e < nb * Din; e += blockDim.x)
      us[e] = u[(size_t(b0 + e / Din) * N + i) * Din + e % Din];
    __syncthreads();
    for (int e = threadIdx.x; e < R * Din; e += blockDim.x) {
      const int r = e / Din, k = e % Din;
      float acc = dWs[e];
      for (int bb = 0; bb < nb; ++bb) acc += gs[bb * Rp + r] * us[bb * Din + k];
      dWs[e] = acc;
    }
    if (du)
      for (int e = threadIdx.x; e < nb * Din; e += blockDim.x) {
        const int bb = e / Din, k = e % Din;
        float acc = 0.f;
        for (int r = 0; r < R; ++r) acc += gs[bb * Rp + r] * Ws[r * Din + k];
        du[(size_t(b0 + bb) * N + i) * Din + k] += acc;
      }
  }
  float* dWi = dW + size_t(i) * R * Din;
  for (int e = threadIdx.x; e < R * Din; e += blockDim.x) dWi[e] += dWs[e];
}

__global__ void predict_dW_global_kernel(float* dW, const float* duhat, const float* u, int64_t B, int64_t N, int64_t R,
                                         int64_t Din) {
  const int64_t total = N * R * Din;
  for (int64_t e = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; e < total; e += int64_t(gridDim.x) * blockDim.x) {
    const int64_t k = e % Din, r = (e / Din) % R, i = e / (Din * R);
    float acc = 0.f;
    for (int64_t b = 0; b < B; ++b) acc += duhat[(b * N + i) * R + r] * u[(b * N + i) * Din + k];
    dW[e] += acc;
  }
}

__global__ void predict_du_global_kernel(float* du, const float* duhat, const float* W, int64_t B, int64_t N,
                                         int64_t R, int64_t Din) {
  const int64_t total = B * N * Din;
  for (int64_t e = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; e < total; e += int64_t(gridDim.x) * blockDim.x) {
    const int64_t k = e % Din, bi = e / Din, i = bi % N;
    const float* g = duhat + bi * R;
    const float* w = W + i * R * Din + k;
    float acc = 0.f;
    for (int64_t r = 0; r < R; ++r) acc += g[r] * w[r * Din];
    du[e] += acc;
  }
}

bool fits_int(int64_t x) { return x >= 0 && x < (int64_t(1) << 31); }

// The Blas variant, one GEMM per input capsule i batched over i. Row-major u_i (B, Din) with row
// stride N Din is the column-major (Din, B) u_i^T; duhat_i and uhat_i (B, R) likewise (R, B) with
// leading dimension N R; W_i (R, Din) row-major is the column-major (Din, R) W_i^T.
void predict_forward_blas(float* uhat, const float* u, const float* W, int64_t B, int64_t N, int64_t R, int64_t Din,
                          cudaStream_t s) {
  // uhat_i^T (R, B) = W_i (R, Din) u_i^T (Din, B)
  gemm_cm_strided_batched_cuda(true, false, R, B, Din, W, Din, R * Din, u, N * Din, Din, 0.f, uhat, N * R, R, N, s);
}

void predict_backward_blas(float* du, float* dW, const float* duhat, const float* u, const float* W, int64_t B,
                           int64_t N, int64_t R, int64_t Din, cudaStream_t s) {
  // dW_i^T (Din, R) += u_i^T (Din, B) duhat_i (B, R)
  gemm_cm_strided_batched_cuda(false, true, Din, R, B, u, N * Din, Din, duhat, N * R, R, 1.f, dW, Din, R * Din, N, s);
  // du_i^T (Din, B) += W_i^T (Din, R) duhat_i^T (R, B)
  if (du)
    gemm_cm_strided_batched_cuda(false, false, Din, B, R, W, Din, R * Din, duhat, N * R, R, 1.f, du, N * Din, Din, N,
                                 s);
}

}  // namespace

void predict_forward_cuda(float* uhat, const float* u, const float* W, int64_t B, int64_t N, int64_t J, int64_t Dout,
                          int64_t Din, PredictVariant var, cudaStream_t s) {
  const int64_t R = J * Dout;
  if (B <= 0 || N <= 0 || R <= 0) return;
  if (Din == 0) {
    MLCN_CUDA_CHECK(cudaMemsetAsync(uhat, 0, size_t(B * N * R) * sizeof(float), s));
    return;
  }
  if (var == PredictVariant::Blas) {
    predict_forward_blas(uhat, u, W, B, N, R, Din, s);
    return;
  }
  // Batch chunks so that there are about two blocks per SM even when N is small.
  const int64_t sms = sm_count(current_device());
  int64_t chunks = std::min<int64_t>(B, std::max<int64_t>(1, (2 * sms + N - 1) / N));
  int64_t bchunk = (B + chunks - 1) / chunks;
  bchunk = std::min<int64_t>(bchunk, std::max<int64_t>(1, 4096 / Din));
  chunks = (B + bchunk - 1) / bchunk;
  const int64_t smem = (R * Din + bchunk * Din) * 4;
  if (smem <= kSharedFloats * 4 && fits_int(N) && chunks <= 65535 && fits_int(B * N * R)) {
    predict_forward_kernel<<<dim3(unsigned(N), unsigned(chunks)), kThreads, size_t(smem), s>>>(
        uhat, u, W, int(B), int(N), int(R), int(Din), int(bchunk));
  } else {
    predict_forward_global_kernel<<<grid_for(B * N * R), kThreads, 0, s>>>(uhat, u, W, B, N, R, Din);
  }
  MLCN_CUDA_LAUNCH_CHECK();
}

void predict_backward_cuda(float* du, float* dW, const float* duhat, const float* u, const float* W, int64_t B,
                           int64_t N, int64_t J, int64_t Dout, int64_t Din, PredictVariant var, cudaStream_t s) {
  const int64_t R = J * Dout;
  if (B <= 0 || N <= 0 || R <= 0 || Din <= 0) return;
  MLCN_CHECK(dW != nullptr, "predict_backward: dW is required (frozen W is not supported)");
  if (var == PredictVariant::Blas) {
    predict_backward_blas(du, dW, duhat, u, W, B, N, R, Din, s);
    return;
  }
  const int64_t fixed = 2 * R * Din;
  const int64_t BC = std::min<int64_t>({32, B, (kSharedFloats - fixed) / (R + 1 + Din)});
  if (BC >= 1 && fits_int(N) && fits_int(B * N * R) && fits_int(B * N * Din)) {
    const size_t smem = size_t(fixed + BC * (R + 1 + Din)) * 4;
    predict_backward_kernel<<<unsigned(N), kThreads, smem, s>>>(du, dW, duhat, u, W, int(B), int(N), int(R), int(Din),
                                                                 int(BC));
    MLCN_CUDA_LAUNCH_CHECK();
    return;
  }
  predict_dW_global_kernel<<<grid_for(N * R * Din), kThreads, 0, s>>>(dW, duhat, u, B, N, R, Din);
  MLCN_CUDA_LAUNCH_CHECK();
  if (du) {
    predict_du_global_kernel<<<grid_for(B * N * Din), kThreads, 0, s>>>(du, duhat, W, B, N, R, Din);
    MLCN_CUDA_LAUNCH_CHECK();
  }
}

}  // namespace mlcn::kernels
