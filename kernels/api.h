// The one seam between the engine and the CUDA backend: a table of plain function pointers
// (raw device pointers, sizes, and an explicit Stream; no CUDA header, nothing of the engine).
// kernels/api.cu fills it from the launchers (*.cuh), the caching allocator and the context;
// the engine reaches it only through engine/core/backend.h, which throws "built without CUDA"
// in CPU-only builds. Semantics of each op entry: as its CPU twin in engine/cpu (forwards
// assign their output, backwards accumulate into input gradients; "may be null" marks optional
// gradients). Every entry makes the stream's device current for the call. docs/ops.md.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include "base/adam_slice.h"  // defines: AdamSlice
#include "base/conv_shape.h"  // defines: ConvShape
#include "base/stream.h"      // defines: Stream

namespace mlcn::kernels {

// Dynamic routing with J > 1: Fused (one block per image, state in shared memory), OnePass (the
// fused kernels with a forward that reads uhat once per iteration instead of twice: the
// agreement and softmax folded into the weighted sum), Unfused (the reference, one kernel per
// stage), Split (the unfused stages with each image's input capsules spread over several blocks,
// for batches too small to fill the GPU with one block per image), Cluster (Split in one kernel:
// an image's blocks form a thread-block cluster and add their partial sums through distributed
// shared memory; sm_90 and later, else Split), Auto (Fused when it fits the device's shared
// memory, else Unfused; OnePass, Split and Cluster are chosen only explicitly until a GPU has
// measured them).
enum class RoutingVariant { Auto, Fused, Unfused, Split, OnePass, Cluster };

// The prediction transform (uhat = W . u) and its backward: Shared (the handwritten kernels, W_i
// staged in shared memory, one block per input capsule), Blas (one cuBLAS strided-batched GEMM
// per direction, batched over the input capsules), Auto (Shared until a GPU has measured both:
// bench_kernels times both).
enum class PredictVariant { Auto, Shared, Blas };

struct MemoryInfo {
  size_t free = 0, total = 0;  // the driver's view (cudaMemGetInfo)
  size_t in_use = 0;           // bytes in live allocations (size-class rounded)
  size_t peak = 0;             // high-water mark of in_use since start or the last reset
  size_t reserved = 0;         // bytes obtained from cudaMalloc (in use + cached)
  size_t mallocs = 0;          // cudaMalloc calls so far
};

struct Api {
  // Devices and switches. device_count never throws: 0 without a driver or a device.
  int (*device_count)();
  std::string (*device_name)(int device);
  std::string (*versions)();  // "CUDA runtime x, cuDNN y, NCCL z"
  MemoryInfo (*memory_info)(int device);
  void (*reset_peak)(int device);
  void (*empty_cache)(int device);  // cached unused blocks back to the driver
  // TF32 math for cuBLAS and cuDNN (off by default, so float32 matches the CPU twins).
  void (*set_allow_tf32)(bool allow);
  bool (*allow_tf32)();
  void (*set_routing_variant)(RoutingVariant v);
  RoutingVariant (*routing_variant)();
  void (*set_predict_variant)(PredictVariant v);
  PredictVariant (*predict_variant)();

  // Streams and events. Created streams are non-blocking and never destroyed; events are reused.
  Stream (*create_stream)(int device);
  void (*synchronize)(Stream s);  // the host waits for the work queued on s
  void* (*create_event)(int device);
  void (*record_event)(void* event, Stream s);
  void (*wait_event)(Stream s, void* event);  // s waits (on the GPU) for the event's work
  // s waits for everything queued so far on its device's setup stream (Stream::setup).
  void (*order_after_setup)(Stream s);

  // Device memory, ordered on s. alloc serves from the caching allocator's free list of s (a
  // freed block is reused only by allocations on the stream it was allocated on). copy: device
  // -1 is the host; copies into host memory and between two GPUs wait for s; a host source in
  // pageable memory may be reused as soon as copy returns (up to kernels::kStagingSlotBytes it is
  // sent from pinned staging, so the copy does not wait for s's earlier work); a pinned one
  // (pinned_alloc) is read when the copy runs, which for a captured graph is each replay.
  void* (*alloc)(Stream s, size_t bytes);
  void (*release)(void* p);
  void (*fill_zero)(Stream s, void* p, size_t bytes);
  void (*copy)(Stream s, void* dst, int dst_device, const void* src, int src_device, size_t bytes);
  void* (*pinned_alloc)(size_t bytes);
  void (*pinned_free)(void* p);

  // CUDA graphs of the work queued on one stream (relaxed capture). While s captures, its
  // allocations come from the private pool (graph_pool_create), kept until graph_pool_release.
  uint64_t (*graph_pool_create)();
  void (*capture_begin)(Stream s, uint64_t pool);
  void* (*capture_end)(Stream s);   // the instantiated executable graph
  void (*capture_abort)(Stream s);  // ends a failed capture; never throws
  void (*graph_launch)(void* exec, Stream s);
  void (*graph_destroy)(void* exec);  // never throws
  void (*graph_pool_release)(uint64_t pool, int device);

  // Ops (float32). Shapes as the CPU twins in engine/cpu.
  void (*add_inplace)(Stream s, float* dst, const float* src, int64_t n);  // dst (n) += src (n)
  void (*axpy)(Stream s, float* y, const float* x, float k, int64_t n);      // y (n) += k x (n)
  void (*relu_forward)(Stream s, float* out, const float* in, int64_t n);  // (n)
  void (*relu_backward)(Stream s, float* din, const float* dout, const float* out, int64_t n);
  void (*sigmoid_forward)(Stream s, float* out, const float* in, int64_t n);  // (n)
  void (*sigmoid_backward)(Stream s, float* din, const float* dout, const float* out, int64_t n);
  void (*scale_inplace)(Stream s, float* x, float k, int64_t n);  // x (n) *= k
  // out (B, OH, OW, K) = conv(in (B, H, W, C), w (K, kh, kw, C/groups)) + b (K) [b may be null]
  void (*conv2d_forward)(Stream s, float* out, const float* in, const float* w, const float* b, const ConvShape& cs);
  // din (B, H, W, C), dw, db += [each may be null]
  void (*conv2d_backward)(Stream s, float* din, float* dw, float* db, const float* dout, const float* in,
                          const float* w, const ConvShape& cs);
  // out (B, OH, OW, C) = depthwise conv of in (B, H, W, C) with w (C, kh, kw)
  void (*depthwise_forward)(Stream s, float* out, const float* in, const float* w, const ConvShape& cs);
  void (*depthwise_backward)(Stream s, float* din, float* dw, const float* dout, const float* in, const float* w,
                             const ConvShape& cs);
  // C (M, N) = op(A) op(B) (+ C when beta = 1), row-major
  void (*gemm)(Stream s, bool ta, bool tb, int64_t M, int64_t N, int64_t K, const float* A, const float* B, float beta,
               float* C);
  void (*bias_add)(Stream s, float* out, const float* b, int64_t rows, int64_t cols);  // out (rows, cols) += b (cols)
  void (*bias_backward)(Stream s, float* db, const float* dout, int64_t rows, int64_t cols);  // db (cols) +=
  // The fused bias + ReLU of a layer: out (rows, cols) = relu(out + b (cols)) [b may be null];
  // backward: dpre (rows, cols) = dout where out > 0 (assigned), db (cols) += its column sums [may be null]
  void (*bias_relu_forward)(Stream s, float* out, const float* b, int64_t rows, int64_t cols);
  void (*relu_bias_backward)(Stream s, float* dpre, float* db, const float* dout, const float* out, int64_t rows,
                             int64_t cols);
  void (*squash_forward)(Stream s, float* v, const float* in, int64_t rows, int64_t D);       // (rows, D)
  void (*squash_backward)(Stream s, float* ds, const float* dv, const float* in, int64_t rows, int64_t D);
  // uhat (B, N, J, Dout) = W (N, J, Dout, Din) . u (B, N, Din), with the variant set by set_predict_variant
  void (*predict_forward)(Stream s, float* uhat, const float* u, const float* W, int64_t B, int64_t N, int64_t J,
                          int64_t Dout, int64_t Din);
  // du (B, N, Din) [may be null], dW (N, J, Dout, Din) +=
  void (*predict_backward)(Stream s, float* du, float* dW, const float* duhat, const float* u, const float* W,
                           int64_t B, int64_t N, int64_t J, int64_t Dout, int64_t Din);
  // v (B, J, D) from uhat (B, N, J, D), with the variant set by set_routing_variant
  void (*routing_forward)(Stream s, float* v, const float* uhat, int64_t B, int64_t N, int64_t J, int64_t D, int iters,
                          bool fast);
  void (*routing_backward)(Stream s, float* duhat, const float* dv, const float* uhat, int64_t B, int64_t N, int64_t J,
                           int64_t D, int iters, bool stop_grad, bool fast);
  void (*length_forward)(Stream s, float* y, const float* v, int64_t rows, int64_t D);  // y (rows), v (rows, D)
  void (*length_backward)(Stream s, float* dv, const float* dy, const float* v, const float* y, int64_t rows,
                          int64_t D);
  // out (B, J*D), v (B, J, D); sel: device (B)
  void (*mask_forward)(Stream s, float* out, const float* v, const int32_t* sel, int64_t B, int64_t J, int64_t D);
  void (*mask_backward)(Stream s, float* dv, const float* dout, const int32_t* sel, int64_t B, int64_t J, int64_t D);
  // out (B, J, L) = in (B, J, L) * scale (L, device)
  void (*lane_scale)(Stream s, float* out, const float* in, const float* scale, int64_t B, int64_t J, int64_t L);
  // into_total: dst (rows, D_total) columns [off, off+D) = src (rows, D); else dst (rows, D) += those columns of src
  void (*concat_copy)(Stream s, float* dst, const float* src, int64_t rows, int64_t D, int64_t D_total, int64_t off,
                      bool into_total);
  // Losses, all in device memory (nothing waits for s, so the head can be captured): the mean is
  // written to loss (1); labels (B); a backward adds g (1, the loss's gradient) times dloss.
  void (*margin_forward)(Stream s, float* loss, const float* y, const int32_t* labels, int64_t B, int64_t J);  // y (B, J)
  void (*margin_backward)(Stream s, float* dy, const float* g, const float* y, const int32_t* labels, int64_t B,
                          int64_t J);
  void (*mse_forward)(Stream s, float* loss, const float* a, const float* target, int64_t n);  // a, target (n)
  void (*mse_backward)(Stream s, float* da, const float* g, const float* a, const float* target, int64_t n);
  // p, g, m, v (n); keep = 1 - lr wd (decoupled weight decay, engine/cpu/adam.h; 1: none)
  void (*adam_update)(Stream s, float* p, const float* g, float* m, float* v, int64_t n, double lr_t, double b1,
                      double b2, double eps, double keep);
  // Every slice in one launch (per 64 slices), gradients zeroed; rate: two floats in device
  // memory, lr_t and keep.
  void (*adam_update_many)(Stream s, const AdamSlice* slices, int count, const float* rate, double b1, double b2,
                           double eps);
  // NaN/Inf elements in arrays[k] (sizes[k]) for k < count, float32 on s's device; the tables are
  // host arrays. One device counter, one 8-byte copy back (waits for s). CPU twin:
  // cpu::count_non_finite. The training loop's guard (engine/train/finite_guard.cpp).
  int64_t (*count_non_finite)(Stream s, const float* const* arrays, const int64_t* sizes, int count);
};

// The table of this build's CUDA backend (kernels/api.cu).
const Api& api();

}  // namespace mlcn::kernels
