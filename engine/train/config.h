// Training configuration: JSON with fixed keys and defaults (docs/config.md documents each).
// Unknown keys, wrong types and out-of-range values are errors naming the source and the key;
// `--set a.b=c` overrides one key (base/json_io.h), and its errors name `--set`.
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/models/model.h"

namespace mlcn {

// Filled only by config_from_json: every value comes from engine/train/config_defaults.json
// (the one place defaults live; docs/config.md is checked against it) or the user's config.
struct Config {
  nlohmann::json json;  // the resolved config (defaults + file + overrides), as written to runs

  // model
  std::string model_type;
  std::vector<LaneSpec> lanes;  // empty for capsnet
  int routings = 0;
  double lane_dropout = 0;
  bool fast_caps = false;
  bool routing_stop_grad = false;
  // data
  std::string dataset, data_path;  // dataset: canonical name (base/datasets.h)
  int64_t train_limit = 0, test_limit = 0;
  double validation = 0;  // held-out part of the training set: 0 none, (0, 1) a fraction, >= 1 a count
  // train
  int epochs = 0, batch_size = 0;
  double lr = 0, lr_decay = 0, lam_recon = 0, shift_fraction = 0;
  std::string lr_schedule;   // exponential | step | cosine | constant (engine/optim/lr_schedule.h)
  int lr_step_epochs = 1;    // step schedule: epochs between decays
  double lr_min = 0;         // cosine schedule: the final rate
  double warmup_epochs = 0;  // linear warm-up, in epochs (fractions allowed)
  double weight_decay = 0;   // decoupled (AdamW); 0: Adam
  double clip_norm = 0;      // global gradient-norm clipping; 0: off
  int early_stop_patience = 0;  // stop after this many epochs without a better validation accuracy; 0: off
  double time_limit_minutes = 0;  // stop at the epoch end after which another epoch would pass this; 0: off
  int crop_padding = 0;      // random crop of the image zero-padded by this many pixels; 0: off
  bool flip = false;         // random horizontal flips
  uint64_t seed = 0;
  int log_every = 0;
  bool prefetch = false;
  int64_t checkpoint_every = 0;    // steps between mid-epoch checkpoints (0: epoch ends only)
  double checkpoint_minutes = 0;   // minutes between mid-epoch checkpoints (0: off)
  int keep_checkpoints = 0;        // epoch-E.safetensors kept for the last K epochs (0: none)
  std::string init;   // weights file (weights.h) loaded over the initialisation of a new run
  bool plot = false;  // `mlcn train` draws the run's curves (mlcn plot) at the end
  // runtime
  std::string device;
  int threads = 0;      // 0: all cores
  int cpu_devices = 0;  // CPU workers the threads are split over; 0: auto_cpu_devices()
  nlohmann::json placement;  // "round-robin", an algorithm name, or a list of device indices
  bool allow_tf32 = false;
  bool group_lanes = false;  // same-shape lanes of a device run as one (grouped convolutions)
  bool cuda_graphs = false;  // GPU training steps replay from CUDA graphs after one eager step
  std::string routing_variant = "auto";  // the GPU's routing kernels (routing_variant_named)
  std::string predict_variant = "auto";  // the GPU's prediction-transform kernels
  std::string mode = "model";  // across ranks: model (lanes over ranks) | data (batch over ranks)
  int replicas = 0;            // replica groups in model mode (0: 1); docs/distributed.md
};

// The defaults (engine/train/config_defaults.json): every valid key appears here.
const nlohmann::json& config_defaults();
// Parses `text` (from `source`, for errors), applies `overrides` ("a.b=value"), validates.
Config parse_config(const std::string& text, const std::string& source, const std::vector<std::string>& overrides = {});
Config load_config(const std::string& path, const std::vector<std::string>& overrides = {});
// Builds a config from an already-merged JSON object (validated the same way).
Config config_from_json(const nlohmann::json& j, const std::string& source);
// The model description of a config (input shape from the dataset).
ModelSpec model_spec(const Config& c, DType dt = DType::F32);
InputShape dataset_shape(const std::string& dataset);

}  // namespace mlcn
