// The NAS config: a JSON object with a "nas" section (search, buckets, lane family) and the
// training sections "model", "data", "train", "runtime" of engine/train/config.h, which every
// generated model's training config is built from. The NAS owns model.type, model.lanes,
// train.epochs and runtime.placement, so those keys are errors here; unknown keys and wrong
// types are errors naming the key. docs/nas.md documents every key; defaults:
//   "nas": {"strategy": "random", "iterations": 64, "epochs": 10, "repeats": 4, "seed": 1,
//           "budget_model_epochs": 0, "halving": {"eta": 2, "min_epochs": 1},
//           "lane_type": "mlcn1", "width": [1, 5], "depth": [1, 5],
//           "cost_model": "paper", "flops_per_speed": 1e12,
//           "memory": {"grad_factor": 1.0, "overhead_bytes": 0.0},
//           "reference": {"lanes": 4, "type": "mlcn1", "width": 2, "depth": 4},
//           "load_scope": "per-bucket",
//           "buckets": {"count": 8, "memory_gib": 12.0, "load": 8.0, "speed": 1.0},
//           "keep_checkpoints": false}
// "buckets" is either that uniform form or a list [{"name", "memory_gib", "load", "speed"}];
// "load" is a multiple of the reference model's load (per bucket, or with load_scope "total"
// the whole model's limit split evenly over the buckets).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>  // defines: nlohmann::json

#include "nas/generator.h"     // defines: GeneratedModel
#include "nas/search_space.h"  // defines: SearchSpace

namespace mlcn {

struct NasSettings {
  std::string strategy = "random";  // random | halving
  int iterations = 64;              // random: models drawn (when no budget is given)
  int epochs = 10;                  // E: epochs of a full evaluation
  int repeats = 4;                  // R: trainings per evaluation (train.seed + r), geometric mean
  uint64_t seed = 1;                // the model stream: model i = fill(Rng(seed).fork(i))
  int64_t budget_model_epochs = 0;  // 0: iterations * epochs * repeats
  int eta = 2;                      // halving: keep 1/eta of the models per rung
  int min_epochs = 1;               // halving: epochs of the first rung are at least this
  bool keep_checkpoints = false;    // keep every run's safetensors files
  int64_t budget() const {
    return budget_model_epochs > 0 ? budget_model_epochs : int64_t(iterations) * epochs * repeats;
  }
};

struct NasConfig {
  nlohmann::json json;        // the resolved NAS config (nas defaults + file + overrides)
  NasSettings search;
  SearchSpace space;
  std::vector<LaneDesc> reference;
  double reference_load = 0;  // summed reference lane time on a speed-1 device
  int cpu_devices = 1;        // runtime.cpu_devices (auto, 0, is 1 here): a lane of bucket b trains on CPU device b mod this
  uint64_t train_seed = 0;    // train.seed: repeat r trains with train.seed + r
};

const nlohmann::json& nas_defaults();
NasConfig nas_config_from_json(const nlohmann::json& user, const std::string& source);
NasConfig parse_nas_config(const std::string& text, const std::string& source,
                           const std::vector<std::string>& overrides = {});
NasConfig load_nas_config(const std::string& path, const std::vector<std::string>& overrides = {});

// The training config (engine/train/config.h JSON) of model m, trained `epochs` epochs with
// seed train.seed + repeat, lanes placed on CPU device (bucket mod runtime.cpu_devices).
nlohmann::json training_config_json(const NasConfig& cfg, const GeneratedModel& m, int repeat, int epochs);

}  // namespace mlcn
