// One distributed step against the single-process step of the same model and batch: model
// parallel (lanes over the ranks; bitwise equal, the arithmetic order is the same), data
// parallel (the batch split over the ranks; float64 to 1e-10) and replica groups.
#include <catch2/catch.hpp>

#include "dist_util.h"

using namespace mlcn;
using namespace mlcn::test;

namespace {

struct Diff {
  double loss = 0, lengths = 0, grads = 0;
  int64_t lanes_checked = 0;
};

// Runs one Grad step of `dist` and of a single-process LaneRuntime on the same batch; compares
// the loss, the lengths and the gradients of the head and of every lane this rank computed.
Diff compare_step(DType dt, const DistOptions& dopt, int64_t B) {
  std::vector<int32_t> labels;
  Tensor x = batch(B, labels, dt);
  Model ref(mixed_lanes(dt)), dm(mixed_lanes(dt));
  ref.init(4);
  dm.init(4);
  LaneRuntime one(ref, one_cpu());
  DistRuntime d(dm, one_cpu(), dopt, world());
  StepResult ra = one.step(x, labels, StepMode::Grad, 0, nullptr);
  StepResult rb = d.step(x, labels, StepMode::Grad, 0, nullptr);
  Diff r;
  r.loss = std::abs(ra.loss - rb.loss);
  r.lengths = max_rel_diff(ra.lengths, rb.lengths);
  for (size_t l = 0; l < ref.num_lanes(); ++l) {
    if (!d.is_local(l)) continue;
    ++r.lanes_checked;
    for (size_t i = 0; i < ref.lane(l).params().size(); ++i) {
      const Tensor& gb = dm.lane(l).params()[i].var->grad;
      r.grads = std::max(r.grads, gb.defined() ? max_rel_diff(ref.lane(l).params()[i].var->grad, gb) : INFINITY);
    }
  }
  for (size_t i = 0; i < ref.head().params().size(); ++i)
    r.grads = std::max(r.grads, max_rel_diff(ref.head().params()[i].var->grad, dm.head().params()[i].var->grad));
  return r;
}

}  // namespace

TEST_CASE("model parallel over the ranks: loss, lengths and every gradient equal one process bitwise", "[dist]") {
  for (DType dt : {DType::F32, DType::F64}) {
    INFO(dtype_name(dt) << " on " << world().size() << " rank(s)");
    Diff r = compare_step(dt, {"model", 0, {}}, 6);
    CHECK(r.loss == 0);
    CHECK(r.lengths == 0);
    CHECK(r.grads == 0);
    std::vector<int64_t> lanes = world().allgather_int(r.lanes_checked);
    int64_t total = 0;
    for (int64_t n : lanes) total += n;
    CHECK(total == 3);  // each lane's gradients were compared on exactly one rank
  }
}

TEST_CASE("model parallel with an explicit placement leaving a rank without lanes", "[dist]") {
  const int n = world().size();
  Diff r = compare_step(DType::F64, {"model", 0, {n - 1, 0, n - 1}}, 5);
  CHECK(r.loss == 0);
  CHECK(r.lengths == 0);
  CHECK(r.grads == 0);
}

TEST_CASE("data parallel over the ranks with global batch B equals one process with batch B (float64)", "[dist]") {
  for (int64_t B : {6, 7}) {  // 7: shards of unequal size on 2 and 3 ranks
    INFO("B = " << B << " on " << world().size() << " rank(s)");
    Diff r = compare_step(DType::F64, {"data", 0, {}}, B);
    CHECK(r.loss < 1e-10);
    CHECK(r.lengths < 1e-10);
    CHECK(r.grads < 1e-10);
    CHECK(r.lanes_checked == 3);
  }
}

TEST_CASE("replica groups (lanes model-parallel inside each group) equal one process (float64)", "[dist]") {
  const int n = world().size();
  const int R = n % 2 == 0 ? 2 : n;  // 4 ranks: 2 groups of 2; 2 ranks: 2 groups of 1; odd: groups of 1
  INFO(R << " replica group(s) on " << n << " rank(s)");
  Diff r = compare_step(DType::F64, {"model", R, {}}, 8);
  CHECK(r.loss < 1e-10);
  CHECK(r.lengths < 1e-10);
  CHECK(r.grads < 1e-10);
}
