// The backend table of kernels/api.h: each entry makes the stream's device current and calls a
// launcher (*.cuh), the caching allocator (allocator.h) or the CUDA runtime on that stream.
#include "kernels/cuda_context.h"

#include <nccl.h>  // defines: NCCL_VERSION_CODE (header only; nothing is linked)

#include <map>
#include <mutex>
#include <set>
#include <string>
#include <utility>

#include "kernels/adam.cuh"
#include "kernels/allocator.h"
#include "kernels/api.h"
#include "kernels/caps_misc.cuh"
#include "kernels/conv.cuh"
#include "kernels/elementwise.cuh"
#include "kernels/finite.cuh"
#include "kernels/gemm.cuh"
#include "kernels/graph.cuh"
#include "kernels/losses.cuh"
#include "kernels/predict.cuh"
#include "kernels/routing.cuh"
#include "kernels/squash.cuh"

namespace mlcn::kernels {
namespace {

// Runs launcher(args..., stream) with the stream's device current.
#define MLCN_ON(s, call)                 \
  DeviceGuard guard_(s.device);          \
  const cudaStream_t st_ = stream_of(s); \
  return call

std::string device_name(int device) {
  cudaDeviceProp p{};
  MLCN_CUDA_CHECK(cudaGetDeviceProperties(&p, device));
  return p.name;
}

std::string versions() {
  int rt = 0;
  (void)cudaRuntimeGetVersion(&rt);
  return "CUDA runtime " + std::to_string(rt) + ", cuDNN " + std::to_string(cudnnGetVersion()) + ", NCCL " +
         std::to_string(NCCL_VERSION_CODE);
}

Stream create_stream(int device) {
  DeviceGuard g(device);
  cudaStream_t s = nullptr;
  MLCN_CUDA_CHECK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
  return {device, s};
}

void synchronize(Stream s) { MLCN_CUDA_CHECK(cudaStreamSynchronize(stream_of(s))); }

void* create_event(int device) {
  DeviceGuard g(device);
  cudaEvent_t e = nullptr;
  MLCN_CUDA_CHECK(cudaEventCreateWithFlags(&e, cudaEventDisableTiming));
  return e;
}

void record_event(void* event, Stream s) {
  MLCN_CUDA_CHECK(cudaEventRecord(static_cast<cudaEvent_t>(event), stream_of(s)));
}

void wait_event(Stream s, void* event) {
  MLCN_CUDA_CHECK(cudaStreamWaitEvent(stream_of(s), static_cast<cudaEvent_t>(event), 0));
}

void order_after_setup(Stream s) {
  static std::mutex mu;
  static auto* events = new std::map<int, void*>();
  std::lock_guard<std::mutex> lock(mu);
  void*& e = (*events)[s.device];
  if (!e) e = create_event(s.device);
  record_event(e, Stream::setup(s.device));
  wait_event(s, e);
}

void* alloc(Stream s, size_t bytes) { return device_allocate(bytes, s.device, stream_of(s)); }

void fill_zero(Stream s, void* p, size_t bytes) {
  DeviceGuard g(s.device);
  MLCN_CUDA_CHECK(cudaMemsetAsync(p, 0, bytes, stream_of(s)));
}

// Peer access both ways between two GPUs, enabled once per pair where the hardware allows it, so
// copies between them go over NVLink/PCIe directly instead of staging through the host.
void enable_peer_access(int a, int b) {
  static std::mutex mu;
  static std::set<std::pair<int, int>> tried;
  std::lock_guard<std::mutex> lock(mu);
  for (auto [from, to] : {std::pair<int, int>{a, b}, std::pair<int, int>{b, a}}) {
    if (!tried.insert({from, to}).second) continue;
    int can = 0;
    MLCN_CUDA_CHECK(cudaDeviceCanAccessPeer(&can, from, to));
    if (!can) continue;
    DeviceGuard g(from);
    const cudaError_t e = cudaDeviceEnablePeerAccess(to, 0);
    if (e == cudaErrorPeerAccessAlreadyEnabled) cudaGetLastError();  // enabled elsewhere: fine
    else MLCN_CUDA_CHECK(e);
  }
}

// Host-bound copies wait for the stream (the caller reads the data next); host-to-device copies
// from pageable memory are staged before cudaMemcpyAsync returns; copies between two GPUs wait,
// since the reader may be on another stream (the lane runtime orders its own with events).
void copy(Stream s, void* dst, int dst_device, const void* src, int src_device, size_t bytes) {
  DeviceGuard g(s.device);
  const cudaStream_t st = stream_of(s);
  if (dst_device >= 0 && src_device >= 0 && dst_device != src_device) {
    enable_peer_access(dst_device, src_device);
    MLCN_CUDA_CHECK(cudaMemcpyPeerAsync(dst, dst_device, src, src_device, bytes, st));
    MLCN_CUDA_CHECK(cudaStreamSynchronize(st));
    return;
  }
  if (dst_device >= 0 && src_device < 0 && staged_upload(dst, src, bytes, st)) return;  // small pageable upload
  MLCN_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDefault, st));
  if (dst_device < 0) MLCN_CUDA_CHECK(cudaStreamSynchronize(st));
}

void capture_begin(Stream s, uint64_t pool) { graph_capture_begin(stream_of(s), pool); }
void* capture_end(Stream s) { return graph_capture_end(stream_of(s)); }
void capture_abort(Stream s) {
  if (s.device >= 0) graph_capture_abort(stream_of(s));
}
void launch_graph(void* exec, Stream s) { graph_launch(exec, stream_of(s)); }
void destroy_graph(void* exec) { graph_destroy(exec); }

kernels::Api make_api() {
  kernels::Api a;
  a.device_count = device_count;
  a.device_name = device_name;
  a.versions = versions;
  a.memory_info = memory_info;
  a.reset_peak = allocator_reset_peak;
  a.empty_cache = allocator_empty_cache;
  a.set_allow_tf32 = set_allow_tf32;
  a.allow_tf32 = allow_tf32;
  a.set_routing_variant = set_routing_variant;
  a.routing_variant = routing_variant;
  a.set_predict_variant = set_predict_variant;
  a.predict_variant = predict_variant;
  a.create_stream = create_stream;
  a.synchronize = synchronize;
  a.create_event = create_event;
  a.record_event = record_event;
  a.wait_event = wait_event;
  a.order_after_setup = order_after_setup;
  a.alloc = alloc;
  a.release = device_release;
  a.fill_zero = fill_zero;
  a.copy = copy;
  a.pinned_alloc = pinned_alloc;
  a.pinned_free = pinned_free;
  a.graph_pool_create = graph_pool_create;
  a.capture_begin = capture_begin;
  a.capture_end = capture_end;
  a.capture_abort = capture_abort;
  a.graph_launch = launch_graph;
  a.graph_destroy = destroy_graph;
  a.graph_pool_release = graph_pool_release;

  a.add_inplace = [](Stream s, float* dst, const float* src, int64_t n) {
    MLCN_ON(s, add_inplace_cuda(dst, src, n, st_));
  };
  a.axpy = [](Stream s, float* y, const float* x, float k, int64_t n) { MLCN_ON(s, axpy_cuda(y, x, k, n, st_)); };
  a.relu_forward = [](Stream s, float* out, const float* in, int64_t n) {
    MLCN_ON(s, relu_forward_cuda(out, in, n, st_));
  };
  a.relu_backward = [](Stream s, float* din, const float* dout, const float* out, int64_t n) {
    MLCN_ON(s, relu_backward_cuda(din, dout, out, n, st_));
  };
  a.sigmoid_forward = [](Stream s, float* out, const float* in, int64_t n) {
    MLCN_ON(s, sigmoid_forward_cuda(out, in, n, st_));
  };
  a.sigmoid_backward = [](Stream s, float* din, const float* dout, const float* out, int64_t n) {
    MLCN_ON(s, sigmoid_backward_cuda(din, dout, out, n, st_));
  };
  a.scale_inplace = [](Stream s, float* x, float k, int64_t n) { MLCN_ON(s, scale_inplace_cuda(x, k, n, st_)); };
  a.conv2d_forward = [](Stream s, float* out, const float* in, const float* w, const float* b, const ConvShape& cs) {
    MLCN_ON(s, conv2d_forward_cuda(out, in, w, b, cs, st_));
  };
  a.conv2d_backward = [](Stream s, float* din, float* dw, float* db, const float* dout, const float* in, const float* w,
                         const ConvShape& cs) { MLCN_ON(s, conv2d_backward_cuda(din, dw, db, dout, in, w, cs, st_)); };
  a.depthwise_forward = [](Stream s, float* out, const float* in, const float* w, const ConvShape& cs) {
    MLCN_ON(s, depthwise_forward_cuda(out, in, w, cs, st_));
  };
  a.depthwise_backward = [](Stream s, float* din, float* dw, const float* dout, const float* in, const float* w,
                            const ConvShape& cs) {
    MLCN_ON(s, depthwise_backward_cuda(din, dw, dout, in, w, cs, st_));
  };
  a.gemm = [](Stream s, bool ta, bool tb, int64_t M, int64_t N, int64_t K, const float* A, const float* B, float beta,
              float* C) { MLCN_ON(s, gemm_cuda(ta, tb, M, N, K, A, B, beta, C, st_)); };
  a.bias_add = [](Stream s, float* out, const float* b, int64_t rows, int64_t cols) {
    MLCN_ON(s, bias_add_cuda(out, b, rows, cols, st_));
  };
  a.bias_backward = [](Stream s, float* db, const float* dout, int64_t rows, int64_t cols) {
    MLCN_ON(s, bias_backward_cuda(db, dout, rows, cols, st_));
  };
  a.bias_relu_forward = [](Stream s, float* out, const float* b, int64_t rows, int64_t cols) {
    MLCN_ON(s, bias_relu_forward_cuda(out, b, rows, cols, st_));
  };
  a.relu_bias_backward = [](Stream s, float* dpre, float* db, const float* dout, const float* out, int64_t rows,
                            int64_t cols) { MLCN_ON(s, relu_bias_backward_cuda(dpre, db, dout, out, rows, cols, st_)); };
  a.squash_forward = [](Stream s, float* v, const float* in, int64_t rows, int64_t D) {
    MLCN_ON(s, squash_forward_cuda(v, in, rows, D, st_));
  };
  a.squash_backward = [](Stream s, float* ds, const float* dv, const float* in, int64_t rows, int64_t D) {
    MLCN_ON(s, squash_backward_cuda(ds, dv, in, rows, D, st_));
  };
  a.predict_forward = [](Stream s, float* uhat, const float* u, const float* W, int64_t B, int64_t N, int64_t J,
                         int64_t Dout,
                         int64_t Din) { MLCN_ON(s, predict_forward_cuda(uhat, u, W, B, N, J, Dout, Din, predict_variant(), st_)); };
  a.predict_backward = [](Stream s, float* du, float* dW, const float* duhat, const float* u, const float* W, int64_t B,
                          int64_t N, int64_t J, int64_t Dout, int64_t Din) {
    MLCN_ON(s, predict_backward_cuda(du, dW, duhat, u, W, B, N, J, Dout, Din, predict_variant(), st_));
  };
  a.routing_forward = [](Stream s, float* v, const float* uhat, int64_t B, int64_t N, int64_t J, int64_t D, int iters,
                         bool fast) {
    MLCN_ON(s, routing_forward_cuda(v, uhat, B, N, J, D, iters, fast, routing_variant(), st_));
  };
  a.routing_backward = [](Stream s, float* duhat, const float* dv, const float* uhat, int64_t B, int64_t N, int64_t J,
                          int64_t D, int iters, bool stop_grad, bool fast) {
    MLCN_ON(s, routing_backward_cuda(duhat, dv, uhat, B, N, J, D, iters, stop_grad, fast, routing_variant(), st_));
  };
  a.length_forward = [](Stream s, float* y, const float* v, int64_t rows, int64_t D) {
    MLCN_ON(s, length_forward_cuda(y, v, rows, D, st_));
  };
  a.length_backward = [](Stream s, float* dv, const float* dy, const float* v, const float* y, int64_t rows,
                         int64_t D) { MLCN_ON(s, length_backward_cuda(dv, dy, v, y, rows, D, st_)); };
  a.mask_forward = [](Stream s, float* out, const float* v, const int32_t* sel, int64_t B, int64_t J, int64_t D) {
    MLCN_ON(s, mask_forward_cuda(out, v, sel, B, J, D, st_));
  };
  a.mask_backward = [](Stream s, float* dv, const float* dout, const int32_t* sel, int64_t B, int64_t J, int64_t D) {
    MLCN_ON(s, mask_backward_cuda(dv, dout, sel, B, J, D, st_));
  };
  a.lane_scale = [](Stream s, float* out, const float* in, const float* scale, int64_t B, int64_t J, int64_t L) {
    MLCN_ON(s, lane_scale_cuda(out, in, scale, B, J, L, st_));
  };
  a.concat_copy = [](Stream s, float* dst, const float* src, int64_t rows, int64_t D, int64_t D_total, int64_t off,
                     bool into_total) {
    MLCN_ON(s, concat_copy_cuda(dst, src, rows, D, D_total, off, into_total, st_));
  };
  a.margin_forward = [](Stream s, float* loss, const float* y, const int32_t* labels, int64_t B, int64_t J) {
    MLCN_ON(s, margin_forward_cuda(loss, y, labels, B, J, st_));
  };
  a.margin_backward = [](Stream s, float* dy, const float* g, const float* y, const int32_t* labels, int64_t B,
                         int64_t J) { MLCN_ON(s, margin_backward_cuda(dy, g, y, labels, B, J, st_)); };
  a.mse_forward = [](Stream s, float* loss, const float* x, const float* target, int64_t n) {
    MLCN_ON(s, mse_forward_cuda(loss, x, target, n, st_));
  };
  a.mse_backward = [](Stream s, float* da, const float* g, const float* x, const float* target, int64_t n) {
    MLCN_ON(s, mse_backward_cuda(da, g, x, target, n, st_));
  };
  a.adam_update = [](Stream s, float* p, const float* g, float* m, float* v, int64_t n, double lr_t, double b1,
                     double b2, double eps, double keep) {
    MLCN_ON(s, adam_update_cuda(p, g, m, v, n, lr_t, b1, b2, eps, keep, st_));
  };
  a.adam_update_many = [](Stream s, const AdamSlice* slices, int count, const float* rate, double b1, double b2,
                          double eps) { MLCN_ON(s, adam_update_many_cuda(slices, count, rate, b1, b2, eps, st_)); };
  a.count_non_finite = [](Stream s, const float* const* arrays, const int64_t* sizes, int count) {
    MLCN_ON(s, count_non_finite_cuda(arrays, sizes, count, st_));
  };
  return a;
}

#undef MLCN_ON

}  // namespace
}  // namespace mlcn::kernels

namespace mlcn::kernels {

const Api& api() {
  static const Api table = make_api();
  return table;
}

}  // namespace mlcn::kernels
