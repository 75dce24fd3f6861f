// A named, trainable parameter and its exchange layout. The engine keeps some weights in the
// layout its kernels want; checkpoints and the golden files use PyTorch's layouts:
//   ConvOHWI:  internal (K, kh, kw, C)    <-> exchange (K, C, kh, kw)
//   Depthwise: internal (C, kh, kw)       <-> exchange (C, 1, kh, kw)   (same memory)
//   CapsJ1:    internal (N, Din, J*Dout)  <-> exchange (N, J*Dout, Din) (MLCN W: (N, classes, 16))
//   Plain:     identical.
#pragma once
#include <string>
#include <vector>

#include "engine/core/autograd.h"
#include "base/rng.h"

namespace mlcn {

enum class ParamLayout { Plain, ConvOHWI, Depthwise, CapsJ1 };

struct Param {
  std::string name;
  Var var;
  ParamLayout layout = ParamLayout::Plain;
};

// The shape a parameter has in checkpoints (PyTorch convention).
Shape exchange_shape(const Param& p);
// Converts internal <-> exchange layout (CPU tensors, any dtype).
Tensor to_exchange(const Param& p, const Tensor& internal);
Tensor from_exchange(const Param& p, const Tensor& exchange);

// Glorot/Xavier uniform in [-limit, limit], limit = sqrt(6/(fan_in+fan_out)) (spec 1.9).
Tensor glorot_uniform(const Shape& shape, double fan_in, double fan_out, Rng& rng, DType dt);

}  // namespace mlcn
