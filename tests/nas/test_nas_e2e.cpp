// End to end with real training through the `mlcn` binary: a tiny search (2 iterations, a few
// steps on 200 Fashion-MNIST images, 100 test images) with each strategy, then `mlcn train`
// on its best_config.json unchanged, which must reproduce the best score exactly (one repeat,
// same seed; under halving the best model's score came from a training continued from an
// earlier rung's checkpoint, so this also checks that continuing equals training straight);
// and a search whose training was cut short resumes it from its checkpoint to the same score.
// Fails without the dataset (a dependency).
#include <catch2/catch.hpp>

#include <sys/wait.h>

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "base/check.h"
#include "nas/nas_run.h"
#include "nas/train_bridge.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

const std::string kMlcn = std::string(MLCN_BINARY_DIR) + "/cli/mlcn";

json read_json(const fs::path& p) {
  std::ifstream f(p);
  return json::parse(f);
}

int run(const std::string& cmd) { return WEXITSTATUS(std::system((cmd + " > /dev/null 2>&1").c_str())); }

}  // namespace

TEST_CASE("tiny search end to end, mlcn train accepts its best config and reproduces the score", "[nas][e2e]") {
  // dataset-fashion-mnist is a dependency (cli/setup.sh installs it): its absence is a failure.
  INFO("/usr/share/datasets/fashion-mnist is missing: apt-get install dataset-fashion-mnist");
  REQUIRE(fs::exists("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"));
  REQUIRE(fs::exists(kMlcn));  // build the mlcn target before running test_nas
  const fs::path root = fs::path(MLCN_BINARY_DIR) / "test_nas_e2e";
  fs::remove_all(root);
  fs::create_directories(root);
  const fs::path cfg = root / "nas.json";
  std::ofstream(cfg) << R"({"nas": {"iterations": 2, "repeats": 1, "seed": 5, "width": [1, 2], "depth": [1, 2],
      "buckets": {"count": 2, "memory_gib": 1, "load": 0.0625}},
    "data": {"dataset": "fashion-mnist", "train_limit": 200, "test_limit": 100},
    "train": {"batch_size": 50, "log_every": 0, "seed": 2}, "runtime": {"threads": 2, "cpu_devices": 2}})";
  for (std::string strategy : {"random", "halving"}) {
    const std::string epochs = strategy == "random" ? "1" : "2";
    const fs::path out = root / strategy, again = root / (strategy + "_train");
    REQUIRE(run(kMlcn + " nas --config " + cfg.string() + " --set nas.strategy=" + strategy +
                " --set nas.epochs=" + epochs + " --out " + out.string()) == 0);
    json s = read_json(out / "summary.json");
    INFO(s.dump());
    CHECK(s["complete"] == true);
    CHECK(s["model_epochs"].get<int>() <= 2 * std::stoi(epochs));
    CHECK(s["models_generated"].get<int>() == (strategy == "random" ? 2 : 3));
    CHECK(fs::exists(out / "nas.jsonl"));
    CHECK_FALSE(fs::exists(out / "runs/m0000-r0/last.safetensors"));  // checkpoints removed when done
    json best = read_json(out / "best_config.json");  // lanes on CPU device (bucket mod 2)
    REQUIRE(best["runtime"]["placement"] == s["best"]["placement"]);
    REQUIRE(run(kMlcn + " train --config " + (out / "best_config.json").string() + " --out " + again.string()) == 0);
    json t = read_json(again / "summary.json");
    CHECK(t["test_images"] == 100);
    CHECK(t["validation_accuracy"].get<double>() == Approx(s["best"]["score"].get<double>()).margin(1e-12));
  }
}

TEST_CASE("a training cut short by an interruption continues from its checkpoint on resume", "[nas][e2e]") {
  // dataset-fashion-mnist is a dependency (cli/setup.sh installs it): its absence is a failure.
  INFO("/usr/share/datasets/fashion-mnist is missing: apt-get install dataset-fashion-mnist");
  REQUIRE(fs::exists("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"));
  const fs::path root = fs::path(MLCN_BINARY_DIR) / "test_nas_e2e_cut";
  fs::remove_all(root);
  mlcn::NasConfig cfg = mlcn::parse_nas_config(
      R"({"nas": {"iterations": 1, "epochs": 2, "repeats": 1, "seed": 8, "width": [1, 2], "depth": [1, 2],
          "buckets": {"count": 1, "memory_gib": 1, "load": 0.0625}},
        "data": {"dataset": "fashion-mnist", "train_limit": 200, "test_limit": 100},
        "train": {"batch_size": 50, "log_every": 0}, "runtime": {"threads": 2}})",
      "test");
  mlcn::NasRunOptions opt;
  opt.out_dir = (root / "search").string();
  opt.progress = false;
  // The first training stops after 1 of its 2 epochs, as a killed process would.
  opt.trainer = [](const json& c, const std::string& src, const std::string& out, const std::string& resume) -> json {
    json one = c;
    one["train"]["epochs"] = 1;
    mlcn::train_config(one, src, out, resume);
    throw mlcn::Error("interrupted");
  };
  CHECK_THROWS_WITH(mlcn::run_nas(cfg, opt), "interrupted");
  std::string resumed_from;
  opt.resume = true;
  opt.trainer = [&](const json& c, const std::string& src, const std::string& out, const std::string& resume) {
    resumed_from = resume;
    return mlcn::train_config(c, src, out, resume);
  };
  auto s = mlcn::run_nas(mlcn::load_search_config(opt.out_dir), opt);
  CHECK(resumed_from == (root / "search" / "runs" / "m0000-r0").string());
  json straight = mlcn::train_config(read_json(root / "search" / "best_config.json"), "straight",
                                     (root / "straight").string(), "");
  CHECK(straight["validation_accuracy"].get<double>() == Approx(s["best"]["score"].get<double>()).margin(1e-12));
}
