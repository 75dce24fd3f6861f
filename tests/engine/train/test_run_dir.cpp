// engine/train/run_dir: one writer per run directory (a second lock is refused naming the
// owner's pid; a dead owner's lock is taken over), temp files of killed writes are removed, log
// rows past a checkpoint are trimmed (no epoch listed twice), and the stop flag of SIGTERM.
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "base/check.h"
#include "engine/train/run_dir.h"
#include "file_test_util.h"

using namespace mlcn;
using namespace mlcn_test;
namespace fs = std::filesystem;

namespace {
std::string slurp(const std::string& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}
void put(const std::string& p, const std::string& text) { std::ofstream(p) << text; }
}  // namespace

TEST_CASE("run lock: a second writer is refused with the owner's pid, released on exit", "[rundir][lock]") {
  TempDir dir;
  {
    RunLock a(dir.path);
    CHECK(slurp(dir.file(".lock")) == std::to_string(getpid()) + "\n");
    CHECK_ERROR(RunLock b(dir.path), dir.path, "another mlcn run (pid " + std::to_string(getpid()) + ")");
  }
  CHECK_FALSE(fs::exists(dir.file(".lock")));
  CHECK_NOTHROW(RunLock(dir.path));
}

TEST_CASE("run lock: a .lock that is a symbolic link is refused and its target left alone", "[rundir][lock]") {
  TempDir dir;
  const std::string target = dir.file("elsewhere.txt");
  put(target, "precious\n");
  fs::create_symlink(target, dir.file(".lock"));
  CHECK_ERROR(RunLock a(dir.path), dir.file(".lock"), "is a symbolic link");
  CHECK(slurp(target) == "precious\n");
  CHECK(fs::is_symlink(dir.file(".lock")));
}

TEST_CASE("run lock: the lock of a dead process is stale and taken over", "[rundir][lock]") {
  TempDir dir;
  pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {  // takes the lock and dies without releasing it
    new RunLock(dir.path);
    _exit(0);
  }
  int status = 0;
  waitpid(child, &status, 0);
  REQUIRE(fs::exists(dir.file(".lock")));
  CHECK(slurp(dir.file(".lock")) == std::to_string(child) + "\n");
  RunLock mine(dir.path);
  CHECK(slurp(dir.file(".lock")) == std::to_string(getpid()) + "\n");
}

TEST_CASE("temp files of killed writes are removed, nothing else", "[rundir]") {
  TempDir dir;
  for (const char* f : {"last.safetensors.tmp.123", "config.json.tmp.99999", "last.safetensors", "notes.tmp.txt"})
    put(dir.file(f), "x");
  CHECK(remove_stale_temp_files(dir.path) == 2);
  CHECK(fs::exists(dir.file("last.safetensors")));
  CHECK(fs::exists(dir.file("notes.tmp.txt")));
  CHECK_FALSE(fs::exists(dir.file("last.safetensors.tmp.123")));
}

TEST_CASE("log rows past the checkpoint are trimmed, the best epoch comes from the kept rows", "[rundir][logs]") {
  TempDir dir;
  put(dir.file("metrics.csv"), "epoch,lr\n1,0.1\n2,0.09\n3,0.08\n3,0.08\n");
  const std::string kept =
      "{\"event\":\"best\",\"epoch\":1,\"validation_accuracy\":0.5}\n"
      "{\"event\":\"epoch\",\"epoch\":2,\"validation_accuracy\":0.4}\n";
  put(dir.file("events.jsonl"), kept + "{\"event\":\"best\",\"epoch\":3,\"validation_accuracy\":0.9}\n{\"event\":\"ep");
  const BestEpoch best = trim_run_logs(dir.path, 2);  // epoch 3's rows and the line cut by a kill go
  CHECK(best.validation_accuracy == Approx(0.5));
  CHECK(best.epoch == 1);
  CHECK(slurp(dir.file("metrics.csv")) == "epoch,lr\n1,0.1\n2,0.09\n");
  CHECK(slurp(dir.file("events.jsonl")) == kept);
  CHECK(trim_run_logs(dir.path, 0).epoch == 0);
  CHECK(slurp(dir.file("metrics.csv")) == "epoch,lr\n");
}

TEST_CASE("stop signals: the first SIGTERM only sets the flag", "[rundir][signal]") {
  {
    StopSignals s;
    CHECK(StopSignals::stop_signal() == 0);
    raise(SIGTERM);
    CHECK(StopSignals::stop_signal() == SIGTERM);
  }
  CHECK(StopSignals::stop_signal() == 0);
}

TEST_CASE("keep_checkpoints: only the newest K epoch checkpoints stay", "[rundir]") {
  TempDir dir;
  for (int e : {1, 2, 3, 10}) put(dir.file(epoch_checkpoint_name(e)), "x");
  put(dir.file("epoch-x.safetensors"), "x");
  CHECK(prune_epoch_checkpoints(dir.path, 2) == 2);
  CHECK_FALSE(fs::exists(dir.file("epoch-1.safetensors")));
  CHECK_FALSE(fs::exists(dir.file("epoch-2.safetensors")));
  CHECK(fs::exists(dir.file("epoch-3.safetensors")));
  CHECK(fs::exists(dir.file("epoch-10.safetensors")));
  CHECK(fs::exists(dir.file("epoch-x.safetensors")));
}
