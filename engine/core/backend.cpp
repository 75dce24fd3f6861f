// The CUDA backend table or one clear error: the only place in the engine that knows whether
// this build has the CUDA backend (MLCN_WITH_CUDA, set by engine/CMakeLists.txt).
#include "engine/core/backend.h"

#include "base/check.h"

namespace mlcn {
namespace {

const kernels::Api* built() {
#ifdef MLCN_WITH_CUDA
  return &kernels::api();
#else
  return nullptr;
#endif
}

}  // namespace

const kernels::Api& cuda() {
  const kernels::Api* a = built();
  MLCN_CHECK(a != nullptr, "a tensor or device on CUDA, but this build has no CUDA backend (built without CUDA; "
                           "configure with -DMLCN_CUDA=ON)");
  return *a;
}

bool cuda_compiled() { return built() != nullptr; }

int cuda_device_count() {
  const kernels::Api* a = built();
  return a ? a->device_count() : 0;
}

}  // namespace mlcn
