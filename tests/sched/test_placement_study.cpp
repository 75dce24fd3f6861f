// The Fig. 8/9 study harness on a small configuration: networks are drawn from valid lanes
// that fit the devices, exact is proven and has zero gap, local-search is never above greedy,
// the measure hook fills a column, the table prints, and bad bench options are rejected.
#include <catch2/catch.hpp>

#include "base/check.h"
#include "sched/placement_study.h"

using namespace mlcn;

TEST_CASE("random networks hold valid lanes that fit the largest device", "[sched][study]") {
  StudyConfig cfg;
  cfg.devices = identical_devices(4, 1.0, 12.0 * 1024 * 1024 * 1024);
  auto lanes = random_network(200, cfg, 3);
  REQUIRE(lanes.size() == 200);
  bool saw_wide = false;
  for (const auto& l : lanes) {
    CHECK(lane_is_valid(l));
    CHECK(lane_memory_bytes(l) <= 12.0 * 1024 * 1024 * 1024);
    saw_wide |= l.width == 5;
  }
  CHECK(saw_wide);
  CHECK(random_network(10, cfg, 3) == random_network(10, cfg, 3));
}

TEST_CASE("study on identical and mixed devices", "[sched][study]") {
  for (bool mixed : {false, true}) {
    StudyConfig cfg;
    cfg.sizes = {6, 9};
    cfg.networks = 4;
    cfg.random_seeds = 3;
    cfg.devices = mixed ? paper_gpus(true) : identical_devices(4, 1.0, 12.0 * 1024 * 1024 * 1024);
    int calls = 0;
    MeasureFn measure = [&](const std::vector<LaneDesc>& lanes, const DeviceSet&, const std::vector<int>& pl) {
      ++calls;
      CHECK(pl.size() == lanes.size());
      return 1.0;
    };
    auto res = run_study(cfg, measure);
    REQUIRE(res.size() == 2);
    for (const auto& sr : res) {
      CHECK(sr.networks == 4);
      CHECK(sr.proven == 4);
      for (const auto& st : sr.algos) {
        INFO(st.algo << " mixed=" << mixed);
        if (st.algo == "kk" && mixed) {
          CHECK(st.runs == 0);
          continue;
        }
        CHECK(st.runs == 4);
        CHECK(st.gap_mean >= 0);
        CHECK(st.measured == 1.0);
        if (st.algo == "exact") CHECK(st.gap_max == 0);
        if (st.algo == "local-search" || st.algo == "exact") CHECK(st.worse_than_greedy == 0);
      }
    }
    CHECK(calls > 0);
    std::string table = format_study(cfg, res);
    CHECK(table.find("local-search") != std::string::npos);
    CHECK(table.find("measured s") != std::string::npos);
  }
}

TEST_CASE("bench options", "[sched][study]") {
  StudyConfig cfg;
  parse_study_args({"--networks", "7", "--sizes", "6,24", "--model", "flops", "--memory", "off"}, &cfg);
  CHECK(cfg.networks == 7);
  CHECK(cfg.sizes == std::vector<int>{6, 24});
  CHECK(cfg.model == "flops");
  CHECK_FALSE(cfg.memory);
  CHECK_THROWS_WITH(parse_study_args({"--lanes", "3"}, &cfg), Catch::Contains("unknown option '--lanes'"));
  CHECK_THROWS_WITH(parse_study_args({"--networks", "x"}, &cfg), Catch::Contains("--networks"));
  CHECK_THROWS_WITH(parse_study_args({"--memory", "maybe"}, &cfg), Catch::Contains("on or off"));
}
