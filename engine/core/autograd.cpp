// Tape::backward: seed the output gradient, then run the recorded closures last-to-first.
#include "engine/core/autograd.h"

#include "engine/cpu/elementwise.h"

namespace mlcn {

void Tape::backward(const Var& out, const Tensor& seed) {
  MLCN_CHECK(out && out->requires_grad, "backward from a value that does not require grad");
  MLCN_CHECK(seed.shape() == out->value.shape(),
             "seed " << shape_str(seed.shape()) << " vs output " << shape_str(out->value.shape()));
  accumulate(out->grad_buffer(), seed);
  for (auto it = closures_.rbegin(); it != closures_.rend(); ++it) (*it)();
}

void Tape::backward(const Var& loss) {
  MLCN_CHECK(loss->value.numel() == 1, "backward() without a seed needs a scalar loss");
  Tensor one = Tensor::full(loss->value.shape(), 1.0, loss->value.dtype(), loss->value.device());
  backward(loss, one);
}

}  // namespace mlcn
