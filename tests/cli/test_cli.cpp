// The exit-status contract of cli/cli.h for every subcommand in the table: --help prints the
// usage on stdout and exits 0, an unknown flag exits 2 with the usage on stderr and a
// suggestion, `mlcn --help` lists every command, `mlcn --version` names the commit.
#include <catch2/catch.hpp>

#include <cstdio>
#include <filesystem>
#include <string>

#include "cli/commands.h"
#include "engine/core/backend.h"
#include "cli_run.h"

TEST_CASE("cli: --help and usage errors of every subcommand", "[cli][help]") {
  CliRun top = run_cli({"--help"});
  CHECK(top.status == 0);
  CHECK(top.err.empty());
  for (const mlcn::cli::Command& c : mlcn::cli::commands()) {
    INFO(c.name);
    CHECK(top.out.find("  " + c.name + " ") != std::string::npos);
    for (const char* h : {"--help", "-h"}) {
      CliRun r = run_cli({c.name, h});
      CHECK(r.status == 0);
      CHECK(r.out.rfind("usage: mlcn " + c.name, 0) == 0);
      CHECK(r.err.empty());
    }
    CliRun bad = run_cli({c.name, "--no-such-flag", "x"});
    CHECK(bad.status == 2);
    CHECK(bad.out.empty());
    CHECK(bad.err.find("unknown argument '--no-such-flag'") != std::string::npos);
    CHECK(bad.err.find("usage: mlcn " + c.name) != std::string::npos);
  }
  CliRun v = run_cli({"--version"});
  CHECK(v.status == 0);
  CHECK(v.out.find("(commit ") != std::string::npos);
  // The backend the engine was built with (the line said "off" in every CUDA build once).
  CHECK(v.out.find(std::string("CUDA backend: ") + (mlcn::cuda_compiled() ? "on" : "off")) != std::string::npos);
  CliRun missing = run_cli({"train", "--config", "configs/default.json", "--out", "--overwrite"});
  CHECK(missing.status == 2);
  CHECK(missing.err.find("--out needs a value, got the flag --overwrite") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists("--overwrite"));
  CliRun near = run_cli({"predcit"});
  CHECK(near.status == 2);
  CHECK(near.err.find("did you mean 'predict'") != std::string::npos);
}

// The commit in --version is read at build time, so it is the source tree's HEAD (it was CMake's
// configure-time HEAD once, and named a commit several behind the binary).
TEST_CASE("cli: --version names the commit the source tree is at", "[cli][version]") {
  std::string head;
  FILE* p = popen("git -C '" MLCN_SOURCE_DIR "' rev-parse --short HEAD 2>/dev/null", "r");
  REQUIRE(p != nullptr);
  char buf[128];
  while (std::fgets(buf, sizeof buf, p)) head += buf;
  const bool in_git = pclose(p) == 0 && !head.empty();
  while (!head.empty() && (head.back() == '\n' || head.back() == '\r')) head.pop_back();
  CliRun v = run_cli({"--version"});
  REQUIRE(v.status == 0);
  INFO(v.out);
  CHECK(v.out.find("(commit " + (in_git ? head : std::string("unknown"))) != std::string::npos);
}
