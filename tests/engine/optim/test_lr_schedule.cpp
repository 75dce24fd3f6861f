// Learning-rate schedules: the value of each kind at chosen global steps (by hand from the
// formulas of engine/optim/lr_schedule.h), the warm-up ramp, and an unknown kind refused.
#include "engine/optim/lr_schedule.h"

#include <catch2/catch.hpp>

#include <cmath>

#include "base/check.h"

using namespace mlcn;

namespace {
LrSchedule make(const std::string& kind) {
  LrSchedule s;
  s.kind = kind;
  s.lr = 0.01;
  s.decay = 0.5;
  s.step_epochs = 3;
  s.lr_min = 0.001;
  s.steps_per_epoch = 10;
  s.epochs = 8;
  return s;
}
}  // namespace

TEST_CASE("lr schedule: exponential decays once per epoch, as the paper's", "[optim][schedule]") {
  const LrSchedule s = make("exponential");
  CHECK(s.at(0) == 0.01);
  CHECK(s.at(9) == 0.01);
  CHECK(s.at(10) == Approx(0.005).epsilon(1e-15));
  CHECK(s.at(35) == Approx(0.01 * 0.125).epsilon(1e-15));
}

TEST_CASE("lr schedule: step decays every step_epochs epochs", "[optim][schedule]") {
  const LrSchedule s = make("step");
  CHECK(s.at(29) == 0.01);
  CHECK(s.at(30) == Approx(0.005).epsilon(1e-15));
  CHECK(s.at(59) == Approx(0.005).epsilon(1e-15));
  CHECK(s.at(60) == Approx(0.0025).epsilon(1e-15));
}

TEST_CASE("lr schedule: cosine from lr to lr_min over the run, then stays", "[optim][schedule]") {
  const LrSchedule s = make("cosine");  // 80 steps
  CHECK(s.at(0) == Approx(0.01).epsilon(1e-15));
  CHECK(s.at(40) == Approx(0.001 + 0.009 * 0.5).epsilon(1e-12));
  CHECK(s.at(20) == Approx(0.001 + 0.009 * 0.5 * (1 + std::cos(M_PI / 4))).epsilon(1e-12));
  CHECK(s.at(80) == Approx(0.001).epsilon(1e-12));
  CHECK(s.at(500) == Approx(0.001).epsilon(1e-12));
  for (int64_t k = 1; k < 80; ++k) REQUIRE(s.at(k) < s.at(k - 1));
}

TEST_CASE("lr schedule: warm-up ramps linearly, then the schedule continues", "[optim][schedule]") {
  LrSchedule s = make("constant");
  s.warmup_epochs = 0.5;  // 5 steps
  CHECK(s.warmup_steps() == 5);
  CHECK(s.at(0) == Approx(0.002).epsilon(1e-15));
  CHECK(s.at(4) == Approx(0.01).epsilon(1e-15));
  CHECK(s.at(5) == 0.01);
  LrSchedule c = make("cosine");
  c.warmup_epochs = 1;  // cosine runs over the 70 steps after the warm-up
  CHECK(c.at(9) == Approx(0.01).epsilon(1e-15));
  CHECK(c.at(10) == Approx(0.01).epsilon(1e-15));
  CHECK(c.at(45) == Approx(0.001 + 0.009 * 0.5).epsilon(1e-12));
}

TEST_CASE("lr schedule: an unknown kind is refused naming the key", "[optim][schedule]") {
  CHECK_THROWS_WITH(check_lr_schedule_kind("linear", "train.lr_schedule"), Catch::Contains("train.lr_schedule"));
  CHECK_THROWS_WITH(make("linear").at(3), Catch::Contains("linear"));
}
