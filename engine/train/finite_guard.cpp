// The training loop's NaN/Inf guard; see finite_guard.h. The common case (everything finite)
// costs one count per device: the CPU twin over host tensors, one kernels count_non_finite
// call (one reduction, one 8-byte copy) per GPU. Only when a count is not zero does the
// per-tensor scan run (copying GPU tensors to the host) to name the first bad tensor.
#include "engine/train/finite_guard.h"

#include <cmath>
#include <map>
#include <sstream>

#include "engine/core/backend.h"
#include "engine/cpu/elementwise.h"  // defines: count_non_finite

namespace mlcn {

namespace {

// Every parameter, then every Adam moment, in the order the per-tensor scan names them.
std::vector<const Tensor*> guarded_tensors(Model& model, const std::vector<Adam*>& opts) {
  std::vector<const Tensor*> ts;
  for (Param* p : model.all_params()) ts.push_back(&p->var->value);
  for (Adam* o : opts)
    for (size_t i = 0; i < o->params().size(); ++i) ts.push_back(&o->m()[i]), ts.push_back(&o->v()[i]);
  return ts;
}

// True when no tensor holds a NaN or Inf: host tensors counted in place, GPU tensors (float32)
// with one count per device on its setup stream (the step's streams have finished).
bool all_finite(const std::vector<const Tensor*>& ts) {
  struct Arrays {
    std::vector<const float*> ptr;
    std::vector<int64_t> n;
  };
  std::map<int, Arrays> per_gpu;
  for (const Tensor* t : ts) {
    if (!t->defined() || t->numel() == 0) continue;
    if (t->device().is_cpu()) {
      int64_t bad = 0;
      MLCN_DISPATCH_FLOAT(t->dtype(), T, bad = cpu::count_non_finite(t->data<T>(), t->numel()));
      if (bad > 0) return false;
      continue;
    }
    Arrays& a = per_gpu[t->device().index];
    a.ptr.push_back(t->data<float>());
    a.n.push_back(t->numel());
  }
  for (const auto& [device, a] : per_gpu)
    if (cuda().count_non_finite(Stream::setup(device), a.ptr.data(), a.n.data(), int(a.ptr.size())) > 0) return false;
  return true;
}

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

// `param`: the parameter the tensor belongs to (itself, or the one an Adam moment tracks),
// which names the lane.
std::string describe(const std::string& name, const std::string& param, const Tensor& t) {
  double bad = 0;
  const int64_t at = first_bad(t, &bad);
  if (at < 0) return "";
  std::ostringstream os;
  os << "tensor " << name << " (" << lane_of(param) << ") holds " << bad << " at element " << at;
  return os.str();
}

}  // namespace

std::string first_non_finite_tensor(Model& model, const std::vector<Adam*>& opts) {
  if (all_finite(guarded_tensors(model, opts))) return "";
  for (Param* p : model.all_params()) {
    std::string d = describe(p->name, p->name, p->var->value);
    if (!d.empty()) return d;
  }
  for (Adam* o : opts)
    for (size_t i = 0; i < o->params().size(); ++i) {
      const std::string& name = o->params()[i]->name;
      std::string d = describe("adam.m." + name, name, o->m()[i]);
      if (d.empty()) d = describe("adam.v." + name, name, o->v()[i]);
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
