// Weights-only files: every parameter under its PyTorch name in the PyTorch layout (the
// exchange layout, engine/models/param.h), and nothing else; metadata "format" =
// "mlcn-weights-1" and the training config. bench/peer/models.py loads one with
// load_state_dict(strict=True) (docs/checkpoint-format.md has the loader); a file PyTorch
// writes the same way (with or without metadata) loads back here. A full checkpoint is also
// accepted as weights: its "adam.*" tensors are ignored.
#pragma once
#include <string>

#include <nlohmann/json.hpp>

#include "engine/models/model.h"
#include "engine/train/config.h"

namespace mlcn {

constexpr const char* kWeightsFormat = "mlcn-weights-1";

// Checks that `path` is a readable safetensors file before parsing it: a file whose first 8
// bytes do not give a header length that fits the file, or whose header does not start with
// '{', is "not a safetensors file" (a JSON config passed as a checkpoint, for one).
void check_safetensors_file(const std::string& path);
// Writes the model's parameters (exchange layout, F32) and cfg's config to `path` (atomic).
void save_weights(const std::string& path, Model& model, const Config& cfg);
// Loads every parameter of `model` from a weights-only file or a checkpoint. Errors name the
// file and the tensor: a parameter missing, a shape that differs, a tensor the model lacks.
void load_weights(const std::string& path, Model& model);
// The training config stored in a weights file or checkpoint; null when it has none.
nlohmann::json stored_config(const std::string& path);

}  // namespace mlcn
