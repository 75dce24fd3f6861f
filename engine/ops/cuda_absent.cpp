// Stand-ins for the CUDA entry points in builds without the CUDA backend: each throws, so a
// tensor placed on a GPU is an error, never a silent CPU fallback. One per declaration in cuda_bridge.h.
#include "base/check.h"
#include "engine/ops/cuda_bridge.h"

namespace mlcn::cuda {

bool compiled() { return false; }
bool available() { return false; }
int device_count() { return 0; }
std::string device_name(int) { MLCN_FAIL("device_name: not on this backend (built without CUDA)"); }
std::string versions() { return "built without CUDA"; }
void* create_stream(int) { MLCN_FAIL("create_stream: not on this backend (built without CUDA)"); }
void set_stream(int, void*) { MLCN_FAIL("set_stream: not on this backend (built without CUDA)"); }
void stream_synchronize(void*) { MLCN_FAIL("stream_synchronize: not on this backend (built without CUDA)"); }
void* create_event(int) { MLCN_FAIL("create_event: not on this backend (built without CUDA)"); }
void record_event(void*, void*) { MLCN_FAIL("record_event: not on this backend (built without CUDA)"); }
void stream_wait_event(void*, void*) { MLCN_FAIL("stream_wait_event: not on this backend (built without CUDA)"); }
void set_allow_tf32(bool) {}
MemoryStats memory_stats(int) { MLCN_FAIL("memory_stats: not on this backend (built without CUDA)"); }
void reset_peak(int) { MLCN_FAIL("reset_peak: not on this backend (built without CUDA)"); }

void add_inplace(float*, const float*, int64_t, int) { MLCN_FAIL("add_inplace: not on this backend (built without CUDA)"); }
void relu_forward(float*, const float*, int64_t) { MLCN_FAIL("relu_forward: not on this backend (built without CUDA)"); }
void relu_backward(float*, const float*, const float*, int64_t) { MLCN_FAIL("relu_backward: not on this backend (built without CUDA)"); }
void sigmoid_forward(float*, const float*, int64_t) { MLCN_FAIL("sigmoid_forward: not on this backend (built without CUDA)"); }
void sigmoid_backward(float*, const float*, const float*, int64_t) { MLCN_FAIL("sigmoid_backward: not on this backend (built without CUDA)"); }
void scale_inplace(float*, float, int64_t) { MLCN_FAIL("scale_inplace: not on this backend (built without CUDA)"); }
void conv2d_forward(float*, const float*, const float*, const float*, const ConvShape&) { MLCN_FAIL("conv2d_forward: not on this backend (built without CUDA)"); }
void conv2d_backward(float*, float*, float*, const float*, const float*, const float*, const ConvShape&) { MLCN_FAIL("conv2d_backward: not on this backend (built without CUDA)"); }
void depthwise_forward(float*, const float*, const float*, const ConvShape&) { MLCN_FAIL("depthwise_forward: not on this backend (built without CUDA)"); }
void depthwise_backward(float*, float*, const float*, const float*, const float*, const ConvShape&) { MLCN_FAIL("depthwise_backward: not on this backend (built without CUDA)"); }
void gemm(bool, bool, int64_t, int64_t, int64_t, const float*, const float*, float, float*) { MLCN_FAIL("gemm: not on this backend (built without CUDA)"); }
void bias_add(float*, const float*, int64_t, int64_t) { MLCN_FAIL("bias_add: not on this backend (built without CUDA)"); }
void bias_backward(float*, const float*, int64_t, int64_t) { MLCN_FAIL("bias_backward: not on this backend (built without CUDA)"); }
void squash_forward(float*, const float*, int64_t, int64_t) { MLCN_FAIL("squash_forward: not on this backend (built without CUDA)"); }
void squash_backward(float*, const float*, const float*, int64_t, int64_t) { MLCN_FAIL("squash_backward: not on this backend (built without CUDA)"); }
void predict_forward(float*, const float*, const float*, int64_t, int64_t, int64_t, int64_t, int64_t) { MLCN_FAIL("predict_forward: not on this backend (built without CUDA)"); }
void predict_backward(float*, float*, const float*, const float*, const float*, int64_t, int64_t, int64_t, int64_t, int64_t) { MLCN_FAIL("predict_backward: not on this backend (built without CUDA)"); }
void routing_forward(float*, const float*, int64_t, int64_t, int64_t, int64_t, int, bool) { MLCN_FAIL("routing_forward: not on this backend (built without CUDA)"); }
void routing_backward(float*, const float*, const float*, int64_t, int64_t, int64_t, int64_t, int, bool, bool) { MLCN_FAIL("routing_backward: not on this backend (built without CUDA)"); }
void length_forward(float*, const float*, int64_t, int64_t) { MLCN_FAIL("length_forward: not on this backend (built without CUDA)"); }
void length_backward(float*, const float*, const float*, const float*, int64_t, int64_t) { MLCN_FAIL("length_backward: not on this backend (built without CUDA)"); }
void mask_forward(float*, const float*, const int32_t*, int64_t, int64_t, int64_t) { MLCN_FAIL("mask_forward: not on this backend (built without CUDA)"); }
void mask_backward(float*, const float*, const int32_t*, int64_t, int64_t, int64_t) { MLCN_FAIL("mask_backward: not on this backend (built without CUDA)"); }
void lane_scale(float*, const float*, const float*, int64_t, int64_t, int64_t) { MLCN_FAIL("lane_scale: not on this backend (built without CUDA)"); }
void concat_copy(float*, const float*, int64_t, int64_t, int64_t, int64_t, bool) { MLCN_FAIL("concat_copy: not on this backend (built without CUDA)"); }
float margin_forward(const float*, const int32_t*, int64_t, int64_t) { MLCN_FAIL("margin_forward: not on this backend (built without CUDA)"); }
void margin_backward(float*, float, const float*, const int32_t*, int64_t, int64_t) { MLCN_FAIL("margin_backward: not on this backend (built without CUDA)"); }
float mse_forward(const float*, const float*, int64_t) { MLCN_FAIL("mse_forward: not on this backend (built without CUDA)"); }
void mse_backward(float*, float, const float*, const float*, int64_t) { MLCN_FAIL("mse_backward: not on this backend (built without CUDA)"); }
void adam_update(float*, const float*, float*, float*, int64_t, double, double, double, double) { MLCN_FAIL("adam_update: not on this backend (built without CUDA)"); }
void adam_update_many(const AdamSlice*, int, const float*, double, double, double) { MLCN_FAIL("adam_update_many: not on this backend (built without CUDA)"); }
void* pinned_alloc(size_t) { MLCN_FAIL("pinned_alloc: not on this backend (built without CUDA)"); }
void pinned_free(void*) {}
void copy_to_device_async(void*, const void*, size_t) { MLCN_FAIL("copy_to_device_async: not on this backend (built without CUDA)"); }
uint64_t graph_pool_create() { MLCN_FAIL("graph_pool_create: not on this backend (built without CUDA)"); }
void graph_capture_begin(uint64_t) { MLCN_FAIL("graph_capture_begin: not on this backend (built without CUDA)"); }
void* graph_capture_end() { MLCN_FAIL("graph_capture_end: not on this backend (built without CUDA)"); }
void graph_capture_abort() noexcept {}
bool capturing() { return false; }
void graph_launch(void*) { MLCN_FAIL("graph_launch: not on this backend (built without CUDA)"); }
void graph_destroy(void*) noexcept {}
void graph_pool_release(uint64_t, int) { MLCN_FAIL("graph_pool_release: not on this backend (built without CUDA)"); }

}  // namespace mlcn::cuda
