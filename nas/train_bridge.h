// The NAS's door into the engine's training code, in JSON terms: the search code deals in
// configs and summaries, never in models or tensors.
#pragma once
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>  // defines: nlohmann::json

namespace mlcn {

// What the NAS reads from a training config after the engine resolved and validated it.
struct TrainingFacts {
  nlohmann::json resolved;  // the resolved config (defaults + given keys)
  std::string dataset;
  int batch_size = 100;
  int routings = 3;
  int cpu_devices = 1;
  uint64_t seed = 0;
  double validation = 0;  // data.validation: models are scored on this held-out split
};

// The engine's config defaults (every valid training key), for `--set` key suggestions.
const nlohmann::json& training_defaults();

// Validates a training config with the engine's parser (errors name `source` and the key).
TrainingFacts training_facts(const nlohmann::json& config, const std::string& source);

// Trains `config` into run directory out_dir with the engine's train_run (resume_dir empty,
// or out_dir to continue that run); returns its summary ("validation_accuracy", "test_accuracy", "seconds", ...).
nlohmann::json train_config(const nlohmann::json& config, const std::string& source, const std::string& out_dir,
                            const std::string& resume_dir);

}  // namespace mlcn
