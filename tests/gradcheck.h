// Finite-difference gradient checking for the op table and whole models (float64, CPU).
// The scalar checked is f = sum(y * R) for a fixed random R, so every output element matters.
// Tolerance rule (used everywhere): an analytic entry a and a central difference n agree when
//   |a - n| <= tol * max(|a|, |n|, scale) + noise,   scale = 1e-3 * max_k |a_k| over that input,
//   noise = 10 * eps_mach * (|f| + 1) / eps  (the rounding error of the difference quotient),
// i.e. relative error for entries that matter and an absolute floor tied to the gradient's own
// size and to the double rounding of f for entries that are ~0. With eps = 1e-6 in double, truncation (~eps^2) and rounding
// (~1e-16/eps) errors are ~1e-10 relative, so tol = 1e-5 leaves margin without hiding bugs.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "engine/core/autograd.h"
#include "op_cases.h"  // defines: BuildFn, random_tensor

namespace mlcn::test {

struct GradCheckOptions {
  double eps = 1e-6;
  double tol = 1e-5;
  int max_entries = 64;  // per input; entries are sampled (fixed seed) beyond that
  uint64_t seed = 7;
};

struct GradCheckReport {
  bool ok = true;
  std::string detail;  // first failures, for the test log
  int checked = 0;
};

// Checks d(sum(y*R))/d(input) for every input that requires grad.
GradCheckReport check_gradients(const BuildFn& build, const std::vector<Var>& inputs, const GradCheckOptions& opt = {});

}  // namespace mlcn::test
