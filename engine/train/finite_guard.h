// NaN/Inf guard of the training loop: after every step the loss, each parameter and each Adam
// moment must be finite. Non-finite gradients show up in the moments and parameters they
// updated (Adam turns an Inf or NaN gradient into a NaN or Inf moment), so the guard names the
// first bad tensor, its lane ("lanes.L.*"; others are the shared head) and the step. The check
// is one count of non-finite elements per device per step (on a GPU one reduction and one small
// copy); only when it is not zero are tensors scanned one by one (GPU ones copied to the host)
// to name the first bad one.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "engine/models/model.h"
#include "engine/optim/adam.h"

namespace mlcn {

// "" when every tensor is finite, else "tensor NAME (lane L) holds V at element I".
std::string first_non_finite_tensor(Model& model, const std::vector<Adam*>& opts);
// Throws "training diverged at epoch E step S: ..." naming the loss or the first bad tensor.
void check_step_finite(double loss, Model& model, const std::vector<Adam*>& opts, int64_t epoch, int64_t step);

}  // namespace mlcn
