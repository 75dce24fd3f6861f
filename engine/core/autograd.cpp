// Tape::backward: seed the output gradient, then run the recorded closures last-to-first.
#include "engine/core/autograd.h"

namespace mlcn {

void Tape::backward(const Var& out, const Tensor& seed) { backward(std::vector<Var>{out}, std::vector<Tensor>{seed}); }

void Tape::backward(const std::vector<Var>& outs, const std::vector<Tensor>& seeds) {
  MLCN_CHECK(outs.size() == seeds.size(), "backward: " << outs.size() << " outputs, " << seeds.size() << " seeds");
  for (size_t i = 0; i < outs.size(); ++i) {
    MLCN_CHECK(outs[i] && outs[i]->requires_grad, "backward from a value that does not require grad");
    MLCN_CHECK(seeds[i].shape() == outs[i]->value.shape(),
               "seed " << shape_str(seeds[i].shape()) << " vs output " << shape_str(outs[i]->value.shape()));
    const Stream s = stream_for(outs[i]->value);
    accumulate(outs[i]->grad_buffer(s), seeds[i], s);
  }
  for (auto it = closures_.rbegin(); it != closures_.rend(); ++it) (*it)();
}

void Tape::backward(const Var& loss) {
  MLCN_CHECK(loss->value.numel() == 1, "backward() without a seed needs a scalar loss");
  Tensor one =
      Tensor::full(loss->value.shape(), 1.0, loss->value.dtype(), loss->value.device(), stream_for(loss->value));
  backward(loss, one);
}

}  // namespace mlcn
