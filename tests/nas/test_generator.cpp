// Lane generator and bucket filling over thousands of seeded models in several spaces (paper
// limits on both datasets, heterogeneous buckets, tight limits, the flops cost model): every
// lane is valid and in range, no bucket exceeds its memory or load limit (recomputed with the
// sched models, independently of the generator's bookkeeping), filling stops only when no lane
// of the family fits any bucket, and the same seed gives the same models.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>

#include "nas/generator.h"
#include "nas/nas_config.h"

using namespace mlcn;

namespace {

NasConfig config(const std::string& nas, const std::string& rest = R"("data": {"dataset": "fashion-mnist"})") {
  return parse_nas_config("{\"nas\": " + nas + ", " + rest + "}", "test");
}

// Independent check of one model against its space (sched models only); buckets are full up
// to their memory limit and to the generator's time target.
void check_model(const GeneratedModel& m, const SearchSpace& s, double target) {
  const int B = int(s.buckets.size());
  REQUIRE(m.lanes.size() == m.bucket.size());
  REQUIRE(int(m.use.size()) == B);
  std::vector<double> mem(B, 0.0), load(B, 0.0);
  std::vector<int> count(B, 0);
  for (size_t l = 0; l < m.lanes.size(); ++l) {
    const LaneDesc& lane = m.lanes[l];
    REQUIRE(lane_is_valid(lane));
    REQUIRE(lane.type == s.lane_type);
    REQUIRE(lane.width >= s.width_min);
    REQUIRE(lane.width <= s.width_max);
    REQUIRE(lane.depth >= s.depth_min);
    REQUIRE(lane.depth <= s.depth_max);
    const int b = m.bucket[l];
    REQUIRE(b >= 0);
    REQUIRE(b < B);
    mem[b] += lane_memory_bytes(lane, s.memory);
    load[b] += s.cost.lane_time(lane, DeviceSpec{"b", s.buckets[b].speed, 0});
    ++count[b];
  }
  for (int b = 0; b < B; ++b) {
    REQUIRE(mem[b] <= s.buckets[b].memory_bytes);
    REQUIRE(load[b] <= s.buckets[b].load_limit * (1 + 1e-12));
    REQUIRE(m.use[b].memory_bytes == Approx(mem[b]).epsilon(1e-12));
    REQUIRE(m.use[b].load == Approx(load[b]).epsilon(1e-12));
    REQUIRE(m.use[b].lanes == count[b]);
    // Full: no lane of the family fits what is left of this bucket.
    for (int w = s.width_min; w <= s.width_max; ++w)
      for (int d = s.depth_min; d <= s.depth_max; ++d) {
        LaneDesc l = space_lane(s, w, d);
        if (!lane_is_valid(l)) continue;
        const double t = s.cost.lane_time(l, DeviceSpec{"b", s.buckets[b].speed, 0});
        const bool fits = mem[b] + lane_memory_bytes(l, s.memory) <= s.buckets[b].memory_bytes &&
                          load[b] + t <= std::min(s.buckets[b].load_limit, target);
        INFO("bucket " << b << " still fits w=" << w << " d=" << d);
        REQUIRE_FALSE(fits);
      }
  }
}

bool same(const GeneratedModel& a, const GeneratedModel& b) {
  return a.id == b.id && a.lanes == b.lanes && a.bucket == b.bucket && a.predicted_step_time == b.predicted_step_time;
}

}  // namespace

TEST_CASE("generated models respect every bucket and fill them completely", "[nas][generator]") {
  struct Case {
    const char* name;
    std::string nas, rest;
    int models;
  };
  const std::string fm = R"("data": {"dataset": "fashion-mnist"})";
  const std::string cf = R"("data": {"dataset": "cifar10"})";
  std::vector<Case> cases = {
      {"paper 8x 12 GiB 8 buckets, CIFAR-10", R"({"buckets": {"count": 8, "memory_gib": 12, "load": 8}})", cf, 300},
      {"paper 1x 2 GiB 4 buckets, FMNIST", R"({"buckets": {"count": 4, "memory_gib": 2, "load": 1}})", fm, 1000},
      {"heterogeneous speeds and memory, total scope",
       R"({"load_scope": "total", "buckets": [{"name": "K80", "memory_gib": 12, "load": 4, "speed": 1},
           {"name": "M40", "memory_gib": 24, "load": 4, "speed": 3.1}, {"memory_gib": 16, "load": 4, "speed": 4.2},
           {"memory_gib": 0.5, "load": 4, "speed": 6}]})",
       fm, 600},
      {"tight limits, narrow family",
       R"({"width": [1, 2], "depth": [1, 3], "buckets": {"count": 3, "memory_gib": 0.3, "load": 0.25}})",
       fm + R"(, "train": {"batch_size": 50})", 1000},
      {"flops cost model", R"({"cost_model": "flops", "buckets": {"count": 2, "memory_gib": 4, "load": 2}})", cf, 400},
  };
  for (const Case& c : cases) {
    SECTION(c.name) {
      NasConfig cfg = config(c.nas, c.rest);
      ModelGenerator gen(cfg.space);
      size_t lanes = 0;
      for (int64_t id = 0; id < c.models; ++id) {
        GeneratedModel m = gen.generate(7, id);
        REQUIRE(m.id == id);
        REQUIRE_FALSE(m.lanes.empty());
        check_model(m, cfg.space, gen.time_target());
        lanes += m.lanes.size();
      }
      INFO(c.name << ": " << lanes << " lanes");
      CHECK(lanes > size_t(c.models));
    }
  }
}

TEST_CASE("the same seed gives the same models, model i does not depend on the others", "[nas][generator]") {
  NasConfig cfg = config(R"({"buckets": {"count": 4, "memory_gib": 4, "load": 2}})");
  ModelGenerator a(cfg.space), b(cfg.space);
  std::vector<GeneratedModel> first;
  for (int64_t id = 0; id < 50; ++id) first.push_back(a.generate(11, id));
  for (int64_t id = 49; id >= 0; --id) CHECK(same(b.generate(11, id), first[size_t(id)]));
  int differ = 0;
  for (int64_t id = 0; id < 50; ++id) differ += a.generate(12, id).lanes != first[size_t(id)].lanes;
  CHECK(differ > 40);
  int distinct = 0;
  for (size_t i = 1; i < first.size(); ++i) distinct += first[i].lanes != first[0].lanes;
  CHECK(distinct > 40);
}

TEST_CASE("filling keeps buckets balanced and predicts the step time of the placement", "[nas][generator]") {
  // Memory that never binds: every bucket is filled by load.
  NasConfig cfg = config(R"({"buckets": {"count": 8, "memory_gib": 100000, "load": 4}})");
  ModelGenerator gen(cfg.space);
  for (int64_t id = 0; id < 200; ++id) {
    GeneratedModel m = gen.generate(3, id);
    double max_load = 0, min_load = 1e300;
    for (const BucketUse& u : m.use) {
      max_load = std::max(max_load, u.load);
      min_load = std::min(min_load, u.load);
    }
    // Paper model: the step time is the slowest bucket (no head or exchange term).
    CHECK(m.predicted_step_time == Approx(max_load));
    CHECK(m.balance == Approx(bucket_balance(m.use)));
    CHECK(m.balance < 1.02);
    // A bucket is full only when not even the smallest lane (w=1, d=1, cost 1) fits.
    CHECK(min_load > cfg.space.buckets[0].load_limit - 1);
  }
}

TEST_CASE("each lane goes to the least-filled bucket that still fits a lane", "[nas][generator]") {
  NasConfig cfg = config(R"({"buckets": [{"memory_gib": 12, "load": 8}, {"memory_gib": 2, "load": 4, "speed": 3},
      {"memory_gib": 6, "load": 2}, {"memory_gib": 12, "load": 8, "speed": 0.5}]})");
  ModelGenerator gen(cfg.space);
  const auto& B = cfg.space.buckets;
  for (int64_t id = 0; id < 300; ++id) {
    GeneratedModel m = gen.generate(21, id);
    std::vector<BucketUse> use(B.size());
    for (size_t l = 0; l < m.lanes.size(); ++l) {
      const int b = m.bucket[l];
      for (int o = 0; o < int(B.size()); ++o) {
        bool open = false;  // bucket o could still take some lane, so it was not full
        for (int c = 0; c < int(gen.candidates().size()); ++c) open = open || gen.fits(c, o, use[size_t(o)]);
        const double T = gen.time_target();
        const double fb = use[size_t(b)].load / std::min(B[size_t(b)].load_limit, T);
        if (open) REQUIRE(fb <= use[size_t(o)].load / std::min(B[size_t(o)].load_limit, T));
      }
      int c = 0;
      while (gen.candidates()[size_t(c)] != m.lanes[l]) ++c;
      REQUIRE(gen.fits(c, b, use[size_t(b)]));
      use[size_t(b)].memory_bytes += gen.lane_memory(c);
      use[size_t(b)].load += gen.lane_load(c, b);
    }
  }
}

TEST_CASE("a lane that fits no bucket is never drawn, fitting() agrees with fits()", "[nas][generator]") {
  NasConfig cfg = config(R"({"buckets": [{"memory_gib": 0.05, "load": 1}, {"memory_gib": 12, "load": 0.02}]})");
  ModelGenerator gen(cfg.space);
  BucketUse empty;
  for (int b = 0; b < 2; ++b) {
    auto fit = gen.fitting(b, empty);
    for (int c = 0; c < int(gen.candidates().size()); ++c)
      CHECK((std::find(fit.begin(), fit.end(), c) != fit.end()) == gen.fits(c, b, empty));
  }
  // Bucket 1 takes 0.02 x 64 = 1.28 units: only w=1, d=1 (cost 1) fits, once.
  auto fit1 = gen.fitting(1, empty);
  REQUIRE(fit1.size() == 1);
  CHECK(gen.candidates()[size_t(fit1[0])].width == 1);
  CHECK(gen.candidates()[size_t(fit1[0])].depth == 1);
  for (int64_t id = 0; id < 100; ++id) {
    GeneratedModel m = gen.generate(5, id);
    CHECK(m.use[1].lanes == 1);
    check_model(m, cfg.space, gen.time_target());
  }
}

TEST_CASE("model JSON reports lanes, placement and bucket use", "[nas][generator]") {
  NasConfig cfg = config(R"({"buckets": {"count": 2, "memory_gib": 1, "load": 0.5}})");
  ModelGenerator gen(cfg.space);
  GeneratedModel m = gen.generate(1, 4);
  auto j = model_to_json(m, cfg.space);
  CHECK(j["id"] == 4);
  REQUIRE(j["lanes"].size() == m.lanes.size());
  CHECK(j["placement"].size() == m.lanes.size());
  REQUIRE(j["buckets"].size() == 2);
  for (const auto& b : j["buckets"]) {
    CHECK(b["load_fraction"].get<double>() <= 1.0);
    CHECK(b["memory_fraction"].get<double>() <= 1.0);
  }
  CHECK(j["predicted_step_time"].get<double>() > 0);
  CHECK(j["balance"].get<double>() >= 1.0);
  CHECK(j["parameters"].get<int64_t>() > 0);
}
