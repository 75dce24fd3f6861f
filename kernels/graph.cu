// CUDA graphs and pinned host memory for the lane runtime (engine/ops/cuda_bridge.h). A capture
// records what the calling thread launches on its current stream, in relaxed mode (the caching
// allocator may still cudaMalloc a new block mid-capture), with the thread's allocations routed
// to the graph's private pool (kernels/allocator.h) until the capture ends.
#include "kernels/cuda_context.h"

#include "engine/ops/cuda_bridge.h"
#include "kernels/allocator.h"

namespace mlcn::cuda {
namespace {
thread_local cudaStream_t t_capturing = nullptr;  // the stream this thread is capturing, if any
}  // namespace

void* pinned_alloc(size_t bytes) {
  void* p = nullptr;
  MLCN_CUDA_CHECK(cudaMallocHost(&p, bytes > 0 ? bytes : 1));
  return p;
}

void pinned_free(void* p) {
  if (p) (void)cudaFreeHost(p);
}

void copy_to_device_async(void* dst, const void* src, size_t bytes) {
  if (bytes == 0) return;
  MLCN_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, current_stream()));
}

uint64_t graph_pool_create() { return allocator_new_pool(); }

void graph_capture_begin(uint64_t pool) {
  MLCN_CHECK(!t_capturing, "graph_capture_begin: this thread is already capturing");
  cudaStream_t s = current_stream();
  MLCN_CHECK(s != nullptr, "graph_capture_begin: the legacy default stream cannot be captured; set a stream first");
  MLCN_CUDA_CHECK(cudaStreamBeginCapture(s, cudaStreamCaptureModeRelaxed));
  t_capturing = s;
  allocator_set_pool(pool);
}

bool capturing() { return t_capturing != nullptr; }

void* graph_capture_end() {
  MLCN_CHECK(t_capturing, "graph_capture_end: this thread is not capturing");
  cudaStream_t s = t_capturing;
  t_capturing = nullptr;
  allocator_set_pool(0);
  cudaGraph_t graph = nullptr;
  MLCN_CUDA_CHECK(cudaStreamEndCapture(s, &graph));
  cudaGraphExec_t exec = nullptr;
  const cudaError_t err = cudaGraphInstantiate(&exec, graph, 0);
  (void)cudaGraphDestroy(graph);
  MLCN_CUDA_CHECK(err);
  return exec;
}

void graph_capture_abort() noexcept {
  if (!t_capturing) return;
  cudaGraph_t graph = nullptr;
  if (cudaStreamEndCapture(t_capturing, &graph) == cudaSuccess && graph) (void)cudaGraphDestroy(graph);
  (void)cudaGetLastError();  // an invalidated capture leaves a non-sticky error behind
  t_capturing = nullptr;
  allocator_set_pool(0);
}

void graph_launch(void* exec) {
  MLCN_CUDA_CHECK(cudaGraphLaunch(static_cast<cudaGraphExec_t>(exec), current_stream()));
}

void graph_destroy(void* exec) noexcept {
  if (exec) (void)cudaGraphExecDestroy(static_cast<cudaGraphExec_t>(exec));
}

void graph_pool_release(uint64_t pool, int device) { allocator_release_pool(pool, device); }

}  // namespace mlcn::cuda
