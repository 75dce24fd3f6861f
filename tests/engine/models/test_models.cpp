// Model construction: parameter counts of spec 1.12/1.4/2, depth validity errors, and a
// whole-model gradient check (float64) of a small heterogeneous MLCN and a small CapsNet.
#include <catch2/catch.hpp>

#include "engine/models/model.h"
#include "engine/ops/ops.h"
#include "gradcheck.h"

using namespace mlcn;

namespace {
int64_t lane_params(const std::string& type, int w, int d, InputShape in) {
  return make_lane({type, w, d}, in, LaneOptions{}, "")->num_params();
}
}  // namespace

TEST_CASE("parameter counts match the spec", "[models]") {
  InputShape fm{28, 28, 1, 10}, cf{32, 32, 3, 10};
  CHECK(lane_params("mlcn1", 1, 1, fm) == 40256);
  CHECK(lane_params("mlcn1", 2, 1, fm) == 117376);
  CHECK(lane_params("mlcn1", 4, 1, fm) == 382208);
  CHECK(lane_params("mlcn1", 2, 3, fm) == 388608);
  CHECK(lane_params("mlcn1", 3, 2, fm) == 520320);
  CHECK(lane_params("mlcn1", 1, 5, fm) == 143360);
  CHECK(lane_params("mlcn1", 1, 6, cf) == 196448);
  CHECK(lane_params("mlcn1", 4, 2, cf) == 1075584);
  CHECK(lane_params("mlcn2", 1, 1, fm) == 52224);
  CHECK(lane_params("mlcn2", 5, 1, fm) == 773120);
  CHECK(lane_params("mlcn2", 3, 1, cf) == 348768);
  ModelSpec caps;
  caps.type = "capsnet";
  caps.input = fm;
  CHECK(Model(caps).num_params() == 8215568);
  caps.input = cf;
  CHECK(Model(caps).num_params() == 11749120);
  ModelSpec m;  // decoder D(L) = 5120 L + 1,329,424 on FMNIST
  m.lanes = {{"mlcn1", 4, 1}, {"mlcn1", 4, 1}};
  CHECK(Model(m).num_params() == 2 * 382208 + 5120 * 2 + 1329424);
}

TEST_CASE("an invalid depth is a clear error naming the lane", "[models]") {
  InputShape fm{28, 28, 1, 10};
  CHECK_THROWS_WITH(lane_params("mlcn1", 1, 6, fm), Catch::Contains("mlcn1 w1 d6") && Catch::Contains("invalid"));
  CHECK_THROWS_WITH(lane_params("mlcn2", 1, 2, fm), Catch::Contains("depth 1 only"));
  CHECK_THROWS_WITH(lane_params("mlcnX", 1, 1, fm), Catch::Contains("unknown lane type"));
}

namespace {
// The whole training loss of `model` on fixed inputs, as a function of its parameters.
mlcn::test::BuildFn model_loss(Model& model, Tensor x, std::vector<int32_t> labels, std::vector<double> scale) {
  return [&model, x, labels, scale](Tape& t, const std::vector<Var>&) {
    std::vector<Var> outs;
    Var xv = make_var(x, false);
    for (size_t l = 0; l < model.num_lanes(); ++l) outs.push_back(model.lane(l).forward(t, xv));
    return model.head().forward(t, concat_last(t, outs), x, labels, scale, true, 0.392).loss;
  };
}
// Zero-initialised biases put tiny decoder pre-activations right at the ReLU kinks, where a
// finite difference is meaningless; the check moves them to [0.05, 0.2) first (golden does too).
void nonzero_biases(Model& m, uint64_t seed) {
  Rng r(seed);
  for (Param* p : m.all_params())
    if (p->name.size() > 4 && p->name.substr(p->name.size() - 4) == "bias")
      for (int64_t i = 0; i < p->var->value.numel(); ++i) p->var->value.set(i, r.uniform(0.05, 0.2));
}
std::vector<Var> param_vars(Model& m) {
  std::vector<Var> v;
  for (Param* p : m.all_params()) v.push_back(p->var);
  return v;
}
}  // namespace

TEST_CASE("whole-model gradient check: MLCN with 2 lanes of different width and depth", "[gradcheck][models]") {
  ModelSpec s;
  s.input = {16, 16, 1, 4};
  s.lanes = {{"mlcn1", 2, 2}, {"mlcn1", 1, 1}, {"mlcn2", 1, 1}};
  s.lane.dtype = DType::F64;
  Model m(s);
  m.init(5);
  nonzero_biases(m, 50);
  Rng rng(6);
  Tensor x = mlcn::test::random_tensor({2, 16, 16, 1}, rng, 0, 1);
  mlcn::test::GradCheckOptions opt;
  opt.max_entries = 12;
  auto rep = mlcn::test::check_gradients(model_loss(m, x, {1, 3}, {1.5, 0.0, 1.5}), param_vars(m), opt);
  INFO(rep.detail);
  CHECK(rep.checked > 100);
  CHECK(rep.ok);
}

TEST_CASE("whole-model gradient check: small CapsNet", "[gradcheck][models]") {
  ModelSpec s;
  s.type = "capsnet";
  s.input = {18, 18, 1, 3};
  s.lane.dtype = DType::F64;
  Model m(s);
  m.init(8);
  nonzero_biases(m, 80);
  Rng rng(9);
  Tensor x = mlcn::test::random_tensor({2, 18, 18, 1}, rng, 0, 1);
  mlcn::test::GradCheckOptions opt;
  opt.max_entries = 8;
  auto rep = mlcn::test::check_gradients(model_loss(m, x, {0, 2}, {}), param_vars(m), opt);
  INFO(rep.detail);
  CHECK(rep.checked > 50);
  CHECK(rep.ok);
}
