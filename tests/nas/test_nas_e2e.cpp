// End to end with real training through the `mlcn` binary: a tiny search (2 iterations, a few
// steps on 200 Fashion-MNIST images, 100 test images) with each strategy, then `mlcn train`
// on its best_config.json unchanged, which must reproduce the best score exactly (one repeat,
// same seed; under halving the best model's score came from a training continued from an
// earlier rung's checkpoint, so this also checks that continuing equals training straight).
// Skips without the dataset.
#include <catch2/catch.hpp>

#include <sys/wait.h>

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

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

TEST_CASE("tiny search end to end; mlcn train accepts its best config and reproduces the score", "[nas][e2e]") {
  if (!fs::exists("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz")) {
    WARN("dataset-fashion-mnist not installed: skipped");
    return;
  }
  REQUIRE(fs::exists(kMlcn));  // build the mlcn target before running test_nas
  const fs::path root = fs::path(MLCN_BINARY_DIR) / "test_nas_e2e";
  fs::remove_all(root);
  fs::create_directories(root);
  const fs::path cfg = root / "nas.json";
  std::ofstream(cfg) << R"({"nas": {"iterations": 2, "repeats": 1, "seed": 5, "width": [1, 2], "depth": [1, 2],
      "buckets": {"count": 2, "memory_gib": 1, "load": 0.0625}},
    "data": {"dataset": "fashion-mnist", "train_limit": 200, "test_limit": 100},
    "train": {"batch_size": 50, "log_every": 0, "seed": 2}, "runtime": {"threads": 2}})";
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
    REQUIRE(run(kMlcn + " train --config " + (out / "best_config.json").string() + " --out " + again.string()) == 0);
    json t = read_json(again / "summary.json");
    CHECK(t["test_images"] == 100);
    CHECK(t["test_accuracy"].get<double>() == Approx(s["best"]["score"].get<double>()).margin(1e-12));
  }
}
