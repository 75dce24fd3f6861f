// Calibration: Pearson helper, least-squares fits recovering known models, probe speeds,
// memory overhead and reports, and the JSON round trip (save, load, identical).
#include <catch2/catch.hpp>

#include <cstdio>
#include <fstream>

#include "base/check.h"
#include "base/rng.h"
#include "sched/calibration.h"
#include "sched/cost_model.h"

using namespace mlcn;

namespace {

// Synthetic measurements: t = (alpha * flops + beta) / speed * (1 + noise).
Calibration synthetic(double alpha, double beta, double noise, uint64_t seed) {
  Calibration cal;
  cal.devices = {{"slow", 1.0, 0}, {"fast", 4.0, 8e9}};
  cal.probe_seconds = {{"slow", 0.8}, {"fast", 0.2}};
  speeds_from_probe(&cal);
  Rng rng(seed);
  for (int w = 1; w <= 3; ++w)
    for (int d = 1; d <= 3; ++d)
      for (const auto& dev : cal.devices) {
        CalibrationSample s;
        s.lane.width = w;
        s.lane.depth = d;
        s.device = dev.name;
        double x = lane_stats(s.lane).train_flops;
        s.seconds = (alpha * x + beta) / dev.speed * (1 + noise * rng.normal());
        s.peak_bytes = lane_memory_bytes(s.lane) * rng.uniform(0.5, 0.9);
        cal.samples.push_back(s);
      }
  return cal;
}

}  // namespace

TEST_CASE("pearson helper", "[sched][calibration]") {
  CHECK(pearson({1, 2, 3, 4}, {2, 4, 6, 8}) == Approx(1));
  CHECK(pearson({1, 2, 3, 4}, {8, 6, 4, 2}) == Approx(-1));
  CHECK(pearson({1, 2, 3}, {5, 5, 5}) == 0);
  // Hand-computed: x = 1..5, y = 2,4,5,4,5 -> r = 6 / sqrt(10 * 6) = 0.7746.
  CHECK(pearson({1, 2, 3, 4, 5}, {2, 4, 5, 4, 5}) == Approx(0.7745967).epsilon(1e-6));
  CHECK_THROWS_AS(pearson({1, 2}, {1}), Error);
}

TEST_CASE("least squares recovers a line", "[sched][calibration]") {
  LinearFit f = fit_linear({0, 1, 2, 3}, {1, 3, 5, 7});
  CHECK(f.alpha == Approx(2));
  CHECK(f.beta == Approx(1));
  CHECK(f.pearson == Approx(1));
  CHECK(f.n == 4);
}

TEST_CASE("time model fit recovers alpha, beta and speeds", "[sched][calibration]") {
  Calibration cal = synthetic(2e-11, 0.003, 0.0, 1);
  CHECK(cal.devices[0].speed == Approx(1));
  CHECK(cal.devices[1].speed == Approx(4));
  fit_time_model(&cal);
  CHECK(cal.global.alpha == Approx(2e-11).epsilon(1e-9));
  CHECK(cal.global.beta == Approx(0.003).epsilon(1e-6));
  REQUIRE(cal.per_device.count("fast"));
  CHECK(cal.per_device["fast"].alpha == Approx(0.5e-11).epsilon(1e-9));
  TimeReport tr = time_model_report(cal);
  CHECK(tr.n == 18);
  CHECK(tr.pearson == Approx(1));
  CHECK(tr.mean_abs_rel_error < 1e-9);

  Calibration noisy = synthetic(2e-11, 0.003, 0.1, 2);
  fit_time_model(&noisy);
  TimeReport nr = time_model_report(noisy);
  CHECK(nr.pearson > 0.9);
  CHECK(nr.pearson < 1.0);
  CostModel cm = CostModel::calibrated(noisy);
  DeviceSpec other{"unseen", 2.0, 0};
  LaneDesc l;
  CHECK(cm.lane_time(l, other) ==
        Approx((noisy.global.alpha * lane_stats(l).train_flops + noisy.global.beta) / 2.0));
}

TEST_CASE("memory overhead keeps the bound above every measurement", "[sched][calibration]") {
  MemoryReport r = memory_model_report({10, 20, 30}, {8, 21, 30});
  CHECK(r.n == 3);
  CHECK(r.under_estimates == 1);
  CHECK_FALSE(r.always_upper_bound);
  CHECK(r.mean_error_bytes == Approx(1.0 / 3));
  CHECK(r.mean_abs_error_bytes == Approx(1));
  CHECK(r.max_abs_error_bytes == 2);

  Calibration cal = synthetic(1e-11, 0, 0, 3);
  cal.samples[0].peak_bytes = lane_memory_bytes(cal.samples[0].lane) + 5e6;
  CHECK_FALSE(memory_model_report(cal).always_upper_bound);
  fit_memory_overhead(&cal);
  CHECK(cal.memory.overhead_bytes == Approx(5e6));
  CHECK(memory_model_report(cal).always_upper_bound);
}

TEST_CASE("calibration round-trips through JSON", "[sched][calibration]") {
  Calibration cal = synthetic(3e-11, 0.01, 0.05, 4);
  cal.feature = "flops";
  fit_time_model(&cal);
  fit_memory_overhead(&cal);
  cal.samples[3].lane.H = cal.samples[3].lane.W = 32;
  cal.samples[3].lane.C = 3;
  std::string path = std::string(MLCN_BINARY_DIR) + "/test_sched_calibration.json";
  save_calibration(cal, path);
  Calibration back = load_calibration(path);
  CHECK(calibration_to_json(back) == calibration_to_json(cal));
  REQUIRE(back.samples.size() == cal.samples.size());
  for (size_t i = 0; i < cal.samples.size(); ++i) {
    CHECK(back.samples[i].lane == cal.samples[i].lane);
    CHECK(back.samples[i].seconds == cal.samples[i].seconds);
    CHECK(back.samples[i].peak_bytes == cal.samples[i].peak_bytes);
  }
  CHECK(back.global.alpha == cal.global.alpha);
  CHECK(back.per_device.at("fast").beta == cal.per_device.at("fast").beta);
  CHECK(back.memory.overhead_bytes == cal.memory.overhead_bytes);
  CHECK(back.devices[1].memory_bytes == cal.devices[1].memory_bytes);
  std::remove(path.c_str());

  nlohmann::json j = calibration_to_json(cal);
  j["format"] = "something-else";
  CHECK_THROWS_WITH(calibration_from_json(j, "cal.json"), Catch::Contains("cal.json") &&
                                                               Catch::Contains("not a calibration"));
  j = calibration_to_json(cal);
  j["samples"][0]["device"] = "ghost";
  CHECK_THROWS_WITH(calibration_from_json(j, "cal.json"), Catch::Contains("ghost"));
  CHECK_THROWS_WITH(load_calibration("/nonexistent/cal.json"), Catch::Contains("cannot open"));
}
