// The `mlcn` executable: everything is in the CLI library (cli/cli.h); this only forwards argv.
#include <iostream>
#include <string>
#include <vector>

#include "cli/cli.h"  // defines: mlcn::cli::run

int main(int argc, char** argv) {
  return mlcn::cli::run(std::vector<std::string>(argv + 1, argv + argc), std::cout, std::cerr);
}
