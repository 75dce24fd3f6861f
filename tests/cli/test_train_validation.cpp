// Training with a validation split, through the CLI: the split's sizes and columns, the best
// epoch chosen on validation with its test accuracy measured once at the end (and equal to
// `mlcn eval` of best.safetensors), early stopping and the time budget (and a resume that
// leaves a stopped run alone), and every new training option together (cosine + warm-up, AdamW, clipping, crops,
// flips) resuming bitwise after a kill in the middle of an epoch. Fails without the dataset.
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/wait.h>

#include <nlohmann/json.hpp>

#include "engine/io/safetensors.h"
#include "file_test_util.h"
#include "tiny_run.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

json summary_of(const std::string& run) { return json::parse(mlcn_test::read_text(fs::path(run) / "summary.json")); }

// The cells of column `name` of metrics.csv, one per epoch.
std::vector<std::string> column(const std::string& run, const std::string& name) {
  std::istringstream in(mlcn_test::read_text(fs::path(run) / "metrics.csv"));
  std::string line;
  std::getline(in, line);
  std::vector<std::string> head, out;
  for (std::istringstream h(line); std::getline(h, line, ',');) head.push_back(line);
  const size_t col = std::find(head.begin(), head.end(), name) - head.begin();
  REQUIRE(col < head.size());
  while (std::getline(in, line)) {
    std::vector<std::string> cells;
    std::istringstream r(line);
    for (std::string c; std::getline(r, c, ',');) cells.push_back(c);
    cells.resize(head.size());
    out.push_back(cells[col]);
  }
  return out;
}

}  // namespace

TEST_CASE("validation: best epoch chosen on validation, test evaluated for the final and best model only",
          "[train][validation]") {
  mlcn_test::TempDir tmp;
  const std::string run = mlcn_test::train_tiny(tmp.path, 3, {"--set", "data.validation=20"});
  const json s = summary_of(run);
  INFO(s.dump());
  CHECK(s["train_images"] == 80);
  CHECK(s["validation_images"] == 20);
  CHECK(s["test_images"] == 50);
  const int64_t best = s["best_epoch"].get<int64_t>();
  REQUIRE(best >= 1);
  REQUIRE(best <= 3);
  const std::vector<std::string> val = column(run, "val_acc"), test = column(run, "test_acc"), is_best = column(run, "best");
  REQUIRE(val.size() == 3);
  for (int e = 0; e < 3; ++e) {
    CHECK_FALSE(val[e].empty());
    CHECK(test[e].empty() == (e < 2));  // the test set: after the last epoch only
  }
  CHECK(is_best[best - 1] == "1");
  CHECK(std::stod(val[best - 1]) == Approx(s["best_validation_accuracy"].get<double>()).margin(1e-4));
  CHECK(std::stod(test[2]) == Approx(s["test_accuracy"].get<double>()).margin(1e-4));
  CliRun ev = run_cli({"eval", "--checkpoint", run + "/best.safetensors", "--set", "data.test_limit=50"});
  REQUIRE(ev.status == 0);
  CHECK(json::parse(ev.out)["accuracy"].get<double>() ==
        Approx(s["best_model_test_accuracy"].get<double>()).margin(1e-12));
}

TEST_CASE("validation: data.validation 0 evaluates the test set every epoch and chooses nothing", "[train][validation]") {
  mlcn_test::TempDir tmp;
  const std::string run = mlcn_test::train_tiny(tmp.path, 2, {"--set", "data.validation=0"});
  const json s = summary_of(run);
  CHECK(s["validation_images"] == 0);
  CHECK_FALSE(s.contains("best_epoch"));
  CHECK_FALSE(fs::exists(fs::path(run) / "best.safetensors"));
  for (const std::string& c : column(run, "test_acc")) CHECK_FALSE(c.empty());
  for (const std::string& c : column(run, "val_acc")) CHECK(c.empty());
}

TEST_CASE("validation: early stopping after `patience` epochs without a better validation accuracy",
          "[train][validation]") {
  mlcn_test::TempDir tmp;
  // A rate too small to change any prediction: the validation accuracy never improves after epoch 1.
  const std::string run = mlcn_test::train_tiny(
      tmp.path, 6, {"--set", "train.lr=1e-12", "--set", "train.lr_schedule=constant", "--set", "train.early_stop_patience=2"});
  const json s = summary_of(run);
  INFO(s.dump());
  CHECK(s["early_stopped"] == true);
  CHECK(s["epochs_done"] == 3);
  CHECK(s["best_epoch"] == 1);
  CHECK(column(run, "val_acc").size() == 3);
  CHECK(mlcn_test::read_text(fs::path(run) / "events.jsonl").find("\"early_stop\"") != std::string::npos);
  const std::string before = mlcn_test::read_text(fs::path(run) / "metrics.csv");
  CliRun again = run_cli({"train", "--resume", run});
  CHECK(again.status == 0);
  CHECK(again.out.find("nothing changed") != std::string::npos);
  CHECK(mlcn_test::read_text(fs::path(run) / "metrics.csv") == before);
  CliRun bad = run_cli({"train", "--config", mlcn_test::tiny_config(tmp.path), "--set", "data.validation=0", "--set",
                        "train.early_stop_patience=2", "--out", tmp.file("bad")});
  CHECK(bad.status == 1);
  CHECK(bad.err.find("train.early_stop_patience needs a validation split") != std::string::npos);
}

TEST_CASE("validation: train.time_limit_minutes stops at the epoch end after which another epoch would not fit",
          "[train][validation]") {
  mlcn_test::TempDir tmp;
  // A budget of 6 ms: after epoch 1 another epoch cannot fit, so the run ends there like a
  // finished one (the test set evaluated, the best model chosen on validation).
  const std::string run = mlcn_test::train_tiny(tmp.path, 4, {"--set", "train.time_limit_minutes=1e-4"});
  const json s = summary_of(run);
  INFO(s.dump());
  CHECK(s["time_limited"] == true);
  CHECK_FALSE(s.contains("early_stopped"));
  CHECK(s["epochs_done"] == 1);
  CHECK(s["epochs"] == 4);
  CHECK(s["best_epoch"] == 1);
  const std::vector<std::string> test = column(run, "test_acc");
  REQUIRE(test.size() == 1);
  CHECK(std::stod(test[0]) == Approx(s["test_accuracy"].get<double>()).margin(1e-4));
  CHECK(mlcn_test::read_text(fs::path(run) / "events.jsonl").find("\"time_limit\"") != std::string::npos);
  const std::string before = mlcn_test::read_text(fs::path(run) / "metrics.csv");
  CliRun again = run_cli({"train", "--resume", run});
  CHECK(again.status == 0);
  CHECK(mlcn_test::read_text(fs::path(run) / "metrics.csv") == before);
  // A budget that holds every epoch changes nothing.
  const fs::path full_dir = fs::path(tmp.path) / "full";
  fs::create_directories(full_dir);
  const std::string full = mlcn_test::train_tiny(full_dir, 2, {"--set", "train.time_limit_minutes=600"});
  CHECK(summary_of(full)["epochs_done"] == 2);
  CHECK_FALSE(summary_of(full).contains("time_limited"));
  CliRun bad = run_cli({"train", "--config", mlcn_test::tiny_config(tmp.path), "--set", "train.time_limit_minutes=-1",
                        "--out", tmp.file("bad")});
  CHECK(bad.status == 1);
  CHECK(bad.err.find("train.time_limit_minutes must be in [0, 1e6]") != std::string::npos);
}

TEST_CASE("validation: every training option together resumes bitwise after a kill mid-epoch", "[train][validation]") {
  mlcn_test::TempDir tmp;
  const std::string mlcn = std::string(MLCN_BINARY_DIR) + "/cli/mlcn";
  const std::vector<std::string> opts = {
      "data.train_limit=200", "data.validation=40", "train.batch_size=40", "train.lr_schedule=cosine",
      "train.warmup_epochs=0.5", "train.weight_decay=0.01", "train.clip_norm=0.5", "train.crop_padding=2",
      "train.flip=true", "train.checkpoint_every=1", "train.epochs=3", "train.log_every=0"};
  std::string sets;
  for (const std::string& o : opts) sets += " --set " + o;
  const std::string cfg = mlcn_test::tiny_config(tmp.path);
  auto train = [&](const std::string& prefix, const std::string& out) {
    return std::system((prefix + mlcn + " train --config " + cfg + sets + " --out " + out + " > /dev/null 2>&1").c_str());
  };
  REQUIRE(WEXITSTATUS(train("", tmp.file("full"))) == 0);
  const int killed = train("MLCN_FAULT=kill:0:6 ", tmp.file("cut"));  // step 6: epoch 2, step 3 of 4
  // Killed by its own SIGKILL (the shell may exec it, or report 128 + 9).
  REQUIRE(((WIFSIGNALED(killed) && WTERMSIG(killed) == SIGKILL) || (WIFEXITED(killed) && WEXITSTATUS(killed) == 137)));
  REQUIRE(WEXITSTATUS(std::system((mlcn + " train --resume " + tmp.file("cut") + " > /dev/null 2>&1").c_str())) == 0);
  for (const char* f : {"last.safetensors", "best.safetensors"}) {
    INFO(f);
    const mlcn::StFile a = mlcn::read_safetensors(tmp.file("full") + "/" + f), b = mlcn::read_safetensors(tmp.file("cut") + "/" + f);
    REQUIRE(a.tensors.size() == b.tensors.size());
    for (const auto& [name, t] : a.tensors) {
      INFO(name);
      REQUIRE(b.has(name));
      CHECK(t.bytes == b.at(name).bytes);
    }
  }
  CHECK(column(tmp.file("full"), "val_acc") == column(tmp.file("cut"), "val_acc"));
  CHECK(column(tmp.file("full"), "lr") == column(tmp.file("cut"), "lr"));
}
