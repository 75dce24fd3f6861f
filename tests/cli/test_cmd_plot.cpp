// `mlcn plot` and `mlcn train --plot`: PNG files written and non-empty, runs overlaid, and
// a directory that is not a run refused. Needs python3-matplotlib (cli/setup.sh installs it).
#include <catch2/catch.hpp>

#include <filesystem>

#include "cli_run.h"
#include "file_test_util.h"
#include "tiny_run.h"

namespace fs = std::filesystem;

namespace {
void check_pngs(const fs::path& dir) {
  for (const char* f : {"loss.png", "accuracy.png", "lr.png", "throughput.png"}) {
    INFO(dir / f);
    REQUIRE(fs::exists(dir / f));
    CHECK(fs::file_size(dir / f) > 1000);
    CHECK(mlcn_test::read_text(dir / f).rfind("\x89PNG", 0) == 0);
  }
}
}  // namespace

TEST_CASE("plot: one run, two runs overlaid, train --plot", "[cli][plot]") {
  mlcn_test::TempDir tmp;
  const std::string run = mlcn_test::train_tiny(tmp.path, 2, {"--plot"});
  check_pngs(fs::path(run) / "plots");
  CliRun r = run_cli({"train", "--config", mlcn_test::tiny_config(tmp.path), "--out", tmp.file("b"), "--set",
                      "train.epochs=1"});
  REQUIRE(r.status == 0);
  r = run_cli({"plot", run, tmp.file("b"), "--out", tmp.file("both")});
  INFO(r.err);
  REQUIRE(r.status == 0);
  CHECK(r.out.find("loss.png") != std::string::npos);
  check_pngs(tmp.file("both"));
  CHECK(run_cli({"plot"}).status == 2);
  r = run_cli({"plot", tmp.file("nothing")});
  CHECK(r.status == 1);
  CHECK(r.err.find("not a run directory") != std::string::npos);
}
