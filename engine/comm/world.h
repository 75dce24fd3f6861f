// The process-wide world communicator slot shared by comm/local_comm.cpp and comm/mpi_comm.cpp
// (internal to engine/comm).
#pragma once
#include <memory>

#include "engine/comm/comm.h"

namespace mlcn::detail {
inline std::unique_ptr<Comm>& world_slot() {
  static std::unique_ptr<Comm> w;
  return w;
}
}  // namespace mlcn::detail
