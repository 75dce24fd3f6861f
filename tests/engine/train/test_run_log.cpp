// Run logs (engine/train/run_log.h): headers of a fresh run, rows past the checkpoint dropped
// on resume (damaged rows dropped, never a bare library error), the run's seconds carried over, the
// real peak RSS.
#include <catch2/catch.hpp>

#include <cmath>
#include <fstream>
#include <memory>
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
    // The session's seconds first: the operands of >= may be evaluated in either order (clang
    // reads the left one first, so run_seconds() came out earlier and smaller).
    const double session = log.session_seconds();
    CHECK(log.run_seconds() >= session);
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

TEST_CASE("run log: resume over damaged rows drops them instead of failing", "[train][log]") {
  mlcn_test::TempDir tmp;
  {
    mlcn::RunLog log(tmp.path, 0, 2, 2, 1);
    for (int e = 0; e < 2; ++e) {
      for (int s = 0; s < 2; ++s) log.step(e, s, 1.0, 0.8, 0.5, 0.5, 1e-3, 100);
      mlcn::EpochRecord r;
      r.epoch = e + 1;
      log.epoch_end(r);
    }
  }
  // Rows a kill, a full disk or an editor could leave: epochs that are not integers or do not
  // fit 64 bits (once std::stoll's bare "stoll" error), an elapsed_s that is not a number
  // (once std::stod's "stod"), a row cut after two cells.
  {
    std::ofstream m(tmp.file("metrics.csv"), std::ios::app);
    m << "1,t,777.5\nabc,t,9\n99999999999999999999,t,9\n-1,t,9\n1,t,notanumber\n1,2026-1\n";
    std::ofstream s(tmp.file("steps.csv"), std::ios::app);
    s << "5,x,t\n5,,t\n5,99999999999999999999,t\n5\n";
  }
  double seconds = 0;
  {
    std::unique_ptr<mlcn::RunLog> log;
    REQUIRE_NOTHROW(log = std::make_unique<mlcn::RunLog>(tmp.path, 1, 2, 2, 1));
    seconds = log->run_seconds();
  }
  CHECK(seconds >= 777.5);  // the last row with a number in elapsed_s
  const std::string m = slurp(tmp.file("metrics.csv")), s = slurp(tmp.file("steps.csv"));
  CHECK(m.find("777.5") != std::string::npos);
  CHECK(m.find("abc") == std::string::npos);
  CHECK(m.find("99999999999999999999") == std::string::npos);
  CHECK(m.find("-1,t") == std::string::npos);
  CHECK(s.find(",x,") == std::string::npos);
  CHECK(s.find("99999999999999999999") == std::string::npos);
  CHECK(s.find("5,,t") == std::string::npos);
}
