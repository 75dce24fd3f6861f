// Run logs (engine/train/run_log.h): headers of a fresh run, rows past the checkpoint dropped
// on resume, the run's seconds carried over, the real peak RSS.
#include <catch2/catch.hpp>

#include <cmath>
#include <fstream>
#include <sstream>

#include "engine/train/run_log.h"
#include "file_test_util.h"

namespace {
std::string slurp(const std::string& p) {
  std::ifstream f(p);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}
size_t lines(const std::string& s) { return static_cast<size_t>(std::count(s.begin(), s.end(), '\n')); }
}  // namespace

TEST_CASE("run log: epochs and steps logged, resume drops rows past its epoch", "[train][log]") {
  mlcn_test::TempDir tmp;
  {
    mlcn::RunLog log(tmp.path, 0, 3, 2, 1);
    for (int e = 0; e < 3; ++e) {
      for (int s = 0; s < 2; ++s) log.step(e, s, 1.0, 0.8, 0.5, 0.5, 1e-3, 100);
      log.eval_progress(e, 0, 10);
      mlcn::EpochRecord r;
      r.epoch = e + 1;
      r.test_acc = 0.5;
      log.epoch_end(r);
    }
    log.event("finish");
  }
  std::string m = slurp(tmp.file("metrics.csv"));
  CHECK(lines(m) == 4);
  CHECK(m.find(",,,0,0.5000,") != std::string::npos);  // val_acc and val_loss empty, not best, then test_acc
  CHECK(lines(slurp(tmp.file("steps.csv"))) == 7);
  CHECK(slurp(tmp.file("events.jsonl")).find("\"event\":\"finish\"") != std::string::npos);
  {
    mlcn::RunLog log(tmp.path, 1, 3, 2, 1);  // resumed from the epoch-1 checkpoint
    CHECK(log.run_seconds() >= log.session_seconds());
  }
  CHECK(lines(slurp(tmp.file("metrics.csv"))) == 2);
  CHECK(lines(slurp(tmp.file("steps.csv"))) == 3);
  CHECK(lines(slurp(tmp.file("events.jsonl"))) == 1);  // events are history: kept
  {
    mlcn::RunLog fresh(tmp.path, 0, 3, 2, 1);  // a fresh run replaces the logs
  }
  CHECK(lines(slurp(tmp.file("metrics.csv"))) == 1);
  CHECK(!std::filesystem::exists(tmp.file("events.jsonl")));
}

TEST_CASE("run log: peak RSS and UTC time", "[train][log]") {
  std::vector<char> big(64 << 20, 1);  // touch 64 MiB
  CHECK(mlcn::peak_rss_mb() >= 64.0);
  CHECK(big[12345] == 1);
  const std::string t = mlcn::utc_now();
  CHECK(t.size() == 20);
  CHECK(t[10] == 'T');
  CHECK(t.back() == 'Z');
}
