// Checkpoints: every parameter in the exchange (PyTorch) layout under its name, Adam state as
// "adam.m.<name>" / "adam.v.<name>", and metadata (config, epoch, adam step, position inside an
// epoch, format version). Written atomically with a checksum over header and data
// (engine/io/safetensors.h); docs/checkpoint-format.md lists names and every load-time check.
#pragma once
#include <string>
#include <vector>

#include "engine/models/model.h"
#include "engine/optim/adam.h"
#include "engine/train/config.h"

namespace mlcn {

// "mlcn-checkpoint-2": header+data checksum required. Version 1 files still load (data checksum).
constexpr const char* kCheckpointFormat = "mlcn-checkpoint-2";
constexpr int64_t kMaxAdamT = int64_t(1) << 40;  // far beyond any run, far below overflow

// Where a run stands: epochs completed, steps of the next epoch done, and what is needed to
// continue exactly from there (the dropout stream and the epoch's running sums).
struct TrainPosition {
  int64_t epoch = 0;        // epochs completed
  int64_t step = 0;         // steps of epoch `epoch` completed (0 at an epoch boundary)
  uint64_t dropout_rng = 0; // state of the epoch's dropout stream after `step` steps
  double margin = 0, recon = 0;  // sums over the steps done of this epoch (times batch size)
  int64_t seen = 0, correct = 0;
  double seconds = 0;       // training time spent in this epoch so far
};

struct CheckpointInfo {
  nlohmann::json config;
  int64_t epoch = 0;  // epochs completed
  int64_t adam_t = 0;
  TrainPosition pos;
};

void save_checkpoint(const std::string& path, Model& model, const std::vector<Adam*>& opts, const Config& cfg,
                     int64_t epochs_done);
// The same at a position inside an epoch. Refuses (nothing written) a non-finite tensor.
void save_checkpoint_at(const std::string& path, Model& model, const std::vector<Adam*>& opts, const Config& cfg,
                        const TrainPosition& pos);
// Reads only the config stored in a checkpoint (to rebuild the model before loading).
nlohmann::json checkpoint_config(const std::string& path);
// Loads parameters (and the optimizers' state when given) into a model built from the same config.
// Every tensor's presence, dtype, shape and finiteness, the metadata's integers and the format
// version are checked first; an error names the file and the tensor or key, and leaves the
// model and optimizers untouched.
CheckpointInfo load_checkpoint(const std::string& path, Model& model, const std::vector<Adam*>& opts);

}  // namespace mlcn
