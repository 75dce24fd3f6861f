// Builds without MPI (MLCN_MPI=OFF or no MPI found): the world is always one local process;
// a launch by mpirun runs independent single-process copies, which init_distributed refuses.
#include <cstdlib>

#include "engine/comm/comm.h"

namespace mlcn {

bool mpi_compiled() { return false; }
bool mpi_cuda_aware() { return false; }

void init_distributed(int*, char***) {
  const char* n = std::getenv("OMPI_COMM_WORLD_SIZE");
  if (!n) n = std::getenv("PMI_SIZE");
  MLCN_CHECK(!n || std::atoi(n) <= 1, "launched as one of " << n
                                          << " MPI ranks, but this build has no MPI communicator (rebuild with -DMLCN_MPI=ON)");
}

void finalize_distributed() {}

}  // namespace mlcn
