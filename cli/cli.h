// The `mlcn` command line as a library: main() and the CLI tests call run(). docs/cli.md is the
// contract: `--help` anywhere prints usage on stdout and exits 0; usage errors print the
// command's usage on stderr and exit 2; any other error is one line on stderr and exit 1.
#pragma once
#include <ostream>
#include <string>
#include <vector>

namespace mlcn::cli {

// args: everything after the program name. Returns the exit status.
int run(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

// "mlcn 0.2.0 (commit abc1234; CUDA backend: on; MPI: off)".
std::string version_line();

}  // namespace mlcn::cli
