// Drawing a run's curves: `mlcn plot` and `mlcn train --plot` run bench/plot/plot_runs.py
// (Debian's python3 with python3-matplotlib), found next to the executable's source tree
// (<exe>/../../bench/plot, <exe>/../share/mlcn/plot) or in the source tree it was built from.
#pragma once
#include <ostream>
#include <string>
#include <vector>

namespace mlcn::cli {

// The plotting script's path; an error saying where it looked when there is none.
std::string plot_script();
// Draws the runs' curves (overlaid when several) as PNGs into out_dir; prints what it wrote.
void plot_runs(const std::vector<std::string>& run_dirs, const std::string& out_dir, std::ostream& out);
// plot_runs({dir}, dir/plots).
void plot_run(const std::string& dir, std::ostream& out);

}  // namespace mlcn::cli
