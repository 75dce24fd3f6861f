// Gradient clipping by global norm (see grad_clip.h).
#include "engine/optim/grad_clip.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "engine/core/backend.h"

namespace mlcn {

double grad_sum_squares(const std::vector<Param*>& params) {
  double sum = 0;
  std::map<int, std::vector<const Tensor*>> gpu;  // device index -> its gradients
  for (Param* p : params) {
    const Tensor& g = p->var->grad;
    if (!g.defined()) continue;
    if (g.device().is_cuda()) {
      gpu[g.device().index].push_back(&g);
      continue;
    }
    MLCN_DISPATCH_FLOAT(g.dtype(), T, {
      const T* d = g.data<T>();
      for (int64_t i = 0, n = g.numel(); i < n; ++i) sum += double(d[i]) * double(d[i]);
    });
  }
  for (auto& [index, grads] : gpu) {  // one dot product per gradient, one read-back per device
    const Device dev = Device::cuda(index);
    const Stream st = stream_for({}, dev);
    Tensor dots = Tensor::empty({int64_t(grads.size())}, DType::F32, dev, st);
    for (size_t k = 0; k < grads.size(); ++k) {
      const float* g = grads[k]->data<float>();
      cuda().gemm(st, false, true, 1, 1, grads[k]->numel(), g, g, 0.f, dots.data<float>() + k);
    }
    const Tensor host = dots.to(Device::cpu(), st);
    for (int64_t k = 0; k < host.numel(); ++k) sum += host.item(k);
  }
  return sum;
}

void scale_grads(const std::vector<Param*>& params, double k) {
  for (Param* p : params) {
    Tensor& g = p->var->grad;
    if (!g.defined()) continue;
    if (g.device().is_cuda()) {
      cuda().scale_inplace(stream_for({}, g.device()), g.data<float>(), float(k), g.numel());
      continue;
    }
    MLCN_DISPATCH_FLOAT(g.dtype(), T, {
      T* d = g.data<T>();
      for (int64_t i = 0, n = g.numel(); i < n; ++i) d[i] = static_cast<T>(d[i] * k);
    });
  }
}

double clip_factor(double norm, double max_norm) { return std::min(1.0, max_norm / (norm + 1e-6)); }

}  // namespace mlcn
