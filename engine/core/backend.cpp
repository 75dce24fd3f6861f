// The CUDA backend table or one clear error: the only place in the engine that knows whether
// this build has the CUDA backend (MLCN_WITH_CUDA, set by engine/CMakeLists.txt).
#include "engine/core/backend.h"

#include <utility>

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

kernels::RoutingVariant routing_variant_named(const std::string& name) {
  using V = kernels::RoutingVariant;
  const std::pair<const char*, V> known[] = {{"auto", V::Auto},       {"fused", V::Fused}, {"one-pass", V::OnePass},
                                             {"unfused", V::Unfused}, {"split", V::Split}, {"cluster", V::Cluster}};
  for (const auto& [n, v] : known)
    if (name == n) return v;
  MLCN_FAIL("unknown routing variant '" << name << "' (auto, fused, one-pass, unfused, split, cluster)");
}

kernels::PredictVariant predict_variant_named(const std::string& name) {
  using V = kernels::PredictVariant;
  if (name == "auto") return V::Auto;
  if (name == "shared") return V::Shared;
  if (name == "blas") return V::Blas;
  MLCN_FAIL("unknown prediction-transform variant '" << name << "' (auto, shared, blas)");
}

}  // namespace mlcn
