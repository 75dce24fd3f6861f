// CUDA graphs of one stream's work, and pinned host memory (kernels/api.h). A capture records
// what is queued on its stream, in relaxed mode (the caching allocator may still cudaMalloc a
// new block mid-capture), with that stream's allocations routed to the graph's private pool
// (kernels/allocator.h) until the capture ends.
#include "kernels/cuda_context.h"

#include "kernels/allocator.h"
#include "kernels/graph.cuh"

namespace mlcn::kernels {

void* pinned_alloc(size_t bytes) {
  void* p = nullptr;
  MLCN_CUDA_CHECK(cudaMallocHost(&p, bytes > 0 ? bytes : 1));
  return p;
}

void pinned_free(void* p) {
  if (p) (void)cudaFreeHost(p);
}

uint64_t graph_pool_create() { return allocator_new_pool(); }

void graph_capture_begin(cudaStream_t s, uint64_t pool) {
  cudaStreamCaptureStatus status = cudaStreamCaptureStatusNone;
  MLCN_CUDA_CHECK(cudaStreamIsCapturing(s, &status));
  MLCN_CHECK(status == cudaStreamCaptureStatusNone, "graph_capture_begin: the stream is already capturing");
  MLCN_CUDA_CHECK(cudaStreamBeginCapture(s, cudaStreamCaptureModeRelaxed));
  allocator_set_pool(s, pool);
}

void* graph_capture_end(cudaStream_t s) {
  MLCN_CHECK(allocator_pool(s) != 0, "graph_capture_end: the stream is not capturing");
  allocator_set_pool(s, 0);
  cudaGraph_t graph = nullptr;
  MLCN_CUDA_CHECK(cudaStreamEndCapture(s, &graph));
  cudaGraphExec_t exec = nullptr;
  const cudaError_t err = cudaGraphInstantiate(&exec, graph, 0);
  (void)cudaGraphDestroy(graph);
  MLCN_CUDA_CHECK(err);
  return exec;
}

void graph_capture_abort(cudaStream_t s) noexcept {
  if (allocator_pool(s) == 0) return;
  cudaGraph_t graph = nullptr;
  if (cudaStreamEndCapture(s, &graph) == cudaSuccess && graph) (void)cudaGraphDestroy(graph);
  (void)cudaGetLastError();  // an invalidated capture leaves a non-sticky error behind
  allocator_set_pool(s, 0);
}

void graph_launch(void* exec, cudaStream_t s) {
  MLCN_CUDA_CHECK(cudaGraphLaunch(static_cast<cudaGraphExec_t>(exec), s));
}

void graph_destroy(void* exec) noexcept {
  if (exec) (void)cudaGraphExecDestroy(static_cast<cudaGraphExec_t>(exec));
}

void graph_pool_release(uint64_t pool, int device) { allocator_release_pool(pool, device); }

}  // namespace mlcn::kernels
