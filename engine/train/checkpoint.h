// Checkpoints: every parameter in the exchange (PyTorch) layout under its name, Adam state as
// "adam.m.<name>" / "adam.v.<name>", and metadata (config, epoch, adam step, format version).
// Written atomically with a CRC (engine/io/safetensors.h); docs/checkpoint-format.md lists names.
#pragma once
#include <string>
#include <vector>

#include "engine/models/model.h"
#include "engine/optim/adam.h"
#include "engine/train/config.h"

namespace mlcn {

struct CheckpointInfo {
  nlohmann::json config;
  int64_t epoch = 0;   // epochs completed
  int64_t adam_t = 0;
};

void save_checkpoint(const std::string& path, Model& model, const std::vector<Adam*>& opts, const Config& cfg,
                     int64_t epochs_done);
// Reads only the config stored in a checkpoint (to rebuild the model before loading).
nlohmann::json checkpoint_config(const std::string& path);
// Loads parameters (and the optimizers' state when given) into a model built from the same config.
CheckpointInfo load_checkpoint(const std::string& path, Model& model, const std::vector<Adam*>& opts);

}  // namespace mlcn
