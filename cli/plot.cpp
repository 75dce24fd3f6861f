// Running the plotting script; see plot.h.
#include "cli/plot.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>

#include "base/check.h"

namespace mlcn::cli {
namespace fs = std::filesystem;

namespace {
std::string quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}
}  // namespace

std::string plot_script() {
  std::vector<fs::path> tried;
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    tried.push_back(exe.parent_path() / "../../bench/plot/plot_runs.py");   // build/cli/mlcn
    tried.push_back(exe.parent_path() / "../bench/plot/plot_runs.py");
    tried.push_back(exe.parent_path() / "../share/mlcn/plot/plot_runs.py");  // installed
  }
#ifdef MLCN_SOURCE_DIR
  tried.push_back(fs::path(MLCN_SOURCE_DIR) / "bench/plot/plot_runs.py");
#endif
  std::string where;
  for (const fs::path& p : tried) {
    if (fs::exists(p)) return fs::weakly_canonical(p).string();
    where += (where.empty() ? "" : ", ") + p.lexically_normal().string();
  }
  MLCN_FAIL("the plotting script bench/plot/plot_runs.py is not found (looked in " << where << ")");
}

void plot_runs(const std::vector<std::string>& run_dirs, const std::string& out_dir, std::ostream& out) {
  for (const std::string& d : run_dirs)
    MLCN_CHECK(fs::exists(fs::path(d) / "metrics.csv"), d << ": not a run directory (no metrics.csv)");
  const std::string python = access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : "python3";
  std::string cmd = python + " " + quote(plot_script()) + " --out " + quote(out_dir);
  for (const std::string& d : run_dirs) cmd += " " + quote(d);
  std::fflush(stdout);
  const int rc = std::system(cmd.c_str());
  MLCN_CHECK(rc == 0, "plotting failed (exit " << (WIFEXITED(rc) ? WEXITSTATUS(rc) : rc)
                                               << "; the script's message is above; needs python3-matplotlib)");
  for (const auto& e : fs::directory_iterator(out_dir))
    if (e.path().extension() == ".png") out << "wrote " << e.path().string() << "\n";
}

void plot_run(const std::string& dir, std::ostream& out) { plot_runs({dir}, (fs::path(dir) / "plots").string(), out); }

}  // namespace mlcn::cli
