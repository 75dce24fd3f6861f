// `mlcn train`: a new run into --out (an existing run is refused unless --overwrite), or
// --resume DIR to continue one. Prints the test accuracy and the time at the end; after
// SIGTERM/SIGINT it prints how to continue and exits with 128 + the signal number.
#include <cstdio>
#include <filesystem>

#include "cli/commands.h"
#include "cli/run_config.h"           // defines: load_run_config, resolve_placement_name
#include "engine/comm/comm.h"         // defines: world
#include "engine/train/checkpoint.h"  // defines: checkpoint_config
#include "engine/train/trainer.h"     // defines: train_run

namespace mlcn::cli {

namespace {

// A directory that already holds a run (its config, metrics or checkpoints).
bool holds_run(const std::filesystem::path& dir) {
  for (const char* f : {"config.json", "metrics.csv", "last.safetensors", "summary.json"})
    if (std::filesystem::exists(dir / f)) return true;
  return false;
}

}  // namespace

int cmd_train(const Args& a, std::ostream& out) {
  const std::string resume = a.get("--resume");
  if (resume.empty() && !a.has("--config")) throw UsageError("--config FILE (or --resume DIR) is required");
  if (!resume.empty() && a.has("--overwrite")) throw UsageError("--overwrite does not go with --resume");
  if (!resume.empty() && a.has("--out") && a.get("--out") != resume)
    throw UsageError("--resume DIR continues the run in DIR; drop --out");
  const std::string dir = a.get("--out", resume.empty() ? "runs/latest" : resume);
  MLCN_CHECK(!std::filesystem::exists(dir) || std::filesystem::is_directory(dir),
             dir << ": --out must name a directory, and this is a file");
  if (resume.empty() && holds_run(dir) && !a.has("--overwrite"))
    MLCN_FAIL(dir << " already holds a run: pass --resume " << dir << " to continue it, --overwrite to replace it, "
                  << "or --out NEW_DIR");
  const Config cfg = a.has("--config")
                         ? load_run_config(a.get("--config"), "", a.all("--set"))
                         : resolve_placement_name(parse_config(checkpoint_config(resume + "/last.safetensors").dump(),
                                                               resume, a.all("--set")),
                                                  resume);
  nlohmann::json s = train_run(cfg, dir, resume);
  if (s.value("interrupted", false)) {  // SIGTERM/SIGINT: checkpoint saved, exit 128 + signal
    if (world().rank() == 0)
      out << "interrupted after epoch " << s["epochs_done"].get<int64_t>() << " step " << s["step"].get<int64_t>()
          << "; continue with: mlcn train --resume " << dir << "\n";
    return 128 + s["signal"].get<int>();
  }
  if (world().rank() != 0) return 0;  // rank 0 alone reports (and writes the run)
  char line[256];
  std::snprintf(line, sizeof line, "test accuracy %.4f after %d epoch(s) in %.1f s (run in %s)\n",
                s["test_accuracy"].get<double>(), cfg.epochs, s["seconds"].get<double>(), dir.c_str());
  out << line;
  return 0;
}

}  // namespace mlcn::cli
