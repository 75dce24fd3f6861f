// Training and evaluation driven by a Config: datasets, the lane runtime, per-epoch learning
// rate, the run directory (config.json, last/best.safetensors, summary.json; the logs and the
// progress line are run_log.h's) and resume.
#pragma once
#include <functional>
#include <string>

#include <nlohmann/json.hpp>

#include "data/dataset.h"
#include "engine/runtime/dist_runtime.h"
#include "engine/runtime/lane_runtime.h"
#include "engine/train/config.h"

namespace mlcn {

struct EvalResult {
  double accuracy = 0, loss = 0;
  int64_t images = 0;
};

// Trains per the config; writes the run into out_dir (created, locked). data.validation holds
// part of the training set out (data/split.h): after every epoch the model is evaluated on it,
// best.safetensors is the epoch with the best validation accuracy, early stopping watches it;
// the test set is evaluated for the final model (after the last epoch) and for the best one
// (summary: test_accuracy, best_epoch, best_validation_accuracy, best_model_test_accuracy).
// Without a validation split the test set is evaluated every epoch and nothing is chosen on it
// (no best.safetensors). The learning rate of each step comes from train.lr_schedule
// (engine/optim/lr_schedule.h). resume_dir: continue a run (from a mid-epoch checkpoint too);
// one that already did cfg.epochs epochs (or stopped early) is left as it is, and the result is
// its summary.json with "already_finished": true and "epochs_done". Nothing
// in out_dir changes before the model, the checkpoint and the data have loaded. train.init
// (fresh runs): weights to start from. After SIGTERM/SIGINT it saves last.safetensors at the
// current step and returns a summary with "interrupted": true and the "signal". Under mpirun
// every rank calls it; rank 0 alone writes the run directory and the progress, and the ranks
// agree on every stop and step checkpoint.
nlohmann::json train_run(const Config& cfg, const std::string& out_dir, const std::string& resume_dir);
// Called with (images done, images in the split) before the first batch and after each.
using EvalProgress = std::function<void(int64_t done, int64_t total)>;
// Evaluates a model on the config's test split (loaded from the config, or given).
EvalResult evaluate(LaneRuntime& rt, const Config& cfg, const EvalProgress& progress = {});
EvalResult evaluate(LaneRuntime& rt, const Config& cfg, const Dataset& test, const EvalProgress& progress = {});
// The same across ranks (collective: every rank reads the test set, each runs its part).
EvalResult evaluate(DistRuntime& rt, const Config& cfg, const EvalProgress& progress = {});
EvalResult evaluate(DistRuntime& rt, const Config& cfg, const Dataset& test, const EvalProgress& progress = {});
// Runtime options from the config (threads split over cpu_devices, placement list).
// runtime.device auto picks every visible GPU when the CUDA backend finds one, else the CPU.
RuntimeOptions runtime_options(const Config& cfg, size_t lanes);
// "cuda:0 (NVIDIA H100 ...)" / "cpu:0 (2 threads)", for logs and summaries.
std::string describe_devices(const RuntimeOptions& o);

}  // namespace mlcn
