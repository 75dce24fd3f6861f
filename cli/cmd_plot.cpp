// `mlcn plot RUN_DIR [RUN_DIR ...] [--out DIR]`: PNG curves of training runs (loss parts,
// accuracies, learning rate, images/s), several runs overlaid; see cli/plot.h.
#include <filesystem>

#include "cli/commands.h"
#include "cli/plot.h"  // defines: plot_runs

namespace mlcn::cli {

int cmd_plot(const Args& a, std::ostream& out) {
  const std::vector<std::string> runs = a.all("");
  if (runs.empty()) throw UsageError("name at least one RUN_DIR");
  const std::string dir = a.get("--out", (std::filesystem::path(runs[0]) / "plots").string());
  MLCN_CHECK(!std::filesystem::exists(dir) || std::filesystem::is_directory(dir), dir << ": --out must name a directory");
  plot_runs(runs, dir, out);
  return 0;
}

}  // namespace mlcn::cli
