// Training runs end to end through the `mlcn` binary on a Fashion-MNIST subset: a resumed run
// equals the uninterrupted one bitwise (1 thread, CPU), also after a SIGKILL mid-epoch, and the
// run directory holds every promised file. Fails without the dataset package (a dependency).
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>

#include "engine/io/safetensors.h"

namespace fs = std::filesystem;

namespace {
const std::string kMlcn = std::string(MLCN_BINARY_DIR) + "/cli/mlcn";

bool have_fmnist() { return fs::exists("/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz"); }

fs::path config_file() {
  // Written to a private name and renamed: ctest -j runs the cases of this file in parallel.
  fs::path p = fs::temp_directory_path() / "mlcn_resume_cfg.json";
  const fs::path tmp = p.string() + "." + std::to_string(getpid());
  std::FILE* f = std::fopen(tmp.c_str(), "w");
  std::fputs(R"({"model": {"lanes": [{"type": "mlcn1", "width": 1, "depth": 1},
                                      {"type": "mlcn1", "width": 1, "depth": 2}], "lane_dropout": 0.3},
                 "data": {"train_limit": 400, "test_limit": 200},
                 "train": {"batch_size": 50, "shift_fraction": 0.1, "log_every": 1000},
                 "runtime": {"threads": 1}})",
             f);
  std::fclose(f);
  fs::rename(tmp, p);
  return p;
}

int run_mlcn(const std::string& args) {
  int rc = std::system((kMlcn + " " + args + " > /dev/null 2>&1").c_str());
  return WEXITSTATUS(rc);
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
}  // namespace

TEST_CASE("resume: 2 epochs equal 1 epoch + resume 1, bitwise", "[train]") {
  // dataset-fashion-mnist is a dependency (cli/setup.sh installs it): its absence is a failure.
  INFO("/usr/share/datasets/fashion-mnist is missing: apt-get install dataset-fashion-mnist");
  REQUIRE(have_fmnist());
  fs::path root = fs::temp_directory_path() / "mlcn_resume";
  fs::remove_all(root);
  fs::path cfg = config_file();
  REQUIRE(run_mlcn("train --config " + cfg.string() + " --set train.epochs=2 --out " + (root / "full").string()) == 0);
  REQUIRE(run_mlcn("train --config " + cfg.string() + " --set train.epochs=1 --out " + (root / "half").string()) == 0);
  REQUIRE(run_mlcn("train --resume " + (root / "half").string() + " --set train.epochs=2") == 0);
  expect_same_checkpoint(root / "full" / "last.safetensors", root / "half" / "last.safetensors");
  for (const char* f : {"config.json", "metrics.csv", "events.jsonl", "best.safetensors", "summary.json"})
    CHECK(fs::exists(root / "half" / f));
}

TEST_CASE("resume after SIGKILL mid-epoch continues exactly", "[train]") {
  // dataset-fashion-mnist is a dependency (cli/setup.sh installs it): its absence is a failure.
  INFO("/usr/share/datasets/fashion-mnist is missing: apt-get install dataset-fashion-mnist");
  REQUIRE(have_fmnist());
  fs::path root = fs::temp_directory_path() / "mlcn_kill";
  fs::remove_all(root);
  fs::path cfg = config_file();
  REQUIRE(run_mlcn("train --config " + cfg.string() + " --set train.epochs=3 --out " + (root / "full").string()) == 0);
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    std::freopen("/dev/null", "w", stderr);
    std::freopen("/dev/null", "w", stdout);
    execl(kMlcn.c_str(), "mlcn", "train", "--config", cfg.c_str(), "--set", "train.epochs=3", "--out",
          (root / "killed").c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  const fs::path last = root / "killed" / "last.safetensors";
  for (int i = 0; i < 6000 && !fs::exists(last); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  REQUIRE(fs::exists(last));
  mlcn::read_safetensors(last.string());  // the checkpoint left behind is whole (atomic writes)
  REQUIRE(run_mlcn("train --resume " + (root / "killed").string() + " --set train.epochs=3") == 0);
  expect_same_checkpoint(root / "full" / "last.safetensors", last);
}
