// Bucket filling in exact units and its load balance (issue 12). With the paper cost model a
// lane's load on a bucket of speed s is d * w^2 / s, so a bucket fits a lane exactly when the
// integer sum of d * w^2 stays within limit * s; speeds 3, 1.5, 0.75 and 6 make the float sums
// of d * w^2 / s inexact, and a lane bringing a bucket exactly to its limit must still be
// taken. Balance: largest / mean bucket time per model, where memory binds first (the paper's
// settings) and on mixed speeds.
#include <catch2/catch.hpp>

#include <algorithm>

#include "nas/generator.h"
#include "nas/nas_config.h"

using namespace mlcn;

namespace {

NasConfig config(const std::string& nas, const std::string& data) {
  return parse_nas_config("{\"nas\": " + nas + ", \"data\": {\"dataset\": \"" + data + "\"}}", "test");
}

// d * w^2 of a lane: its paper-model load on a speed-1 bucket.
double work(const LaneDesc& l) { return double(l.depth) * l.width * l.width; }

}  // namespace

TEST_CASE("no lane that fits a bucket exactly is left out (exact units)", "[nas][generator]") {
  for (double load : {0.25, 0.5, 1.0}) {
    // Memory that never binds: the time target is the load limit (load x 64, exact).
    NasConfig cfg = config(R"({"buckets": [{"memory_gib": 10000, "load": )" + std::to_string(load) +
                               R"(, "speed": 3}, {"memory_gib": 10000, "load": )" + std::to_string(load) +
                               R"(, "speed": 1.5}, {"memory_gib": 10000, "load": )" + std::to_string(load) +
                               R"(, "speed": 0.75}, {"memory_gib": 10000, "load": )" + std::to_string(load) +
                               R"(, "speed": 6}]})",
                           "fashion-mnist");
    ModelGenerator gen(cfg.space);
    const auto& B = cfg.space.buckets;
    REQUIRE(gen.time_target() == B[0].load_limit);
    int exact_fills = 0;
    for (int64_t id = 0; id < 1000; ++id) {
      GeneratedModel m = gen.generate(31, id);
      std::vector<double> sum(B.size(), 0.0);  // integers, exact in double
      for (size_t l = 0; l < m.lanes.size(); ++l) sum[size_t(m.bucket[l])] += work(m.lanes[l]);
      for (size_t b = 0; b < B.size(); ++b) {
        const double cap = B[b].load_limit * B[b].speed;  // 16 .. 384 x speed: exact
        INFO("load " << load << " model " << id << " bucket " << b << ": " << sum[b] << " of " << cap);
        REQUIRE(sum[b] <= cap);
        exact_fills += sum[b] == cap;
        for (const LaneDesc& c : gen.candidates()) REQUIRE(sum[b] + work(c) > cap);
      }
    }
    CHECK(exact_fills > 100);  // buckets filled to the unit: the case the float sums got wrong
  }
}

TEST_CASE("models are load-balanced when memory fills the buckets first", "[nas][generator]") {
  struct Case {
    const char* name;
    std::string nas, data;
    int models;
  };
  std::vector<Case> cases = {
      {"paper: 8 buckets of 12 GiB, 8x load, CIFAR-10", R"({"buckets": {"count": 8, "memory_gib": 12, "load": 8}})",
       "cifar10", 64},
      {"4 buckets of 2 GiB, 8x load, Fashion-MNIST", R"({"buckets": {"count": 4, "memory_gib": 2, "load": 8}})",
       "fashion-mnist", 200},
      {"mixed speeds 1, 3.1, 4.2, 6, 4 GiB, 8x load",
       R"({"buckets": [{"memory_gib": 4, "load": 8, "speed": 1}, {"memory_gib": 4, "load": 8, "speed": 3.1},
           {"memory_gib": 4, "load": 8, "speed": 4.2}, {"memory_gib": 4, "load": 8, "speed": 6}]})",
       "fashion-mnist", 200},
  };
  for (const Case& c : cases) {
    SECTION(c.name) {
      NasConfig cfg = config(c.nas, c.data);
      ModelGenerator gen(cfg.space);
      // Memory binds: the time target is below every load limit.
      for (const Bucket& b : cfg.space.buckets) REQUIRE(gen.time_target() < b.load_limit);
      double sum = 0, worst = 0;
      for (int64_t id = 0; id < c.models; ++id) {
        GeneratedModel m = gen.generate(41, id);
        REQUIRE(m.balance == Approx(bucket_balance(m.use)));
        sum += m.balance;
        worst = std::max(worst, m.balance);
      }
      INFO(c.name << ": mean balance " << sum / c.models << ", worst " << worst);
      CHECK(sum / c.models <= 1.10);
    }
  }
}
