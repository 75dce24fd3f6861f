// The NAS driver: runs a search with real training and writes the search directory:
//   nas_config.json    the resolved NAS config (what --resume reads back)
//   nas.jsonl          one JSON object a line: {"event": "model"} for every generated model
//                      (lanes, placement, bucket use, predicted step time), "train" for every
//                      training (model, repeat, epochs, seed, validation_accuracy, seconds, run_dir),
//                      "score" for every evaluation, "best" for every best-so-far point
//   summary.json       the search so far (rewritten after every evaluation; complete: true at
//                      the end): best model and score, mean score, per-rung statistics, curve
//   best_config.json   the best model as a training config `mlcn train --config` accepts
//   runs/mNNNN-rR/     the training run of model NNNN, repeat R (engine run directory)
// Resume replays the (deterministic) search: trainings already in nas.jsonl are not redone, a
// training interrupted mid-way continues from its run's last checkpoint, and nothing already
// logged is logged twice; a partial last line of nas.jsonl is dropped.
#pragma once
#include <functional>
#include <string>

#include <nlohmann/json.hpp>  // defines: nlohmann::json, nlohmann::ordered_json

#include "nas/nas_config.h"  // defines: NasConfig

namespace mlcn {

// Trains the training config `config` (engine/train/config.h JSON) into run directory out_dir
// (resume_dir empty, or out_dir to continue it) and returns a summary with "validation_accuracy"
// and "seconds", like the engine's train_run (train_bridge.h's train_config is the default).
using RunTrainer = std::function<nlohmann::json(const nlohmann::json& config, const std::string& source,
                                                const std::string& out_dir, const std::string& resume_dir)>;

struct NasRunOptions {
  std::string out_dir;
  bool resume = false;   // continue the search in out_dir (its nas_config.json must match cfg)
  RunTrainer trainer;    // empty: train_config (the engine's train_run)
  bool progress = true;  // one line per evaluation on stderr
};

// Runs the whole search; returns the final summary (also written to summary.json).
nlohmann::ordered_json run_nas(const NasConfig& cfg, const NasRunOptions& opt);
// The config of the search in `dir` (DIR/nas_config.json).
NasConfig load_search_config(const std::string& dir);

}  // namespace mlcn
