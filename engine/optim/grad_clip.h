// Gradient clipping by global norm: the gradients of every parameter (all lanes and the head)
// are scaled by min(1, max_norm / (norm + 1e-6)), norm the L2 norm of all of them together
// (Pascanu et al.; torch.nn.utils.clip_grad_norm_). The sum of squares is accumulated in
// double on the host; a GPU gradient contributes through a 1x1 GEMM (g . g) on its device's
// setup stream, read back once per device.
#pragma once
#include <vector>

#include "engine/optim/adam.h"

namespace mlcn {

// Sum of the squares of every defined gradient of `params`.
double grad_sum_squares(const std::vector<Param*>& params);
// Multiplies every defined gradient of `params` by k.
void scale_grads(const std::vector<Param*>& params, double k);
// The factor that brings a global norm to at most max_norm (1 when it is already below).
double clip_factor(double norm, double max_norm);

}  // namespace mlcn
