// The op table (ggml's test-backend-ops style): ONE entry per differentiable op case, read by
//   - tests/engine/test_op_gradcheck.cpp: float64 gradients vs central differences (CPU),
//   - tests/cuda/test_op_table.cpp: CUDA vs CPU parity in float32, forward and every gradient
//     (random inputs, never zeros; runs on the emulator in CI),
//   - bench/kernels/kernel_bench.cpp: forward and backward time per case at its bench shapes,
//     with the FLOP and byte counts of the entry.
// Adding an op: its CPU twin, its kernel, its entry in kernels/api.h, the differentiable op in
// engine/ops, then one entry here (docs/ops.md).
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "engine/core/autograd.h"
#include "base/rng.h"

namespace mlcn::test {

using BuildFn = std::function<Var(Tape&, const std::vector<Var>&)>;

// CUDA vs CPU (float32): |gpu - cpu| <= atol + atol_of_max * max|cpu| + rtol |cpu| per element.
struct Tol {
  double rtol = 0, atol = 0, atol_of_max = 0;
};

// Forward work of one call at the given input shapes: arithmetic and bytes read + written.
struct Cost {
  double flops = 0, bytes = 0;
};

struct OpCase {
  std::string name;
  std::vector<Shape> shapes;  // the inputs, in the order build takes them
  BuildFn build;
  double lo = -1, hi = 1;  // inputs are uniform in [lo, hi)
  // Gradient check only: edits of the random inputs (zero and near-zero capsules, ...).
  std::function<void(std::vector<Var>&)> prepare = nullptr;
  std::vector<size_t> constant;  // inputs without a gradient (targets)
  bool cuda = true;              // false: a host-only op (scalars on the CPU)
  Tol tol;                       // CUDA parity, value and gradients
  std::string tol_why;           // where the tolerance comes from
  std::function<Cost(const std::vector<Shape>&)> cost = nullptr;
  std::vector<Shape> bench_shapes;  // the benchmark's shapes (a real model's); empty: not benchmarked
};

// Every case, in a fixed order; seeds derive from the position.
std::vector<OpCase> op_cases();

// A tensor of `shape` and dtype uniform in [lo, hi) (float64 draws, rounded for float32).
Tensor random_tensor(const Shape& shape, Rng& rng, double lo = -1.0, double hi = 1.0, DType dt = DType::F64);

// The inputs of case c (seeded), on the CPU in dtype dt; `constant` inputs need no gradient.
std::vector<Var> case_inputs(const OpCase& c, const std::vector<Shape>& shapes, uint64_t seed, DType dt);

}  // namespace mlcn::test
