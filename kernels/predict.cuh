// Launchers of the prediction transform uhat = W . u (kernels/predict.cu), for both model
// shapes: CapsNet u (B, 1152, 8), W (1152, 10, 16, 8) and the MLCN J = 1 layer. The backward
// accumulates into du (may be null) and dW, like engine/cpu/capsule.h. var chooses the
// handwritten kernels or cuBLAS strided-batched GEMMs (kernels/api.h, PredictVariant).
#pragma once
#include <cuda_runtime.h>  // defines: cudaStream_t

#include <cstdint>

#include "kernels/api.h"  // defines: PredictVariant

namespace mlcn::kernels {

// uhat (B, N, J, Dout) = W (N, J, Dout, Din) . u (B, N, Din)
void predict_forward_cuda(float* uhat, const float* u, const float* W, int64_t B, int64_t N, int64_t J, int64_t Dout,
                          int64_t Din, PredictVariant var, cudaStream_t s);
// du (B, N, Din) += W^T duhat [du may be null]; dW (N, J, Dout, Din) += duhat u^T summed over B
void predict_backward_cuda(float* du, float* dW, const float* duhat, const float* u, const float* W, int64_t B,
                           int64_t N, int64_t J, int64_t Dout, int64_t Din, PredictVariant var, cudaStream_t s);

}  // namespace mlcn::kernels
