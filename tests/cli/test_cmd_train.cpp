// `mlcn train`: resuming a finished run changes nothing, summary.json tells the truth, the
// logs (metrics.csv, steps.csv, events.jsonl) hold what docs/cli.md promises, and --init starts
// a run from exported weights.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <sstream>

#include <nlohmann/json.hpp>

#include "cli_run.h"
#include "engine/io/safetensors.h"
#include "file_test_util.h"
#include "tiny_run.h"

namespace fs = std::filesystem;
using mlcn_test::read_text;

TEST_CASE("train: resuming a finished run says so and changes nothing", "[cli][train]") {
  mlcn_test::TempDir tmp;
  const std::string run = mlcn_test::train_tiny(tmp.path, 1);
  std::vector<std::string> before;
  for (const char* f : {"summary.json", "metrics.csv", "steps.csv", "events.jsonl", "last.safetensors", "config.json"})
    before.push_back(read_text(fs::path(run) / f));
  CliRun r = run_cli({"train", "--resume", run});
  INFO(r.err);
  CHECK(r.status == 0);
  CHECK(r.out.find("already finished its 1 epoch(s); nothing changed") != std::string::npos);
  size_t i = 0;
  for (const char* f : {"summary.json", "metrics.csv", "steps.csv", "events.jsonl", "last.safetensors", "config.json"}) {
    INFO(f);
    CHECK(read_text(fs::path(run) / f) == before[i++]);
  }
}

TEST_CASE("train: train.epochs = 0 is a config error, not a summary with accuracy 0", "[cli][train]") {
  mlcn_test::TempDir tmp;
  CliRun r = run_cli({"train", "--config", mlcn_test::tiny_config(tmp.path), "--set", "train.epochs=0", "--out",
                      tmp.file("run")});
  CHECK(r.status == 1);
  CHECK(r.err.find("train.epochs") != std::string::npos);
  CHECK(!fs::exists(tmp.file("run/summary.json")));
}

TEST_CASE("train: metrics.csv, steps.csv, events.jsonl and summary.json", "[cli][train]") {
  mlcn_test::TempDir tmp;
  const std::string run = mlcn_test::train_tiny(tmp.path, 1);
  CHECK(run_cli({"train", "--resume", run, "--set", "train.epochs=2"}).status == 0);
  const std::string metrics = read_text(fs::path(run) / "metrics.csv");
  CHECK(metrics.rfind("epoch,time_utc,elapsed_s,lr,loss,margin_loss,recon_loss,train_acc,val_acc,val_loss,best,"
                      "test_acc,test_loss,images_per_s,train_seconds,eval_seconds,peak_rss_mb,peak_alloc_mb,",
                      0) == 0);
  CHECK(mlcn_test::count_lines(metrics) == 3);  // header + 2 epochs, the resumed one included
  CHECK(metrics.find("\n2,20") != std::string::npos);  // epoch 2 with its UTC time
  const std::string steps = read_text(fs::path(run) / "steps.csv");
  CHECK(steps.rfind("step,epoch,time_utc,elapsed_s,loss,margin_loss,recon_loss,train_acc,lr,images_per_s\n", 0) == 0);
  CHECK(mlcn_test::count_lines(steps) == 5);  // log_every 1, 2 steps per epoch, 2 epochs
  CHECK(steps.find("\n4,2,") != std::string::npos);

  auto summary = nlohmann::json::parse(read_text(fs::path(run) / "summary.json"));
  INFO(summary.dump());
  CHECK(summary["test_accuracy"].get<double>() > 0.0);
  CHECK(summary["test_images"] == 50);
  CHECK(summary["resumed_after_epoch"] == 1);
  CHECK(summary["run_seconds"].get<double>() >= summary["seconds"].get<double>());
  CHECK(summary["build"]["version"].is_string());
  CHECK(summary["build"]["commit"].is_string());
  // The process's real peak RSS, not the tensor allocator's peak.
  CHECK(summary["peak_rss_mb"].get<double>() > 10.0);

  std::vector<std::string> kinds;
  std::stringstream ev(read_text(fs::path(run) / "events.jsonl"));
  for (std::string line; std::getline(ev, line);) {
    auto j = nlohmann::json::parse(line);
    CHECK(j["time"].is_string());
    kinds.push_back(j["event"]);
  }
  CHECK(kinds.front() == "start");
  CHECK(std::count(kinds.begin(), kinds.end(), "resume") == 1);
  CHECK(std::count(kinds.begin(), kinds.end(), "epoch") == 2);
  CHECK(std::count(kinds.begin(), kinds.end(), "finish") == 2);
  CHECK(std::count(kinds.begin(), kinds.end(), "best") >= 1);
}

TEST_CASE("train --init: a run starts from exported weights", "[cli][train][export]") {
  mlcn_test::TempDir tmp;
  const std::string run = mlcn_test::train_tiny(tmp.path, 1);
  const std::string w = tmp.file("w.safetensors");
  REQUIRE(run_cli({"export", "--checkpoint", run, "--out", w}).status == 0);
  // With a learning rate of 1e-30 Adam moves no weight by more than ~1e-29 (zero biases do
  // leave 0): the new run's weights are the exported ones, so --init loaded every tensor.
  const std::string run2 = tmp.file("run2");
  CliRun r = run_cli({"train", "--config", mlcn_test::tiny_config(tmp.path), "--init", w, "--set", "train.lr=1e-30",
                      "--set", "train.epochs=1", "--out", run2});
  INFO(r.err);
  REQUIRE(r.status == 0);
  const std::string w2 = tmp.file("w2.safetensors");
  REQUIRE(run_cli({"export", "--checkpoint", run2 + "/last.safetensors", "--out", w2}).status == 0);
  mlcn::StFile a = mlcn::read_safetensors(w), b = mlcn::read_safetensors(w2);
  REQUIRE(a.tensors.size() == b.tensors.size());
  for (const auto& [name, t] : a.tensors) {
    INFO(name);
    std::vector<float> x = t.to_f32(), y = b.at(name).to_f32();
    REQUIRE(x.size() == y.size());
    float worst = 0;
    for (size_t i = 0; i < x.size(); ++i) worst = std::max(worst, std::abs(x[i] - y[i]));
    CHECK(worst < 1e-20f);
  }
  CHECK(read_text(fs::path(run2) / "events.jsonl").find("\"init\":\"" + w + "\"") != std::string::npos);
  // Weights of another model: one line naming the file and the tensor.
  r = run_cli({"train", "--config", mlcn_test::tiny_config(tmp.path), "--init", w, "--set",
               "model.lanes.0.width=2", "--out", tmp.file("run3")});
  CHECK(r.status == 1);
  CHECK(r.err.find(w) != std::string::npos);
  CHECK(r.err.find("shape") != std::string::npos);
  CHECK(mlcn_test::count_lines(r.err) == 1);
  CHECK(run_cli({"train", "--resume", run, "--init", w}).status == 2);
}
