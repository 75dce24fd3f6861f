// Run-directory safety through the `mlcn` CLI on a Fashion-MNIST subset: a failing --overwrite
// or --resume leaves the previous run byte-identical, a second writer is refused, SIGTERM
// mid-run saves a checkpoint that resumes to exactly the uninterrupted run, and SIGKILLs during
// step-level checkpoints leave no temp files and no epoch listed twice after the resume.
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "cli_run.h"
#include "engine/io/safetensors.h"
#include "engine/train/run_dir.h"

namespace fs = std::filesystem;

namespace {
const std::string kMlcn = std::string(MLCN_BINARY_DIR) + "/cli/mlcn";

bool have_fmnist() { return fs::exists("/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz"); }

fs::path config_file() {
  // Written to a private name and renamed: ctest -j runs the cases of this file in parallel.
  const fs::path p = fs::temp_directory_path() / "mlcn_safety_cfg.json";
  const fs::path tmp = p.string() + "." + std::to_string(getpid());
  std::ofstream(tmp) << R"({"model": {"lanes": [{"type": "mlcn1", "width": 1, "depth": 1}], "lane_dropout": 0.3},
                          "data": {"train_limit": 400, "test_limit": 100},
                          "train": {"batch_size": 25, "shift_fraction": 0.1, "log_every": 1000, "epochs": 3},
                          "runtime": {"threads": 1}})";
  fs::rename(tmp, p);
  return p;
}

std::map<std::string, std::string> snapshot(const fs::path& dir) {
  std::map<std::string, std::string> files;
  for (const auto& e : fs::directory_iterator(dir)) {
    std::ifstream in(e.path(), std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    files[e.path().filename().string()] = ss.str();
  }
  return files;
}

void expect_same_checkpoint(const fs::path& a, const fs::path& b) {
  mlcn::StFile fa = mlcn::read_safetensors(a.string()), fb = mlcn::read_safetensors(b.string());
  REQUIRE(fa.tensors.size() == fb.tensors.size());
  for (const auto& [name, t] : fa.tensors) {
    INFO(name);
    REQUIRE(fb.has(name));
    CHECK(t.bytes == fb.at(name).bytes);
  }
}

// Epoch numbers of metrics.csv rows; each must appear once, in order.
std::vector<int> metric_epochs(const fs::path& dir) {
  std::ifstream in(dir / "metrics.csv");
  std::vector<int> out;
  std::string line;
  std::getline(in, line);
  while (std::getline(in, line)) out.push_back(std::stoi(line.substr(0, line.find(','))));
  return out;
}

pid_t spawn(const std::vector<std::string>& args) {
  pid_t pid = fork();
  if (pid == 0) {
    std::freopen("/dev/null", "w", stderr);
    std::freopen("/dev/null", "w", stdout);
    std::vector<char*> argv{const_cast<char*>("mlcn")};
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(kMlcn.c_str(), argv.data());
    _exit(127);
  }
  return pid;
}

void wait_for(const fs::path& p) {
  for (int i = 0; i < 6000 && !fs::exists(p); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
}
}  // namespace

TEST_CASE("a failing --overwrite or --resume leaves the previous run byte-identical", "[train][safety]") {
  INFO("/usr/share/datasets/fashion-mnist is missing: apt-get install dataset-fashion-mnist");
  REQUIRE(have_fmnist());
  const fs::path dir = fs::temp_directory_path() / "mlcn_safety_fail";
  fs::remove_all(dir);
  const std::string cfg = config_file().string();
  REQUIRE(run_cli({"train", "--config", cfg, "--set", "train.epochs=1", "--out", dir.string()}).status == 0);
  const auto before = snapshot(dir);
  REQUIRE(before.count("last.safetensors"));
  REQUIRE(before.count("events.jsonl"));

  CliRun r = run_cli({"train", "--config", cfg, "--set", "data.path=/nonexistent", "--out", dir.string(), "--overwrite"});
  CHECK(r.status == 1);
  CHECK(r.err.find("/nonexistent") != std::string::npos);
  CHECK(snapshot(dir) == before);

  r = run_cli({"train", "--resume", dir.string(), "--set", "train.epochs=2", "--set", "data.path=/nonexistent"});
  CHECK(r.status == 1);
  CHECK(snapshot(dir) == before);

  {  // a live writer holds the directory: a second one is refused and changes nothing
    mlcn::RunLock other(dir.string());
    const auto locked = snapshot(dir);
    r = run_cli({"train", "--resume", dir.string(), "--set", "train.epochs=2"});
    CHECK(r.status == 1);
    CHECK(r.err.find("another mlcn run (pid " + std::to_string(getpid()) + ")") != std::string::npos);
    CHECK(snapshot(dir) == locked);
  }
  CHECK(snapshot(dir) == before);
}

TEST_CASE("SIGTERM mid-run saves a checkpoint, the resumed run equals the uninterrupted one", "[train][signal]") {
  INFO("/usr/share/datasets/fashion-mnist is missing: apt-get install dataset-fashion-mnist");
  REQUIRE(have_fmnist());
  const fs::path root = fs::temp_directory_path() / "mlcn_safety_term";
  fs::remove_all(root);
  const std::string cfg = config_file().string();
  REQUIRE(run_cli({"train", "--config", cfg, "--out", (root / "full").string()}).status == 0);

  const fs::path dir = root / "stopped";
  pid_t pid = spawn({"train", "--config", cfg, "--out", dir.string()});
  REQUIRE(pid > 0);
  wait_for(dir / "config.json");  // written once data and model are ready
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  kill(pid, SIGTERM);
  int status = 0;
  waitpid(pid, &status, 0);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 128 + SIGTERM);
  std::ifstream in(dir / "summary.json");
  const nlohmann::json summary = nlohmann::json::parse(in);
  CHECK(summary["interrupted"] == true);
  INFO("stopped after epoch " << summary["epochs_done"] << " step " << summary["step"]);
  REQUIRE(fs::exists(dir / "last.safetensors"));
  REQUIRE(run_cli({"train", "--resume", dir.string()}).status == 0);
  expect_same_checkpoint(root / "full" / "last.safetensors", dir / "last.safetensors");
  CHECK(metric_epochs(dir) == std::vector<int>{1, 2, 3});
}

TEST_CASE("SIGKILL during step-level checkpoints: no temp files, no duplicate rows, exact resume", "[train][kill]") {
  INFO("/usr/share/datasets/fashion-mnist is missing: apt-get install dataset-fashion-mnist");
  REQUIRE(have_fmnist());
  const fs::path root = fs::temp_directory_path() / "mlcn_safety_kill";
  fs::remove_all(root);
  const std::string cfg = config_file().string();
  REQUIRE(run_cli({"train", "--config", cfg, "--out", (root / "full").string()}).status == 0);

  const fs::path dir = root / "killed";
  pid_t pid = spawn({"train", "--config", cfg, "--set", "train.checkpoint_every=1", "--out", dir.string()});
  wait_for(dir / "last.safetensors");
  for (int i = 0; i < 400; ++i) {  // kill while a checkpoint is being written, if we can catch one
    bool tmp = false;
    for (const auto& e : fs::directory_iterator(dir))
      if (e.path().filename().string().find(".tmp.") != std::string::npos) tmp = true;
    if (tmp) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
  // A fake leftover of an earlier kill, and a metrics row past the checkpoint, as after a full disk.
  std::ofstream(dir / "last.safetensors.tmp.999999") << "partial";
  const int64_t done = std::stoll(mlcn::read_safetensors((dir / "last.safetensors").string()).metadata.at("epoch"));
  std::ofstream(dir / "metrics.csv", std::ios::app) << done + 1 << ",0.001\n";

  REQUIRE(run_cli({"train", "--resume", dir.string(), "--set", "train.checkpoint_every=1"}).status == 0);
  expect_same_checkpoint(root / "full" / "last.safetensors", dir / "last.safetensors");
  CHECK(metric_epochs(dir) == std::vector<int>{1, 2, 3});
  for (const auto& e : fs::directory_iterator(dir)) CHECK(e.path().filename().string().find(".tmp.") == std::string::npos);
}

TEST_CASE("divergence stops the run at the step and writes no checkpoint", "[train][nan]") {
  INFO("/usr/share/datasets/fashion-mnist is missing: apt-get install dataset-fashion-mnist");
  REQUIRE(have_fmnist());
  const fs::path dir = fs::temp_directory_path() / "mlcn_safety_diverge";
  fs::remove_all(dir);
  CliRun r = run_cli({"train", "--config", config_file().string(), "--set", "train.lr=1e10", "--set", "train.epochs=1",
                      "--set", "train.keep_checkpoints=1", "--out", dir.string()});
  CHECK(r.status == 1);
  CHECK(r.err.find("training diverged at epoch 1 step ") != std::string::npos);
  CHECK_FALSE(fs::exists(dir / "last.safetensors"));
  CHECK_FALSE(fs::exists(dir / "best.safetensors"));
}
