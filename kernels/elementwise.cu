// Elementwise kernels: accumulation (plain and scaled), ReLU (alone and fused with the bias add
// of a conv or dense layer, forward and backward), sigmoid, scaling, bias add and its column-sum
// backward. Grid-stride loops over int64 indices, so any n works with a bounded grid. Bias add
// moves float4s when the column count is a multiple of 4 and both arrays are 16-byte aligned
// (every conv and dense layer of the models: 8 to 256 channels), a quarter of the index math.
// Arithmetic is written as in engine/cpu/elementwise.cpp (expf, IEEE division; no fast-math);
// ReLU propagates NaN as the CPU twin does (a NaN input gives a NaN output and gradient).
#include "kernels/cuda_context.h"

#include <cstdint>

#include "kernels/device_math.cuh"
#include "kernels/elementwise.cuh"

namespace mlcn::kernels {
namespace {

__global__ void add_inplace_kernel(float* dst, const float* src, int64_t n) {
  MLCN_GRID_STRIDE(i, n) dst[i] += src[i];
}

__global__ void axpy_kernel(float* y, const float* x, float k, int64_t n) {
  MLCN_GRID_STRIDE(i, n) y[i] += k * x[i];
}

__global__ void relu_forward_kernel(float* out, const float* in, int64_t n) {
  MLCN_GRID_STRIDE(i, n) out[i] = in[i] > 0.f || in[i] != in[i] ? in[i] : 0.f;
}

__global__ void relu_backward_kernel(float* din, const float* dout, const float* out, int64_t n) {
  MLCN_GRID_STRIDE(i, n) din[i] += out[i] > 0.f ? dout[i] : out[i] != out[i] ? out[i] : 0.f;
}

__global__ void sigmoid_forward_kernel(float* out, const float* in, int64_t n) {
  MLCN_GRID_STRIDE(i, n) out[i] = 1.f / (1.f + expf(-in[i]));
}

__global__ void sigmoid_backward_kernel(float* din, const float* dout, const float* out, int64_t n) {
  MLCN_GRID_STRIDE(i, n) din[i] += dout[i] * out[i] * (1.f - out[i]);
}

__global__ void scale_inplace_kernel(float* x, float k, int64_t n) {
  MLCN_GRID_STRIDE(i, n) x[i] *= k;
}

__global__ void bias_add_kernel(float* out, const float* b, int64_t rows, int64_t cols) {
  MLCN_GRID_STRIDE(i, rows * cols) out[i] += b[i % cols];
}

// The same on groups of 4 columns: out (rows, 4 cols4), b (4 cols4), both 16-byte aligned.
__global__ void bias_add4_kernel(float4* out, const float4* b, int64_t rows, int64_t cols4) {
  MLCN_GRID_STRIDE(i, rows * cols4) {
    float4 o = out[i];
    const float4 c = b[i % cols4];
    o.x += c.x, o.y += c.y, o.z += c.z, o.w += c.w;
    out[i] = o;
  }
}

// out = relu(out + b) in place (b may be null), and the same on groups of 4 columns (out and b
// 16-byte aligned, cols = 4 cols4).
__device__ __forceinline__ float relu1(float x) { return x > 0.f || x != x ? x : 0.f; }
__global__ void bias_relu_kernel(float* out, const float* b, int64_t rows, int64_t cols) {
  MLCN_GRID_STRIDE(i, rows * cols) out[i] = relu1(b ? out[i] + b[i % cols] : out[i]);
}
__global__ void bias_relu4_kernel(float4* out, const float4* b, int64_t rows, int64_t cols4) {
  MLCN_GRID_STRIDE(i, rows * cols4) {
    float4 o = out[i];
    const float4 c = b[i % cols4];
    o.x = relu1(o.x + c.x), o.y = relu1(o.y + c.y), o.z = relu1(o.z + c.z), o.w = relu1(o.w + c.w);
    out[i] = o;
  }
}

// The column-sum terms: dout itself (bias backward), or ReLU's gradient of dout, also stored to
// dpre (the fused ReLU + bias backward; each element is visited once).
struct PlainTerm {
  const float* dout;
  __device__ float operator()(int64_t i) const { return dout[i]; }
};
struct ReluTerm {
  const float* dout;
  const float* out;
  float* dpre;
  __device__ float operator()(int64_t i) const {
    const float g = out[i] > 0.f ? dout[i] : out[i] != out[i] ? out[i] : 0.f;
    dpre[i] = g;
    return g;
  }
};

// Block (32 columns x 8 row lanes) sums a chunk of rows for 32 columns. With one chunk per
// column (gridDim.y == 1) the result is added directly and is deterministic; with several the
// chunks meet through atomicAdd, so the last bits depend on their order. db null: terms only.
constexpr int kBiasRows = 8;
template <class Term> __global__ void column_sum_kernel(float* db, Term term, int64_t rows, int64_t cols) {
  __shared__ float part[kBiasRows][33];
  const int64_t c = blockIdx.x * int64_t(32) + threadIdx.x;
  const int64_t chunk = (rows + gridDim.y - 1) / gridDim.y;
  const int64_t r0 = blockIdx.y * chunk;
  const int64_t r1 = r0 + chunk < rows ? r0 + chunk : rows;
  float acc = 0.f;
  if (c < cols)
    for (int64_t r = r0 + threadIdx.y; r < r1; r += kBiasRows) acc += term(r * cols + c);
  part[threadIdx.y][threadIdx.x] = acc;
  __syncthreads();
  if (db && threadIdx.y == 0 && c < cols) {
    float sum = 0.f;
    for (int k = 0; k < kBiasRows; ++k) sum += part[k][threadIdx.x];
    if (gridDim.y == 1) db[c] += sum;
    else atomicAdd(db + c, sum);
  }
}

// The column-sum grid: 32 columns per block in x; in y, chunks of at least 64 rows, about 8
// blocks per SM in all.
dim3 column_sum_grid(int64_t rows, int64_t cols) {
  const int64_t gx = (cols + 31) / 32;
  int64_t gy = (rows + 63) / 64;
  const int64_t cap = (int64_t(sm_count(current_device())) * 8 + gx - 1) / gx;
  if (gy > cap) gy = cap;
  if (gy > 65535) gy = 65535;
  if (gy < 1) gy = 1;
  MLCN_CHECK(gx <= 0x7fffffff, "bias backward: " << cols << " columns");
  return dim3(unsigned(gx), unsigned(gy));
}

}  // namespace

void add_inplace_cuda(float* dst, const float* src, int64_t n, cudaStream_t s) {
  if (n <= 0) return;
  add_inplace_kernel<<<grid_for(n), kThreads, 0, s>>>(dst, src, n);
  MLCN_CUDA_LAUNCH_CHECK();
}

void axpy_cuda(float* y, const float* x, float k, int64_t n, cudaStream_t s) {
  if (n <= 0) return;
  axpy_kernel<<<grid_for(n), kThreads, 0, s>>>(y, x, k, n);
  MLCN_CUDA_LAUNCH_CHECK();
}

void relu_forward_cuda(float* out, const float* in, int64_t n, cudaStream_t s) {
  if (n <= 0) return;
  relu_forward_kernel<<<grid_for(n), kThreads, 0, s>>>(out, in, n);
  MLCN_CUDA_LAUNCH_CHECK();
}

void relu_backward_cuda(float* din, const float* dout, const float* out, int64_t n, cudaStream_t s) {
  if (n <= 0) return;
  relu_backward_kernel<<<grid_for(n), kThreads, 0, s>>>(din, dout, out, n);
  MLCN_CUDA_LAUNCH_CHECK();
}

void sigmoid_forward_cuda(float* out, const float* in, int64_t n, cudaStream_t s) {
  if (n <= 0) return;
  sigmoid_forward_kernel<<<grid_for(n), kThreads, 0, s>>>(out, in, n);
  MLCN_CUDA_LAUNCH_CHECK();
}

void sigmoid_backward_cuda(float* din, const float* dout, const float* out, int64_t n, cudaStream_t s) {
  if (n <= 0) return;
  sigmoid_backward_kernel<<<grid_for(n), kThreads, 0, s>>>(din, dout, out, n);
  MLCN_CUDA_LAUNCH_CHECK();
}

void scale_inplace_cuda(float* x, float k, int64_t n, cudaStream_t s) {
  if (n <= 0) return;
  scale_inplace_kernel<<<grid_for(n), kThreads, 0, s>>>(x, k, n);
  MLCN_CUDA_LAUNCH_CHECK();
}

void bias_add_cuda(float* out, const float* b, int64_t rows, int64_t cols, cudaStream_t s) {
  if (rows <= 0 || cols <= 0) return;
  if (cols % 4 == 0 && (reinterpret_cast<uintptr_t>(out) | reinterpret_cast<uintptr_t>(b)) % 16 == 0) {
    bias_add4_kernel<<<grid_for(rows * cols / 4), kThreads, 0, s>>>(reinterpret_cast<float4*>(out),
                                                                    reinterpret_cast<const float4*>(b), rows, cols / 4);
    MLCN_CUDA_LAUNCH_CHECK();
    return;
  }
  bias_add_kernel<<<grid_for(rows * cols), kThreads, 0, s>>>(out, b, rows, cols);
  MLCN_CUDA_LAUNCH_CHECK();
}

void bias_backward_cuda(float* db, const float* dout, int64_t rows, int64_t cols, cudaStream_t s) {
  if (rows <= 0 || cols <= 0) return;
  column_sum_kernel<<<column_sum_grid(rows, cols), dim3(32, kBiasRows), 0, s>>>(db, PlainTerm{dout}, rows, cols);
  MLCN_CUDA_LAUNCH_CHECK();
}

void bias_relu_forward_cuda(float* out, const float* b, int64_t rows, int64_t cols, cudaStream_t s) {
  if (rows <= 0 || cols <= 0) return;
  if (b && cols % 4 == 0 && (reinterpret_cast<uintptr_t>(out) | reinterpret_cast<uintptr_t>(b)) % 16 == 0) {
    bias_relu4_kernel<<<grid_for(rows * cols / 4), kThreads, 0, s>>>(reinterpret_cast<float4*>(out),
                                                                     reinterpret_cast<const float4*>(b), rows, cols / 4);
    MLCN_CUDA_LAUNCH_CHECK();
    return;
  }
  bias_relu_kernel<<<grid_for(rows * cols), kThreads, 0, s>>>(out, b, rows, cols);
  MLCN_CUDA_LAUNCH_CHECK();
}

void relu_bias_backward_cuda(float* dpre, float* db, const float* dout, const float* out, int64_t rows, int64_t cols,
                             cudaStream_t s) {
  if (rows <= 0 || cols <= 0) return;
  column_sum_kernel<<<column_sum_grid(rows, cols), dim3(32, kBiasRows), 0, s>>>(db, ReluTerm{dout, out, dpre}, rows,
                                                                                cols);
  MLCN_CUDA_LAUNCH_CHECK();
}

}  // namespace mlcn::kernels
