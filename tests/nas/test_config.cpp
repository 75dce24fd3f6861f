// NAS config: defaults, the reference load and load multiples, bucket forms, strict keys,
// the NAS-owned training keys, and the training config built for a generated model.
#include <catch2/catch.hpp>

#include "base/check.h"
#include "nas/nas_config.h"
#include "nas/train_bridge.h"

using namespace mlcn;

TEST_CASE("defaults are the paper's settings, loads are multiples of 4 x (w2, d4)", "[nas][config]") {
  NasConfig c = parse_nas_config("{}", "test");
  CHECK(c.search.strategy == "random");
  CHECK(c.search.iterations == 64);
  CHECK(c.search.epochs == 10);
  CHECK(c.search.repeats == 4);
  CHECK(c.search.budget() == 64 * 10 * 4);
  REQUIRE(c.reference.size() == 4);
  CHECK(c.reference_load == 64);  // 4 x d*w^2 = 4 x 16
  REQUIRE(c.space.buckets.size() == 8);
  for (const Bucket& b : c.space.buckets) {
    CHECK(b.load_limit == 8 * 64);
    CHECK(b.memory_bytes == 12.0 * 1073741824.0);
  }
  CHECK(c.space.shape.batch == 100);
  CHECK(c.space.shape.H == 28);

  NasConfig t = parse_nas_config(
      R"({"nas": {"load_scope": "total", "buckets": {"count": 8, "memory_gib": 2, "load": 1}}})", "test");
  for (const Bucket& b : t.space.buckets) CHECK(b.load_limit == 64.0 / 8);

  NasConfig l = parse_nas_config(R"({"nas": {"buckets": [{"name": "K80", "memory_gib": 12, "load": 2},
      {"memory_gib": 16, "load": 1, "speed": 6}]}, "data": {"dataset": "cifar10"}, "train": {"batch_size": 50}})",
                                 "test");
  REQUIRE(l.space.buckets.size() == 2);
  CHECK(l.space.buckets[0].name == "K80");
  CHECK(l.space.buckets[1].name == "bucket1");
  CHECK(l.space.buckets[1].speed == 6);
  CHECK(l.space.buckets[0].load_limit == 128);
  CHECK(l.space.shape.C == 3);
  CHECK(l.space.shape.batch == 50);

  NasConfig o = parse_nas_config("{}", "test", {"nas.buckets.count=3", "nas.iterations=5", "nas.strategy=halving"});
  CHECK(o.space.buckets.size() == 3);
  CHECK(o.search.iterations == 5);
  CHECK(o.search.strategy == "halving");
}

TEST_CASE("bad NAS configs name the key", "[nas][config]") {
  auto err = [](const std::string& text) {
    try {
      parse_nas_config(text, "bad.json");
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  using Catch::Matchers::Contains;
  CHECK_THAT(err(R"({"nas": {"iteratons": 3}})"), Contains("nas.iteratons"));
  CHECK_THAT(err(R"({"nas": {"buckets": {"count": 2, "memry_gib": 3}}})"), Contains("nas.buckets.memry_gib"));
  CHECK_THAT(err(R"({"nas": {"buckets": [{"memory_gib": 2}]}})"), Contains("nas.buckets[0] needs memory_gib and load"));
  CHECK_THAT(err(R"({"nas": {"buckets": {"count": 2, "load": -1}}})"), Contains("nas.buckets.load"));
  CHECK_THAT(err(R"({"nas": {"strategy": "evolution"}})"), Contains("nas.strategy"));
  CHECK_THAT(err(R"({"nas": {"width": [3, 1]}})"), Contains("nas.width"));
  CHECK_THAT(err(R"({"nas": {"epochs": "ten"}})"), Contains("nas.epochs"));
  CHECK_THAT(err(R"({"nas": {"budget_model_epochs": 5}})"), Contains("below one full evaluation"));
  CHECK_THAT(err(R"({"model": {"lanes": []}})"), Contains("model.lanes"));
  CHECK_THAT(err(R"({"train": {"epochs": 3}})"), Contains("nas.epochs"));
  CHECK_THAT(err(R"({"runtime": {"placement": [0]}})"), Contains("runtime.placement"));
  CHECK_THAT(err(R"({"train": {"bogus": 1}})"), Contains("train.bogus"));
  CHECK_THAT(err(R"({"data": {"dataset": "mnist"}})"), Contains("data.dataset"));
  CHECK_THAT(err(R"({"extra": {}})"), Contains("'extra'"));
  CHECK_THAT(err(R"({"nas": {"buckets": {"count": 1, "memory_gib": 0.5, "load": 1}}})"), Contains("no error"));
  NasConfig tiny = parse_nas_config(R"({"nas": {"buckets": {"count": 2, "memory_gib": 0.001}}})", "t");
  CHECK_THROWS_WITH(ModelGenerator(tiny.space), Contains("no lane fits any empty bucket"));
}

TEST_CASE("a generated model's training config is accepted by the engine", "[nas][config]") {
  NasConfig c = parse_nas_config(R"({"nas": {"buckets": {"count": 3, "memory_gib": 2, "load": 0.5}},
      "train": {"seed": 40, "batch_size": 20, "lr": 0.002}, "runtime": {"cpu_devices": 2},
      "data": {"train_limit": 100}})",
                                 "test");
  ModelGenerator gen(c.space);
  GeneratedModel m = gen.generate(1, 0);
  auto j = training_config_json(c, m, 2, 7);
  TrainingFacts f = training_facts(j, "generated");
  CHECK(f.seed == 42);
  CHECK(f.batch_size == 20);
  CHECK(f.resolved["train"]["epochs"] == 7);
  CHECK(f.resolved["train"]["lr"].get<double>() == 0.002);
  CHECK(f.resolved["data"]["train_limit"] == 100);
  REQUIRE(f.resolved["model"]["lanes"].size() == m.lanes.size());
  for (size_t l = 0; l < m.lanes.size(); ++l) {
    CHECK(f.resolved["model"]["lanes"][l]["width"] == m.lanes[l].width);
    CHECK(f.resolved["runtime"]["placement"][l] == m.bucket[l] % 2);
  }
  // The resolved NAS config parses back to itself (what --resume relies on).
  CHECK(nas_config_from_json(c.json, "again").json == c.json);
}
