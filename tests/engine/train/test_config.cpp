// engine/train/config: the defaults come from one JSON file that docs/config.md documents key by
// key; every key is range-checked and its errors name the source; --set reaches list elements;
// every training config shipped in configs/ loads.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "base/check.h"
#include "base/json_io.h"
#include "engine/core/backend.h"  // defines: routing_variant_named, predict_variant_named
#include "engine/train/config.h"

using namespace mlcn;
using nlohmann::json;
using Catch::Matchers::Contains;

namespace {

// The json5 block of docs/config.md with its // comments removed.
json documented_defaults() {
  std::ifstream f(std::string(MLCN_SOURCE_DIR) + "/docs/config.md");
  REQUIRE(f.good());
  std::stringstream ss;
  ss << f.rdbuf();
  const std::string doc = ss.str();
  const size_t start = doc.find("```json5\n");
  REQUIRE(start != std::string::npos);
  const size_t end = doc.find("```", start + 9);
  REQUIRE(end != std::string::npos);
  std::istringstream block(doc.substr(start + 9, end - start - 9));
  std::string text;
  for (std::string line; std::getline(block, line);) {
    const size_t c = line.find("//");
    text += (c == std::string::npos ? line : line.substr(0, c)) + "\n";
  }
  return json::parse(text);
}

}  // namespace

TEST_CASE("config: docs/config.md documents exactly the compiled-in defaults", "[config]") {
  CHECK(documented_defaults() == config_defaults());
}

TEST_CASE("config: an empty config is the defaults, and the Config struct carries them", "[config]") {
  Config c = parse_config("{}", "empty");
  CHECK(c.json == config_defaults());
  const json& d = config_defaults();
  CHECK(c.epochs == d["train"]["epochs"].get<int>());
  CHECK(c.batch_size == d["train"]["batch_size"].get<int>());
  CHECK(c.lr == d["train"]["lr"].get<double>());
  CHECK(c.lr_decay == d["train"]["lr_decay"].get<double>());
  CHECK(c.routings == d["model"]["routings"].get<int>());
  CHECK(c.lanes.size() == d["model"]["lanes"].size());
  CHECK(c.device == d["runtime"]["device"].get<std::string>());
  CHECK(c.cpu_devices == d["runtime"]["cpu_devices"].get<int>());
}

TEST_CASE("config: integers beyond their range name the key instead of wrapping", "[config]") {
  CHECK_THROWS_WITH(parse_config(R"({"train": {"epochs": 4294967297}})", "c.json"),
                    Contains("c.json: train.epochs must be an integer in 1..1000000"));
  CHECK_THROWS_WITH(parse_config(R"({"train": {"batch_size": 1000000000}})", "c.json"),
                    Contains("train.batch_size must be an integer in 1..65536"));
  CHECK_THROWS_WITH(parse_config(R"({"runtime": {"cpu_devices": 4096}})", "c.json"),
                    Contains("runtime.cpu_devices must be an integer in 0..256"));
  CHECK_THROWS_WITH(parse_config(R"({"model": {"routings": 4294967299}})", "c.json"), Contains("model.routings"));
  CHECK_THROWS_WITH(parse_config(R"({"train": {"seed": -1}})", "c.json"), Contains("train.seed"));
  CHECK_THROWS_WITH(parse_config(R"({"train": {"lr": 1e400}})", "c.json"), Contains("c.json: invalid JSON"));
}

TEST_CASE("config: a negative reconstruction weight and a cosine floor above lr are refused", "[config]") {
  CHECK_THROWS_WITH(parse_config(R"({"train": {"lam_recon": -1}})", "c.json"),
                    Contains("c.json: train.lam_recon must be in [0, 1000]"));
  CHECK_THROWS_WITH(parse_config(R"({"train": {"lr_schedule": "cosine", "lr": 0.001, "lr_min": 0.01}})", "c.json"),
                    Contains("c.json: train.lr_min (0.01) is above train.lr (0.001)"));
  CHECK_NOTHROW(parse_config(R"({"train": {"lam_recon": 0, "lr_schedule": "cosine", "lr": 0.01, "lr_min": 0.01}})", "c.json"));
  CHECK_NOTHROW(parse_config(R"({"train": {"lr_schedule": "exponential", "lr": 0.001, "lr_min": 0.01}})", "c.json"));
}

TEST_CASE("config: --set errors name --set, the file's own errors name the file", "[config]") {
  CHECK_THROWS_WITH(parse_config("{}", "c.json", {"train.epoch=1"}),
                    Contains("--set train.epoch=1: unknown config key 'train.epoch' (did you mean 'train.epochs'?)"));
  CHECK_THROWS_WITH(parse_config("{}", "c.json", {"train.epochs=many"}),
                    Contains("--set: config key 'train.epochs' must be an integer"));
  CHECK_THROWS_WITH(parse_config(R"({"train": {"epochs": "x"}})", "c.json", {"train.lr=0.1"}), Contains("c.json:"));
  CHECK_THROWS_WITH(parse_config(R"({"train": {"epochs": 1, "epochs": 2}})", "c.json"),
                    Contains("c.json: invalid JSON: duplicate key 'epochs'"));
}

TEST_CASE("config: the GPU kernel variants are names, and a wrong one names the key", "[config]") {
  Config c = parse_config(R"({"runtime": {"routing_variant": "cluster", "predict_variant": "blas"}})", "c.json");
  CHECK(routing_variant_named(c.routing_variant) == kernels::RoutingVariant::Cluster);
  CHECK(predict_variant_named(c.predict_variant) == kernels::PredictVariant::Blas);
  for (const char* v : {"auto", "fused", "one-pass", "unfused", "split", "cluster"})
    CHECK_NOTHROW(parse_config("{}", "c.json", {std::string("runtime.routing_variant=") + v}));
  CHECK(predict_variant_named("shared") == kernels::PredictVariant::Shared);
  CHECK_THROWS_WITH(parse_config(R"({"runtime": {"routing_variant": "onepass"}})", "c.json"),
                    Contains("c.json: runtime.routing_variant: unknown routing variant 'onepass' (auto, fused"));
  CHECK_THROWS_WITH(parse_config("{}", "c.json", {"runtime.predict_variant=cublas"}),
                    Contains("runtime.predict_variant: unknown prediction-transform variant 'cublas' (auto, shared, blas)"));
}

TEST_CASE("config: --set reaches one lane, dataset aliases resolve to the canonical name", "[config]") {
  Config c = parse_config("{}", "c.json", {"model.lanes.1.width=3", "data.dataset=fmnist"});
  REQUIRE(c.lanes.size() == 2);
  CHECK(c.lanes[0].width == config_defaults()["model"]["lanes"][0]["width"].get<int>());
  CHECK(c.lanes[1].width == 3);
  CHECK(c.dataset == "fashion-mnist");
  CHECK(c.json["data"]["dataset"] == "fashion-mnist");
  CHECK_THROWS_WITH(parse_config("{}", "c.json", {"data.dataset=mnist"}),
                    Contains("data.dataset: unknown dataset 'mnist'"));
}

TEST_CASE("config: keys the chosen model ignores are errors", "[config]") {
  CHECK_THROWS_WITH(parse_config(R"({"model": {"type": "capsnet", "lanes": [{"type": "mlcn1", "width": 1, "depth": 1}]}})",
                                 "caps.json"),
                    Contains("caps.json: model.lanes is not used by model.type capsnet"));
  Config caps = parse_config(R"({"model": {"type": "capsnet"}})", "caps.json");
  CHECK(caps.lanes.empty());
  CHECK_FALSE(caps.json["model"].contains("lanes"));
  CHECK_NOTHROW(config_from_json(caps.json, "round trip"));  // a run's config.json loads again
}

TEST_CASE("config: every training config shipped in configs/ loads and describes its model", "[config]") {
  int checked = 0;
  for (const auto& entry : std::filesystem::directory_iterator(std::string(MLCN_SOURCE_DIR) + "/configs")) {
    const std::string name = entry.path().filename().string();
    if (entry.path().extension() != ".json" || name.rfind("nas-", 0) == 0) continue;  // nas-*: tests/nas
    INFO(name);
    Config c;
    REQUIRE_NOTHROW(c = load_config(entry.path().string()));
    CHECK_NOTHROW(model_spec(c));
    ++checked;
  }
  CHECK(checked >= 10);
}
