// Runs the `mlcn` command line in process through the CLI library (cli/cli.h) and captures its
// exit status, stdout and stderr, so tests check exactly what a user sees.
#pragma once
#include <sstream>
#include <string>
#include <vector>

#include "cli/cli.h"

struct CliRun {
  int status = -1;
  std::string out, err;
};

inline CliRun run_cli(const std::vector<std::string>& args) {
  std::ostringstream out, err;
  CliRun r;
  r.status = mlcn::cli::run(args, out, err);
  r.out = out.str();
  r.err = err.str();
  return r;
}
