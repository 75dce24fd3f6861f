// CUDA graphs and pinned host memory (kernels/graph.cu), for kernels/api.cu: capture of one
// stream's work into a graph whose allocations come from a private pool, replay, release.
#pragma once
#include <cuda_runtime.h>  // defines: cudaStream_t

#include <cstddef>
#include <cstdint>

namespace mlcn::kernels {

void* pinned_alloc(size_t bytes);
void pinned_free(void* p);
uint64_t graph_pool_create();
// s: a created stream (not the legacy default); its allocations go to `pool` until the end.
void graph_capture_begin(cudaStream_t s, uint64_t pool);
void* graph_capture_end(cudaStream_t s);  // the instantiated cudaGraphExec_t
void graph_capture_abort(cudaStream_t s) noexcept;
void graph_launch(void* exec, cudaStream_t s);
void graph_destroy(void* exec) noexcept;
void graph_pool_release(uint64_t pool, int device);

}  // namespace mlcn::kernels
