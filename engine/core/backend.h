// How the engine reaches the CUDA backend: the table of kernels/api.h, through cuda() alone.
// In builds without the backend, cuda() throws one clear error ("built without CUDA") and the
// queries say there is no GPU; nothing falls back to the CPU silently. Also the stream helpers
// the engine shares: a Tape's stream (its device context) resolved for a tensor's device.
#pragma once
#include <string>

#include "base/stream.h"
#include "kernels/api.h"

namespace mlcn {

// The backend table; throws when this build has no CUDA backend.
const kernels::Api& cuda();
bool cuda_compiled();
// GPUs the backend finds (0 without the backend, a driver or a device; never throws).
int cuda_device_count();
inline bool cuda_available() { return cuda_device_count() > 0; }

// The kernel variants by the names runtime.routing_variant, runtime.predict_variant and
// bench/step use (kernels/api.h describes them): auto, fused, one-pass, unfused, split, cluster;
// auto, shared, blas. An unknown name throws, listing the valid ones. No backend needed.
kernels::RoutingVariant routing_variant_named(const std::string& name);
kernels::PredictVariant predict_variant_named(const std::string& name);

}  // namespace mlcn
