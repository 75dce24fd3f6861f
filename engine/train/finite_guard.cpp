// The training loop's NaN/Inf guard; see finite_guard.h.
#include "engine/train/finite_guard.h"

#include <cmath>
#include <sstream>

namespace mlcn {

namespace {

// Index of the first non-finite element of `t` (any device, float dtype), or -1; its value in *bad.
int64_t first_bad(const Tensor& t, double* bad) {
  const Tensor h = t.device().is_cpu() ? t : t.to(Device::cpu());
  int64_t at = -1;
  MLCN_DISPATCH_FLOAT(h.dtype(), T, {
    const T* p = h.data<T>();
    for (int64_t i = 0, n = h.numel(); i < n && at < 0; ++i)
      if (!std::isfinite(p[i])) at = i, *bad = double(p[i]);
  });
  return at;
}

std::string lane_of(const std::string& name) {
  if (name.rfind("lanes.", 0) != 0) return "the shared head";
  const size_t dot = name.find('.', 6);
  return "lane " + name.substr(6, dot == std::string::npos ? std::string::npos : dot - 6);
}

std::string describe(const std::string& name, const Tensor& t) {
  double bad = 0;
  const int64_t at = first_bad(t, &bad);
  if (at < 0) return "";
  std::ostringstream os;
  os << "tensor " << name << " (" << lane_of(name) << ") holds " << bad << " at element " << at;
  return os.str();
}

}  // namespace

std::string first_non_finite_tensor(Model& model, const std::vector<Adam*>& opts) {
  for (Param* p : model.all_params()) {
    std::string d = describe(p->name, p->var->value);
    if (!d.empty()) return d;
  }
  for (Adam* o : opts)
    for (size_t i = 0; i < o->params().size(); ++i) {
      const std::string& name = o->params()[i]->name;
      std::string d = describe("adam.m." + name, o->m()[i]);
      if (d.empty()) d = describe("adam.v." + name, o->v()[i]);
      if (!d.empty()) return d + " (the gradient of " + name + " was not finite)";
    }
  return "";
}

void check_step_finite(double loss, Model& model, const std::vector<Adam*>& opts, int64_t epoch, int64_t step) {
  MLCN_CHECK(std::isfinite(loss), "training diverged at epoch " << epoch << " step " << step << ": the loss is "
                                                                << loss << "; nothing was saved for this step");
  const std::string bad = first_non_finite_tensor(model, opts);
  MLCN_CHECK(bad.empty(), "training diverged at epoch " << epoch << " step " << step << ": " << bad
                                                        << "; nothing was saved for this step");
}

}  // namespace mlcn
