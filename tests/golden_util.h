// Runs one golden training step (tests/golden) through the engine: the model from the
// file's config, weights from the closed form of golden/README.md, forward in training mode
// (mask by label, no dropout), backward. Gradients come back in the exchange layout.
#pragma once
#include <map>
#include <string>

#include "engine/core/tensor.h"
#include "engine/io/safetensors.h"

namespace mlcn {

struct GoldenStep {
  StFile file;
  double loss = 0, margin = 0, recon = 0;
  Tensor lengths;                       // (B, classes), float64
  std::map<std::string, Tensor> grads;  // exchange layout, float64
};

std::string golden_dir();
// value(k, i) of golden/README.md: float32(amplitude * (2u - 1)) with u from splitmix64.
double golden_value(uint64_t k, uint64_t i, double amplitude);
GoldenStep run_golden_step(const std::string& path, DType dt);

}  // namespace mlcn
