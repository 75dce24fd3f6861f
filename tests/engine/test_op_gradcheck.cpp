// The op table (tests/op_cases.h), every entry checked against central differences in float64
// (tolerance rule in tests/gradcheck.h), and gradient properties of single ops.
#include <catch2/catch.hpp>

#include "engine/ops/ops.h"
#include "gradcheck.h"

using namespace mlcn;
using mlcn::test::check_gradients;
using mlcn::test::OpCase;
using mlcn::test::random_tensor;

TEST_CASE("op table: gradients match central differences in float64", "[gradcheck]") {
  uint64_t seed = 1701;
  const std::vector<OpCase> cases = mlcn::test::op_cases();
  REQUIRE(cases.size() >= 31);  // no case of the table may go missing
  for (const OpCase& oc : cases) {
    SECTION(oc.name) {
      std::vector<Var> inputs = mlcn::test::case_inputs(oc, oc.shapes, seed, DType::F64);
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
