// The NAS driver with a stand-in trainer: the search directory's files, an interrupted search
// resumed to the same result without redoing trainings, and refusal to overwrite or to resume
// with another config (`mlcn nas` itself: tests/cli/test_cmd_nas.cpp).
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "base/check.h"
#include "nas/nas_run.h"
#include "nas/train_bridge.h"
#include "base/json_io.h"

using namespace mlcn;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

const char* kConfig = R"({"nas": {"iterations": 5, "epochs": 2, "repeats": 2, "seed": 3, "width": [1, 3],
  "depth": [1, 3], "buckets": {"count": 2, "memory_gib": 1, "load": 0.5}}, "train": {"batch_size": 50}})";

// Accuracy from the lanes, epochs and seed of the training config: deterministic, in (0, 1).
json fake_train(const json& cfg, const std::string&, const std::string& out, const std::string&) {
  fs::create_directories(out);
  double q = 0.2;
  for (const auto& l : cfg["model"]["lanes"]) q += 0.013 * l["width"].get<int>() + 0.007 * l["depth"].get<int>();
  q = std::min(q, 0.8) + 0.01 * cfg["train"]["epochs"].get<int>() + 0.001 * cfg["train"]["seed"].get<int>();
  return {{"validation_accuracy", std::min(q, 0.99)}, {"seconds", 0.0}};
}

// The engine trainer's checkpoint contract, with accuracies that fall after the first epoch: each
// run writes an "epoch" event per epoch, last.safetensors, and best.safetensors at its best
// epoch (the first); a resumed run whose best epoch is not its last reads best.safetensors at
// the end and fails without it, as train_config does.
json checkpoint_train(const json& cfg, const std::string&, const std::string& out, const std::string& resume) {
  const fs::path dir(out);
  fs::create_directories(dir);
  int from = 0;
  if (!resume.empty()) {
    std::ifstream ev(dir / "events.jsonl");
    for (std::string line; std::getline(ev, line);) from = std::max(from, json::parse(line)["epoch"].get<int>());
  }
  const int epochs = cfg["train"]["epochs"].get<int>();
  std::ofstream ev(dir / "events.jsonl", std::ios::app);
  double acc = 0;
  for (int e = from + 1; e <= epochs; ++e) {
    acc = 0.6 - 0.1 * e;
    ev << json{{"event", "epoch"}, {"epoch", e}, {"validation_accuracy", acc}}.dump() << "\n";
    if (e == 1) std::ofstream(dir / "best.safetensors") << "best";
  }
  std::ofstream(dir / "last.safetensors") << "last";
  MLCN_CHECK(epochs == 1 || fs::exists(dir / "best.safetensors"), (dir / "best.safetensors").string() << ": cannot open");
  return {{"validation_accuracy", acc}, {"seconds", 0.0}};
}

fs::path fresh_dir(const std::string& name) {
  fs::path d = fs::path(MLCN_BINARY_DIR) / ("test_nas_" + name);
  fs::remove_all(d);
  return d;
}

std::string read(const fs::path& p) {
  std::ifstream f(p);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

}  // namespace

TEST_CASE("a search writes its config, log, summary and a best config the engine accepts", "[nas][run]") {
  for (std::string strategy : {"random", "halving"}) {
    NasConfig cfg = parse_nas_config(kConfig, "test", {"nas.strategy=" + strategy});
    fs::path dir = fresh_dir("files_" + strategy);
    NasRunOptions opt;
    opt.out_dir = dir.string();
    opt.trainer = fake_train;
    opt.progress = false;
    auto s = run_nas(cfg, opt);
    CHECK(s["complete"] == true);
    CHECK(s["model_epochs"].get<int64_t>() <= 5 * 2 * 2);
    for (const char* f : {"nas_config.json", "nas.jsonl", "summary.json", "best_config.json"})
      CHECK(fs::exists(dir / f));
    std::map<std::string, int> events;
    std::ifstream log(dir / "nas.jsonl");
    for (std::string line; std::getline(log, line);) {
      json e = json::parse(line);
      ++events[e["event"]];
      if (e["event"] == "model") {
        CHECK(e["lanes"].size() == e["placement"].size());
        CHECK(e.contains("buckets"));
        CHECK(e.contains("predicted_step_time"));
      }
    }
    CHECK(events["model"] == s["models_generated"].get<int>());
    CHECK(events["score"] == s["evaluations"].get<int>());
    CHECK(events["best"] == s["evaluations"].get<int>());
    CHECK(events["train"] == 2 * s["evaluations"].get<int>());
    CHECK(s["best_so_far"].size() == s["evaluations"].get<size_t>());
    TrainingFacts best = training_facts(read_json_file((dir / "best_config.json").string()), "best_config.json");
    CHECK(best.resolved["model"]["lanes"] == json::parse(s["best"]["lanes"].dump()));
    CHECK(best.resolved["train"]["epochs"] == 2);
    CHECK(best.resolved["runtime"]["placement"].size() == s["best"]["lanes"].size());
    CHECK(json::parse(read(dir / "summary.json")) == json::parse(s.dump()));
  }
}

TEST_CASE("an interrupted search resumes where it stopped and ends as if never stopped", "[nas][run]") {
  for (std::string strategy : {"random", "halving"}) {
    NasConfig cfg = parse_nas_config(kConfig, "test", {"nas.strategy=" + strategy});
    fs::path whole = fresh_dir("whole_" + strategy), cut = fresh_dir("cut_" + strategy);
    int whole_calls = 0, cut_calls = 0;
    NasRunOptions opt;
    opt.progress = false;
    opt.out_dir = whole.string();
    opt.trainer = [&](const json& c, const std::string& s, const std::string& o, const std::string& r) {
      ++whole_calls;
      return fake_train(c, s, o, r);
    };
    run_nas(cfg, opt);

    opt.out_dir = cut.string();
    opt.trainer = [&](const json& c, const std::string& s, const std::string& o, const std::string& r) {
      if (cut_calls == 7) throw Error("interrupted");
      ++cut_calls;
      return fake_train(c, s, o, r);
    };
    CHECK_THROWS_WITH(run_nas(cfg, opt), "interrupted");
    CHECK(json::parse(read(cut / "summary.json"))["complete"] == false);
    std::ofstream(cut / "nas.jsonl", std::ios::app) << "{\"event\": \"tra";  // a line cut short
    opt.resume = true;
    opt.trainer = [&](const json& c, const std::string& s, const std::string& o, const std::string& r) {
      ++cut_calls;
      return fake_train(c, s, o, r);
    };
    NasConfig stored = load_search_config(cut.string());
    auto s = run_nas(stored, opt);
    CHECK(s["complete"] == true);
    CHECK(cut_calls == whole_calls);
    CHECK(read(cut / "nas.jsonl") == read(whole / "nas.jsonl"));
    CHECK(read(cut / "summary.json") == read(whole / "summary.json"));
    CHECK(read(cut / "best_config.json") == read(whole / "best_config.json"));
  }
}

TEST_CASE("a search refuses to overwrite a search or to resume with another config", "[nas][run]") {
  NasConfig cfg = parse_nas_config(kConfig, "test");
  fs::path dir = fresh_dir("refuse");
  NasRunOptions opt;
  opt.out_dir = dir.string();
  opt.trainer = fake_train;
  opt.progress = false;
  run_nas(cfg, opt);
  CHECK_THROWS_WITH(run_nas(cfg, opt), Catch::Matchers::Contains("already holds a search"));
  opt.resume = true;
  NasConfig other = parse_nas_config(kConfig, "test", {"nas.seed=4"});
  CHECK_THROWS_WITH(run_nas(other, opt), Catch::Matchers::Contains("another config"));
  CHECK_NOTHROW(run_nas(cfg, opt));  // resuming a finished search only rewrites its summary
  CHECK_THROWS_WITH(load_search_config((dir / "none").string()), Catch::Matchers::Contains("no search to resume"));
}

// Found by the paper's cpu-scale run: halving resumed a model for its second rung after the
// first rung's training had deleted best.safetensors, and the resumed run, whose best epoch was
// the first, could not read it. Checkpoints now stay while a model may still be resumed, and
// none is left once the search is done.
TEST_CASE("halving keeps a model's best checkpoint until it can no longer be resumed", "[nas][run]") {
  NasConfig cfg = parse_nas_config(kConfig, "test", {"nas.strategy=halving"});
  REQUIRE(cfg.search.epochs == 2);
  fs::path dir = fresh_dir("halving_best");
  NasRunOptions opt;
  opt.out_dir = dir.string();
  opt.trainer = checkpoint_train;
  opt.progress = false;
  auto s = run_nas(cfg, opt);
  CHECK(s["complete"] == true);
  int resumed = 0, left = 0;
  for (const auto& e : fs::recursive_directory_iterator(dir / "runs")) {
    if (e.path().filename() == "events.jsonl") {
      std::ifstream ev(e.path());
      int lines = 0;
      for (std::string line; std::getline(ev, line);) ++lines;
      resumed += lines > 1;
    }
    left += e.path().filename() == "best.safetensors";
  }
  CHECK(resumed > 0);  // some model went on to the second rung from its first
  CHECK(left == 0);
}
