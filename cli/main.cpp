// The `mlcn` executable: everything is in the CLI library (cli/cli.h); this starts MPI when the
// process runs under mpirun/srun (engine/comm) and forwards argv.
#include <iostream>
#include <string>
#include <vector>

#include "cli/cli.h"            // defines: mlcn::cli::run
#include "engine/comm/comm.h"  // defines: DistributedSession

int main(int argc, char** argv) {
  mlcn::DistributedSession distributed(&argc, &argv);
  return mlcn::cli::run(std::vector<std::string>(argv + 1, argv + argc), std::cout, std::cerr);
}
