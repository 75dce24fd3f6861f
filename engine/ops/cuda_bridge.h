// The CUDA entry points the engine's ops dispatch to for tensors on a CUDA device: float32,
// raw device pointers, the same argument order as the CPU twins in engine/cpu/*.h, launched
// on the calling thread's current stream (set by the lane runtime, see cuda_context.h).
// Implemented in kernels/ when the CUDA backend is built, otherwise by ops/cuda_absent.cpp,
// where each one throws "not on this backend". No CUDA header is needed to include this file.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include "engine/cpu/conv.h"

namespace mlcn::cuda {

// Backend control. In builds without CUDA: compiled() and available() are false and
// device_count() is 0; the others throw.
bool compiled();
bool available();  // a usable GPU; the first call registers the device memory hooks
int device_count();
std::string device_name(int device);
std::string versions();  // "CUDA runtime x, cuDNN y, NCCL z"
void* create_stream(int device);
// The calling thread's current device and stream (every entry point below launches there).
void set_stream(int device, void* stream);
void stream_synchronize(void* stream);
// Events order streams without the host waiting: `stream` waits (on the GPU) for the work
// queued on another stream before record_event. Events are created once and reused.
void* create_event(int device);
void record_event(void* event, void* stream);
void stream_wait_event(void* stream, void* event);
void set_allow_tf32(bool allow);
struct MemoryStats {
  size_t in_use = 0, peak = 0, free = 0, total = 0;
};
MemoryStats memory_stats(int device);
void reset_peak(int device);

void add_inplace(float* dst, const float* src, int64_t n, int device);
void relu_forward(float* out, const float* in, int64_t n);
void relu_backward(float* din, const float* dout, const float* out, int64_t n);
void sigmoid_forward(float* out, const float* in, int64_t n);
void sigmoid_backward(float* din, const float* dout, const float* out, int64_t n);
void scale_inplace(float* x, float k, int64_t n);

void conv2d_forward(float* out, const float* in, const float* w, const float* b, const ConvShape& s);
void conv2d_backward(float* din, float* dw, float* db, const float* dout, const float* in, const float* w,
                     const ConvShape& s);
void depthwise_forward(float* out, const float* in, const float* w, const ConvShape& s);
void depthwise_backward(float* din, float* dw, const float* dout, const float* in, const float* w,
                        const ConvShape& s);
// C(M,N) = op(A) op(B) (+ C when beta = 1), row-major (cuBLAS underneath).
void gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, const float* A, const float* B, float beta, float* C);
void bias_add(float* out, const float* b, int64_t rows, int64_t cols);
void bias_backward(float* db, const float* dout, int64_t rows, int64_t cols);

void squash_forward(float* v, const float* s, int64_t rows, int64_t D);
void squash_backward(float* ds, const float* dv, const float* s, int64_t rows, int64_t D);
void predict_forward(float* uhat, const float* u, const float* W, int64_t B, int64_t N, int64_t J, int64_t Dout,
                     int64_t Din);
void predict_backward(float* du, float* dW, const float* duhat, const float* u, const float* W, int64_t B, int64_t N,
                      int64_t J, int64_t Dout, int64_t Din);
void routing_forward(float* v, const float* uhat, int64_t B, int64_t N, int64_t J, int64_t D, int iters, bool fast);
void routing_backward(float* duhat, const float* dv, const float* uhat, int64_t B, int64_t N, int64_t J, int64_t D,
                      int iters, bool stop_grad, bool fast);
void length_forward(float* y, const float* v, int64_t rows, int64_t D);
void length_backward(float* dv, const float* dy, const float* v, const float* y, int64_t rows, int64_t D);
// sel: host array (B); copied to the device by the implementation.
void mask_forward(float* out, const float* v, const int32_t* sel, int64_t B, int64_t J, int64_t D);
void mask_backward(float* dv, const float* dout, const int32_t* sel, int64_t B, int64_t J, int64_t D);
// scale: host array (L).
void lane_scale(float* out, const float* in, const float* scale, int64_t B, int64_t J, int64_t L);
// Copies part `index` of a (B, J, D_total) tensor: dst (B, J, D) <-> src columns [off, off + D).
void concat_copy(float* dst, const float* src, int64_t rows, int64_t D, int64_t D_total, int64_t off, bool into_total);

// Losses: the value is returned to the host (one float); labels are host arrays (B).
float margin_forward(const float* y, const int32_t* labels, int64_t B, int64_t J);
void margin_backward(float* dy, float g, const float* y, const int32_t* labels, int64_t B, int64_t J);
float mse_forward(const float* a, const float* target, int64_t n);
void mse_backward(float* da, float g, const float* a, const float* target, int64_t n);

void adam_update(float* p, const float* g, float* m, float* v, int64_t n, double lr_t, double b1, double b2,
                 double eps);
// One parameter tensor of a fused Adam step: p, g, m, v are (n) device arrays.
struct AdamSlice {
  float* p = nullptr;
  float* g = nullptr;
  float* m = nullptr;
  float* v = nullptr;
  int64_t n = 0;
};
// The Adam update of every slice in one launch (per 64 slices), each gradient zeroed after use.
// The step size lr_t is one float read from device memory when the kernel runs, so a captured
// CUDA graph replays with each step's rate. Same arithmetic as adam_update.
void adam_update_many(const AdamSlice* slices, int count, const float* lr_t, double b1, double b2, double eps);

// Page-locked host memory: the source of copies a captured graph performs at replay time.
void* pinned_alloc(size_t bytes);
void pinned_free(void* p);
// dst (device) <- src (pinned host), ordered on the current stream.
void copy_to_device_async(void* dst, const void* src, size_t bytes);

// CUDA graphs of the work the calling thread launches on its current stream. While capturing,
// that thread's device allocations come from the private pool `pool` (graph_pool_create), so
// the addresses baked into the graph are never handed to other work; the pool's memory stays
// reserved until graph_pool_release (after the graph and every tensor made during its capture
// are gone). Capture uses cudaStreamCaptureModeRelaxed.
uint64_t graph_pool_create();
void graph_capture_begin(uint64_t pool);
bool capturing();  // this thread is capturing a graph
// Ends the capture and instantiates it: the executable graph.
void* graph_capture_end();
// Ends a capture that failed (no-op when none is running); never throws.
void graph_capture_abort() noexcept;
void graph_launch(void* exec);
void graph_destroy(void* exec) noexcept;
void graph_pool_release(uint64_t pool, int device);

}  // namespace mlcn::cuda
