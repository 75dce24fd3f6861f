// Helpers of the distributed tests: a model with lanes of different width and depth, a seeded
// batch, one single-thread CPU device per rank, and comparisons of tensors.
#pragma once
#include <algorithm>
#include <cmath>
#include <vector>

#include "engine/comm/comm.h"
#include "engine/runtime/dist_runtime.h"

namespace mlcn::test {

inline ModelSpec mixed_lanes(DType dt, double dropout = 0) {
  ModelSpec s;
  s.input = {28, 28, 1, 10};
  s.lanes = {{"mlcn1", 2, 2}, {"mlcn1", 1, 1}, {"mlcn2", 1, 1}};
  s.lane.dtype = dt;
  s.lane_dropout = dropout;
  return s;
}

// x: (B, 28, 28, 1) in [0, 1); labels (B).
inline Tensor batch(int64_t B, std::vector<int32_t>& labels, DType dt, uint64_t seed = 21) {
  Rng r(seed);
  Tensor x = Tensor::empty({B, 28, 28, 1});
  for (int64_t i = 0; i < x.numel(); ++i) x.set(i, r.uniform());
  labels.clear();
  for (int64_t b = 0; b < B; ++b) labels.push_back(static_cast<int32_t>(r.below(10)));
  return x.to(dt);
}

inline RuntimeOptions one_cpu() {
  RuntimeOptions o;
  o.cpu_devices = 1;
  o.threads_per_device = 1;
  o.devices = {Device::cpu(0)};
  return o;
}

// max |a - b| / max(1, |a|) over all elements (both host tensors of the same size).
inline double max_rel_diff(const Tensor& a, const Tensor& b) {
  if (a.numel() != b.numel()) return INFINITY;
  double m = 0;
  for (int64_t i = 0; i < a.numel(); ++i)
    m = std::max(m, std::abs(a.item(i) - b.item(i)) / std::max(1.0, std::abs(a.item(i))));
  return m;
}

// Number of ranks where `ok` holds (a collective: every rank must call it).
inline int64_t ranks_where(bool ok) {
  std::vector<int64_t> all = world().allgather_int(ok ? 1 : 0);
  int64_t n = 0;
  for (int64_t v : all) n += v;
  return n;
}

}  // namespace mlcn::test
