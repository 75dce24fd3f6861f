// The op test table: every differentiable op has an entry, checked against central differences
// in float64 (tolerance rule in tests/gradcheck.h). Shapes are deliberately not round numbers;
// capsule ops include zero and near-zero capsules; every case uses a fixed seed.
#include <catch2/catch.hpp>

#include "engine/ops/ops.h"
#include "gradcheck.h"

using namespace mlcn;
using mlcn::test::check_gradients;
using mlcn::test::random_tensor;

namespace {

struct OpCase {
  std::string name;
  std::vector<Shape> shapes;
  mlcn::test::BuildFn build;
  double lo = -1, hi = 1;
  // Optional edit of the random inputs (zero capsules, positive lengths, ...).
  std::function<void(std::vector<Var>&)> prepare = nullptr;
};

void zero_row(Tensor& t, int64_t row, int64_t D, double value = 0.0) {
  for (int64_t d = 0; d < D; ++d) t.set(row * D + d, value);
}

std::vector<OpCase> op_cases() {
  std::vector<OpCase> c;
  c.push_back({"conv2d valid s1 + bias", {{2, 7, 6, 3}, {4, 3, 2, 3}, {4}},
               [](Tape& t, const std::vector<Var>& v) { return conv2d(t, v[0], v[1], v[2], 1, false); }});
  c.push_back({"conv2d valid s2", {{2, 9, 8, 2}, {3, 3, 3, 2}, {3}},
               [](Tape& t, const std::vector<Var>& v) { return conv2d(t, v[0], v[1], v[2], 2, false); }});
  c.push_back({"conv2d valid s3 (deep primary)", {{2, 17, 8, 3}, {5, 6, 6, 3}, {5}},
               [](Tape& t, const std::vector<Var>& v) { return conv2d(t, v[0], v[1], v[2], 3, false); }});
  c.push_back({"conv2d grouped, 3 groups", {{2, 7, 6, 6}, {9, 3, 2, 2}, {9}},
               [](Tape& t, const std::vector<Var>& v) { return conv2d(t, v[0], v[1], v[2], 2, false, 3); }});
  c.push_back({"conv2d grouped same 3x3, 2 groups", {{2, 5, 4, 4}, {4, 3, 3, 2}, {4}},
               [](Tape& t, const std::vector<Var>& v) { return conv2d(t, v[0], v[1], v[2], 1, true, 2); }});
  c.push_back({"conv2d same 3x3", {{1, 5, 4, 3}, {2, 3, 3, 3}, {2}},
               [](Tape& t, const std::vector<Var>& v) { return conv2d(t, v[0], v[1], v[2], 1, true); }});
  c.push_back({"conv2d same 1x1 (pointwise GEMM path)", {{2, 3, 4, 5}, {3, 1, 1, 5}, {3}},
               [](Tape& t, const std::vector<Var>& v) { return conv2d(t, v[0], v[1], v[2], 1, true); }});
  c.push_back({"conv2d no bias", {{2, 6, 5, 2}, {3, 2, 3, 2}},
               [](Tape& t, const std::vector<Var>& v) { return conv2d(t, v[0], v[1], nullptr, 1, false); }});
  c.push_back({"depthwise 3x3 valid", {{2, 8, 7, 3}, {3, 3, 3}},
               [](Tape& t, const std::vector<Var>& v) { return depthwise_conv2d(t, v[0], v[1], 1, false); }});
  c.push_back({"depthwise 2x2 same s2", {{1, 5, 6, 4}, {4, 2, 2}},
               [](Tape& t, const std::vector<Var>& v) { return depthwise_conv2d(t, v[0], v[1], 2, true); }});
  c.push_back({"dense", {{3, 5}, {4, 5}, {4}},
               [](Tape& t, const std::vector<Var>& v) { return dense(t, v[0], v[1], v[2]); }});
  c.push_back({"matmul", {{3, 5}, {5, 7}}, [](Tape& t, const std::vector<Var>& v) { return matmul(t, v[0], v[1]); }});
  c.push_back({"relu", {{3, 7}}, [](Tape& t, const std::vector<Var>& v) { return relu(t, v[0]); }});
  c.push_back({"sigmoid", {{3, 7}}, [](Tape& t, const std::vector<Var>& v) { return sigmoid(t, v[0]); }, -4, 4});
  c.push_back({"reshape", {{2, 6}}, [](Tape& t, const std::vector<Var>& v) {
                 return sigmoid(t, reshape(t, v[0], {3, 4}));
               }});
  c.push_back({"squash with zero and near-zero capsules", {{4, 3, 5}},
               [](Tape& t, const std::vector<Var>& v) { return squash(t, v[0]); }, -1, 1,
               [](std::vector<Var>& v) {
                 zero_row(v[0]->value, 1, 5, 0.0);
                 zero_row(v[0]->value, 4, 5, 1e-4);
               }});
  c.push_back({"squash large norms", {{3, 7}}, [](Tape& t, const std::vector<Var>& v) { return squash(t, v[0]); }, -5, 5});
  c.push_back({"predict J=3 (CapsNet shape)", {{2, 5, 3}, {5, 3, 4, 3}},
               [](Tape& t, const std::vector<Var>& v) { return predict(t, v[0], v[1]); }});
  c.push_back({"predict J=1 (MLCN shape)", {{2, 6, 4}, {6, 1, 3, 4}},
               [](Tape& t, const std::vector<Var>& v) { return predict(t, v[0], v[1]); }});
  c.push_back({"routing J=3 r=3 full gradient", {{2, 5, 3, 4}},
               [](Tape& t, const std::vector<Var>& v) { return routing(t, v[0], 3); }, -0.6, 0.6});
  c.push_back({"routing J=4 r=2 with a zero prediction", {{2, 7, 4, 3}},
               [](Tape& t, const std::vector<Var>& v) { return routing(t, v[0], 2); }, -0.8, 0.8,
               [](std::vector<Var>& v) { zero_row(v[0]->value, 3, 3, 0.0); }});
  c.push_back({"routing J=1 fast path", {{3, 6, 1, 5}},
               [](Tape& t, const std::vector<Var>& v) { return routing(t, v[0], 3, false, true); }, -0.3, 0.3});
  c.push_back({"routing J=1 general loop", {{3, 6, 1, 5}},
               [](Tape& t, const std::vector<Var>& v) { return routing(t, v[0], 3, false, false); }, -0.3, 0.3});
  c.push_back({"length with a zero capsule", {{3, 4, 5}},
               [](Tape& t, const std::vector<Var>& v) { return length(t, v[0]); }, -1, 1,
               [](std::vector<Var>& v) { zero_row(v[0]->value, 2, 5, 0.0); }});
  c.push_back({"mask", {{3, 4, 2}}, [](Tape& t, const std::vector<Var>& v) { return mask(t, v[0], {2, 0, 3}); }});
  c.push_back({"concat_last", {{2, 3, 1}, {2, 3, 2}, {2, 3, 1}},
               [](Tape& t, const std::vector<Var>& v) { return concat_last(t, {v[0], v[1], v[2]}); }});
  c.push_back({"split_last, parts reordered and one unused", {{2, 3, 6}}, [](Tape& t, const std::vector<Var>& v) {
                 std::vector<Var> p = split_last(t, v[0], {1, 3, 2});
                 return concat_last(t, {p[2], p[0]});
               }});
  c.push_back({"lane_scale (dropout)", {{2, 3, 4}},
               [](Tape& t, const std::vector<Var>& v) { return lane_scale(t, v[0], {2.0, 0.0, 2.0, 2.0}); }});
  c.push_back({"margin_loss", {{3, 4}},
               [](Tape& t, const std::vector<Var>& v) { return margin_loss(t, v[0], {1, 3, 0}); }, 0.0, 1.2});
  c.push_back({"mse_loss", {{3, 5}}, [](Tape& t, const std::vector<Var>& v) {
                 Rng r(99);
                 return mse_loss(t, v[0], random_tensor({15}, r, 0, 1));
               }});
  c.push_back({"add_scaled", {{1}, {1}},
               [](Tape& t, const std::vector<Var>& v) { return add_scaled(t, v[0], v[1], 0.392); }});
  return c;
}

}  // namespace

TEST_CASE("op table: gradients match central differences in float64", "[gradcheck]") {
  uint64_t seed = 1701;
  for (const OpCase& oc : op_cases()) {
    SECTION(oc.name) {
      Rng rng(seed);
      std::vector<Var> inputs;
      for (const Shape& s : oc.shapes) inputs.push_back(make_var(random_tensor(s, rng, oc.lo, oc.hi), true));
      if (oc.prepare) oc.prepare(inputs);
      auto rep = check_gradients(oc.build, inputs);
      INFO(oc.name << ": " << rep.detail);
      CHECK(rep.checked > 0);
      CHECK(rep.ok);
    }
    ++seed;
  }
}

TEST_CASE("gradient checker catches a wrong gradient", "[gradcheck]") {
  // A deliberately broken op: forward x^2, backward claims 3x.
  mlcn::test::BuildFn broken = [](Tape& t, const std::vector<Var>& v) {
    Var x = v[0];
    Var y = make_var(Tensor::empty(x->value.shape(), DType::F64), t.grad_enabled);
    for (int64_t i = 0; i < x->value.numel(); ++i) y->value.set(i, x->value.item(i) * x->value.item(i));
    if (t.grad_enabled)
      t.record([x, y]() {
        for (int64_t i = 0; i < x->value.numel(); ++i)
          x->grad_buffer().set(i, x->grad_buffer().item(i) + 3 * x->value.item(i) * y->grad.item(i));
      });
    return y;
  };
  Rng rng(3);
  std::vector<Var> in{make_var(random_tensor({5}, rng), true)};
  CHECK_FALSE(check_gradients(broken, in).ok);
}

TEST_CASE("routing: J=1 fast path is bit-identical to the general loop", "[routing]") {
  Rng rng(11);
  for (DType dt : {DType::F64, DType::F32}) {
    Tensor u = random_tensor({4, 37, 1, 10}, rng, -0.2, 0.2).to(dt);
    Var a = make_var(u.clone(), true), b = make_var(u.clone(), true);
    Tape t1, t2;
    Var va = routing(t1, a, 3, false, true), vb = routing(t2, b, 3, false, false);
    Tensor seed = random_tensor(va->value.shape(), rng).to(dt);
    t1.backward(va, seed);
    t2.backward(vb, seed);
    for (int64_t i = 0; i < va->value.numel(); ++i) REQUIRE(va->value.item(i) == vb->value.item(i));
    for (int64_t i = 0; i < u.numel(); ++i) REQUIRE(a->grad.item(i) == b->grad.item(i));
  }
}

TEST_CASE("routing: stop-gradient equals the full gradient with one iteration", "[routing]") {
  Rng rng(12);
  Tensor u = random_tensor({2, 9, 3, 4}, rng, -0.5, 0.5);
  Var a = make_var(u.clone(), true), b = make_var(u.clone(), true);
  Tape t1, t2;
  Var va = routing(t1, a, 1, true), vb = routing(t2, b, 1, false);
  Tensor seed = random_tensor(va->value.shape(), rng);
  t1.backward(va, seed);
  t2.backward(vb, seed);
  for (int64_t i = 0; i < u.numel(); ++i) REQUIRE(a->grad.item(i) == Approx(b->grad.item(i)).epsilon(1e-12));
  // With 3 iterations the stop-gradient result differs from the full gradient.
  Var c = make_var(u.clone(), true), d = make_var(u.clone(), true);
  Tape t3, t4;
  Var vc = routing(t3, c, 3, true), vd = routing(t4, d, 3, false);
  t3.backward(vc, seed);
  t4.backward(vd, seed);
  double diff = 0;
  for (int64_t i = 0; i < u.numel(); ++i) diff += std::fabs(c->grad.item(i) - d->grad.item(i));
  CHECK(diff > 1e-6);
}

TEST_CASE("squash: zero capsule maps to zero with a finite gradient", "[squash]") {
  Var s = make_var(Tensor::zeros({2, 16}, DType::F32), true);
  Tape t;
  Var v = squash(t, s);
  t.backward(v, Tensor::full({2, 16}, 1.0, DType::F32));
  for (int64_t i = 0; i < 32; ++i) {
    CHECK(v->value.item(i) == 0.0);
    CHECK(std::isfinite(s->grad.item(i)));
  }
}
