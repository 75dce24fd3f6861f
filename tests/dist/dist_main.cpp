// Main of the distributed test binary: starts MPI when launched by mpirun (ctest runs it on 1,
// 2, 3 and 4 ranks), runs every Catch2 case on every rank, and returns this rank's status
// (mpirun exits non-zero when any rank fails). Cases use CHECK, not REQUIRE, around
// collectives, so a failing rank still takes part in every later collective (no hang).
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include "engine/comm/comm.h"

int main(int argc, char** argv) {
  mlcn::DistributedSession session(&argc, &argv);
  return Catch::Session().run(argc, argv);
}
