// `mlcn train`: a new run into --out (an existing run is refused unless --overwrite), from
// --init weights or a fresh initialisation, or --resume DIR to continue one (a finished run is
// reported and left alone). Prints the test accuracy and the time at the end; --plot (or
// train.plot) draws the curves; after SIGTERM/SIGINT it prints how to continue and exits with
// 128 + the signal number. Under mpirun rank 0 alone reports.
#include <cstdio>
#include <filesystem>

#include "cli/commands.h"
#include "cli/run_config.h"           // defines: load_run_config, resolve_placement_name
#include "engine/comm/comm.h"         // defines: world
#include "cli/checkpoint_arg.h"       // defines: require_training_checkpoint, stored_config_text
#include "cli/plot.h"                 // defines: plot_run
#include "engine/train/weights.h"     // defines: check_safetensors_file
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
  if (!resume.empty() && a.has("--init")) throw UsageError("--init starts a new run; it does not go with --resume");
  if (!resume.empty() && a.has("--out") && a.get("--out") != resume)
    throw UsageError("--resume DIR continues the run in DIR; drop --out");
  const std::string dir = a.get("--out", resume.empty() ? "runs/latest" : resume);
  MLCN_CHECK(!std::filesystem::exists(dir) || std::filesystem::is_directory(dir),
             dir << ": --out must name a directory, and this is a file");
  if (resume.empty() && holds_run(dir) && !a.has("--overwrite"))
    MLCN_FAIL(dir << " already holds a run: pass --resume " << dir << " to continue it, --overwrite to replace it, "
                  << "or --out NEW_DIR");
  std::vector<std::string> sets = a.all("--set");
  if (a.has("--init")) {
    check_safetensors_file(a.get("--init"));
    sets.push_back("train.init=" + a.get("--init"));
  }
  if (a.has("--plot")) sets.push_back("train.plot=true");
  const std::string last = (std::filesystem::path(resume) / "last.safetensors").string();
  if (!resume.empty()) {
    MLCN_CHECK(std::filesystem::is_directory(resume), resume << ": no run directory to resume");
    require_training_checkpoint(last);
  }
  const Config cfg = a.has("--config")
                         ? load_run_config(a.get("--config"), "", sets)
                         : resolve_placement_name(parse_config(stored_config_text(last), last, sets), resume);
  nlohmann::json s = train_run(cfg, dir, resume);
  if (s.value("interrupted", false)) {  // SIGTERM/SIGINT: checkpoint saved, exit 128 + signal
    if (world().rank() == 0)
      out << "interrupted after epoch " << s["epochs_done"].get<int64_t>() << " step " << s["step"].get<int64_t>()
          << "; continue with: mlcn train --resume " << dir << "\n";
    return 128 + s["signal"].get<int>();
  }
  if (world().rank() != 0) return 0;  // rank 0 alone reports (and writes the run)
  if (s.value("already_finished", false)) {
    out << dir << ": the run already finished its " << s["epochs_done"].get<int64_t>()
        << " epoch(s); nothing changed (raise train.epochs with --set to train on)\n";
    return 0;
  }
  char line[384];
  const int64_t done = s["epochs_done"].get<int64_t>();
  const char* why = s.value("early_stopped", false) ? ", stopped early"
                    : s.value("time_limited", false) ? ", time limit reached"
                                                     : "";
  if (s.contains("best_epoch")) {
    std::snprintf(line, sizeof line,
                  "test accuracy %.4f (final model, epoch %lld); %.4f (epoch %lld, the best validation accuracy %.4f)%s; "
                  "%.1f s in this session (run in %s)\n",
                  s["test_accuracy"].get<double>(), (long long)done, s["best_model_test_accuracy"].get<double>(),
                  (long long)s["best_epoch"].get<int64_t>(), s["best_validation_accuracy"].get<double>(),
                  why, s["seconds"].get<double>(), dir.c_str());
  } else {
    std::snprintf(line, sizeof line, "test accuracy %.4f after %lld epoch(s) (no validation split)%s, %.1f s in this session (run in %s)\n",
                  s["test_accuracy"].get<double>(), (long long)done, why, s["seconds"].get<double>(), dir.c_str());
  }
  out << line;
  if (cfg.plot) plot_run(dir, out);
  return 0;
}

}  // namespace mlcn::cli
