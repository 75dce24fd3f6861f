// The engine side of train_bridge.h: config parsing and train_run.
#include "nas/train_bridge.h"

#include "base/check.h"            // defines: MLCN_CHECK
#include "engine/train/config.h"   // defines: Config, config_from_json
#include "engine/train/trainer.h"  // defines: train_run

namespace mlcn {

const nlohmann::json& training_defaults() { return config_defaults(); }

TrainingFacts training_facts(const nlohmann::json& config, const std::string& source) {
  Config c = config_from_json(config, source);
  TrainingFacts f;
  f.resolved = c.json;
  f.dataset = c.dataset;
  f.batch_size = c.batch_size;
  f.routings = c.routings;
  f.cpu_devices = c.cpu_devices;
  f.seed = c.seed;
  f.validation = c.validation;
  return f;
}

nlohmann::json train_config(const nlohmann::json& config, const std::string& source, const std::string& out_dir,
                            const std::string& resume_dir) {
  nlohmann::json s = train_run(config_from_json(config, source), out_dir, resume_dir);
  // SIGTERM/SIGINT: the run saved its checkpoint; the search stops here with one clear line.
  MLCN_CHECK(!s.value("interrupted", false), source << ": stopped by signal " << s.value("signal", 0)
                                                    << "; continue the search with mlcn nas --resume");
  return s;
}

}  // namespace mlcn
