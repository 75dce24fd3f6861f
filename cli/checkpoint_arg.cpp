// Checking checkpoint arguments; see checkpoint_arg.h.
#include "cli/checkpoint_arg.h"

#include <filesystem>

#include "engine/io/safetensors.h"   // defines: read_safetensors
#include "engine/train/weights.h"    // defines: check_safetensors_file, stored_config

namespace mlcn::cli {
namespace fs = std::filesystem;

std::string checkpoint_arg(const std::string& file_or_dir) {
  if (!fs::is_directory(file_or_dir)) return file_or_dir;
  for (const char* f : {"best.safetensors", "last.safetensors"})
    if (fs::exists(fs::path(file_or_dir) / f)) return (fs::path(file_or_dir) / f).string();
  MLCN_FAIL(file_or_dir << ": a directory without best.safetensors or last.safetensors (not a run directory?)");
}

void require_training_checkpoint(const std::string& path) {
  MLCN_CHECK(fs::exists(path), path << ": no such checkpoint");
  check_safetensors_file(path);
  StFile f = read_safetensors(path);
  MLCN_CHECK(!(f.metadata.count("format") && f.metadata.at("format") == kWeightsFormat),
             path << ": a weights-only file (mlcn export) cannot be resumed; start a run from it with --init");
  for (const char* key : {"format", "config", "epoch", "adam_t"})
    MLCN_CHECK(f.metadata.count(key), path << ": not an mlcn training checkpoint (its metadata has no '" << key << "')");
}

std::string stored_config_text(const std::string& path) {
  nlohmann::json j = stored_config(path);
  MLCN_CHECK(!j.is_null(), path << ": the file carries no training config (weights written elsewhere?): pass --config FILE");
  return j.dump();
}

}  // namespace mlcn::cli
