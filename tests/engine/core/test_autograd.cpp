// engine/core/autograd: closures run in reverse order, gradients accumulate across uses and
// steps, seeds are checked, and a tape without gradients records nothing.
#include <catch2/catch.hpp>

#include "base/check.h"
#include "engine/core/autograd.h"
#include "engine/ops/ops.h"

using namespace mlcn;

namespace {
Var scalar_var(double v, bool grad) { return make_var(Tensor::full({1}, v, DType::F64), grad); }
}  // namespace

TEST_CASE("autograd: closures run in reverse recording order", "[autograd]") {
  Tape t;
  std::vector<int> order;
  t.record([&] { order.push_back(1); });
  t.record([&] { order.push_back(2); });
  t.record([&] { order.push_back(3); });
  Var out = scalar_var(0, true);
  t.backward(out);
  CHECK(order == std::vector<int>{3, 2, 1});
  CHECK(out->grad.item(0) == 1.0);  // the seed of a scalar
  t.clear();
  CHECK(t.size() == 0);
}

TEST_CASE("autograd: a parameter used twice accumulates both gradients, across steps too", "[autograd]") {
  Var x = scalar_var(3, true);
  Tape t;
  Var y = add_scaled(t, x, x, 2.0);  // y = x + 2x
  t.backward(y);
  CHECK(x->grad.item(0) == 3.0);
  t.clear();
  Var z = add_scaled(t, x, x, 1.0);
  t.backward(z);
  CHECK(x->grad.item(0) == 5.0);  // 3 + 2: gradients add up until the optimizer zeroes them
}

TEST_CASE("autograd: seeds and losses are checked, no closure without gradients", "[autograd]") {
  Tape t;
  Var v = make_var(Tensor::zeros({2}, DType::F64), true);
  CHECK_THROWS_WITH(t.backward(v), Catch::Contains("scalar loss"));
  CHECK_THROWS_WITH(t.backward(std::vector<Var>{v}, std::vector<Tensor>{}), Catch::Contains("1 outputs, 0 seeds"));
  Var c = scalar_var(1, false);
  CHECK_THROWS_WITH(t.backward(c), Catch::Contains("does not require grad"));
  Tape eval;
  eval.grad_enabled = false;
  Var p = scalar_var(2, true);
  add_scaled(eval, p, p, 1.0);
  CHECK(eval.size() == 0);
  Tape frozen;
  add_scaled(frozen, c, c, 1.0);  // no input needs a gradient
  CHECK(frozen.size() == 0);
}
