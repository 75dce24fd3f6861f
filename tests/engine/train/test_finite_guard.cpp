// engine/train/finite_guard and the NaN-propagating CPU kernels: a NaN or Inf in the loss, a
// parameter or an Adam moment stops training with the step, the lane and the tensor named;
// ReLU and the margin loss pass NaN on instead of turning it into 0.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

#include "base/check.h"
#include "engine/cpu/elementwise.h"
#include "engine/cpu/loss.h"
#include "engine/optim/adam.h"
#include "engine/train/config.h"
#include "engine/train/finite_guard.h"
#include "file_test_util.h"

using namespace mlcn;
using namespace mlcn_test;

namespace {
const char* kConfig = R"({"model": {"lanes": [{"type": "mlcn1", "width": 1, "depth": 1},
                                              {"type": "mlcn2", "width": 1, "depth": 1}]}})";
}

TEST_CASE("finite guard: a finite model passes, NaN loss, weight or moment is named", "[finite]") {
  const Config cfg = parse_config(kConfig, "test");
  Model model(model_spec(cfg));
  model.init(1);
  Adam opt(model.all_params());
  CHECK(first_non_finite_tensor(model, {&opt}).empty());
  CHECK_NOTHROW(check_step_finite(0.5, model, {&opt}, 1, 3));
  CHECK_ERROR(check_step_finite(std::nan(""), model, {&opt}, 2, 7), "diverged at epoch 2 step 7", "loss is nan");

  Param* lane1 = nullptr;
  for (Param* p : model.all_params())
    if (p->name.rfind("lanes.1.", 0) == 0) lane1 = p;
  REQUIRE(lane1);
  lane1->var->value.data<float>()[2] = std::numeric_limits<float>::infinity();
  CHECK_ERROR(check_step_finite(0.5, model, {&opt}, 1, 4), "step 4", lane1->name, "(lane 1)", "element 2");
  lane1->var->value.data<float>()[2] = 0;

  Param* head = model.all_params().back();
  REQUIRE(head->name.rfind("lanes.", 0) != 0);
  size_t i = model.all_params().size() - 1;
  opt.v()[i].data<float>()[0] = std::nanf("");
  CHECK_ERROR(check_step_finite(0.5, model, {&opt}, 1, 5), "adam.v." + head->name, "shared head",
              "gradient of " + head->name);
}

TEST_CASE("ReLU and the margin loss propagate NaN", "[finite]") {
  const float nan = std::nanf("");
  float in[4] = {-1, 2, nan, 0}, out[4];
  cpu::relu_forward(out, in, 4);
  CHECK(out[0] == 0);
  CHECK(out[1] == 2);
  CHECK(std::isnan(out[2]));
  CHECK(out[3] == 0);
  float din[4] = {0, 0, 0, 0}, dout[4] = {1, 1, 1, 1};
  cpu::relu_backward(din, dout, out, 4);
  CHECK(din[0] == 0);
  CHECK(din[1] == 1);
  CHECK(std::isnan(din[2]));

  float y[2] = {nan, 0.5f};
  int32_t label = 0;
  CHECK(std::isnan(cpu::margin_forward(y, &label, 1, 2)));
  label = 1;
  CHECK(std::isnan(cpu::margin_forward(y, &label, 1, 2)));
}
