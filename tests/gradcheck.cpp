// Finite-difference gradient checker; the tolerance rule is documented in gradcheck.h.
#include "gradcheck.h"

#include <algorithm>
#include <cmath>
#include <sstream>

namespace mlcn::test {

namespace {
double project(const Tensor& y, const Tensor& R) {
  double s = 0;
  for (int64_t i = 0; i < y.numel(); ++i) s += y.item(i) * R.item(i);
  return s;
}
}  // namespace

GradCheckReport check_gradients(const BuildFn& build, const std::vector<Var>& inputs, const GradCheckOptions& opt) {
  GradCheckReport rep;
  Rng rng(opt.seed);
  for (const Var& v : inputs)
    if (v->grad.defined()) v->grad.zero_();
  Tape tape;
  Var y = build(tape, inputs);
  Tensor R = random_tensor(y->value.shape(), rng);
  tape.backward(y, R);
  std::ostringstream os;
  for (size_t k = 0; k < inputs.size(); ++k) {
    const Var& in = inputs[k];
    if (!in->requires_grad) continue;
    Tensor analytic = in->grad_buffer().clone();
    double gmax = 0;
    for (int64_t i = 0; i < analytic.numel(); ++i) gmax = std::max(gmax, std::fabs(analytic.item(i)));
    const double scale = std::max(1e-3 * gmax, 1e-12);
    std::vector<int64_t> idx;
    const int64_t n = in->value.numel();
    if (n <= opt.max_entries) {
      for (int64_t i = 0; i < n; ++i) idx.push_back(i);
    } else {
      for (int e = 0; e < opt.max_entries; ++e) idx.push_back(static_cast<int64_t>(rng.below(n)));
    }
    double f0 = 0;
    {
      Tape nograd;
      nograd.grad_enabled = false;
      f0 = project(build(nograd, inputs)->value, R);
    }
    // Rounding noise of a central difference: ~eps_mach |f| / eps (see the header's rule).
    const double noise = 10 * 2.2e-16 * (std::fabs(f0) + 1) / opt.eps;
    for (int64_t i : idx) {
      const double x0 = in->value.item(i);
      Tape nograd;
      nograd.grad_enabled = false;
      in->value.set(i, x0 + opt.eps);
      double fp = project(build(nograd, inputs)->value, R);
      in->value.set(i, x0 - opt.eps);
      double fm = project(build(nograd, inputs)->value, R);
      in->value.set(i, x0);
      const double num = (fp - fm) / (2 * opt.eps), a = analytic.item(i);
      ++rep.checked;
      if (!(std::fabs(a - num) <= opt.tol * std::max({std::fabs(a), std::fabs(num), scale}) + noise)) {
        rep.ok = false;
        os << " input " << k << " " << shape_str(in->value.shape()) << " [" << i << "] analytic " << a << " numeric " << num << ";";
      }
    }
  }
  rep.detail = os.str();
  return rep;
}

}  // namespace mlcn::test
