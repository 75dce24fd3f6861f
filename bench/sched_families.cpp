// Placement families beyond the paper's figures (issue 12): identical or mixed-speed (1-8x)
// devices, loose or tight memory (total 4-10% above the lanes' needs), 4-8 devices by
// default. Per family and size: how often exact proved the optimum and its time, then per
// algorithm the gap to that optimum (mean, max), how often it is worse than greedy, how often
// it failed to return a placement, and its mean time. Gaps are taken over proven networks.
// Options: --sizes 12,24,32 --networks N --devices MIN,MAX --time-limit S --seed N
//          --families identical-loose,mixed-tight,...
#include <algorithm>
#include <cstdio>
#include <exception>
#include <sstream>
#include <string>
#include <vector>

#include "bench/bench_cli.h"  // defines: handle_help, usage_error, next_value
#include "base/check.h"            // defines: MLCN_CHECK, Error
#include "sched/place_families.h"  // defines: FamilySpec, placement_families, family_instance
#include "sched/placement.h"       // defines: place

using namespace mlcn;

namespace {

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  for (std::string item; std::getline(ss, item, ',');) out.push_back(item);
  return out;
}

struct Stats {
  std::string algo;
  double gap_sum = 0, gap_max = 0, seconds = 0;
  int runs = 0, worse = 0, failed = 0;
};

}  // namespace

int main(int argc, char** argv) {
  const char* usage =
      "usage: sched_families [--sizes 12,24,32] [--networks N] [--devices MIN,MAX] [--time-limit S] [--seed N]\n"
      "                      [--families identical-loose,mixed-tight,...]";
  mlcn::bench::handle_help(argc, argv, usage);
  try {
    std::vector<int> sizes = {12, 24, 32};
    int networks = 20, dmin = 4, dmax = 8;
    double time_limit = 10;
    uint64_t seed = 1;
    std::vector<std::string> names;
    for (int i = 1; i < argc; ++i) {
      const std::string a = argv[i];
      const std::string v = mlcn::bench::next_value(argc, argv, &i, "sched_families", usage);
      if (a == "--sizes") {
        sizes.clear();
        for (const auto& s : split(v)) sizes.push_back(std::stoi(s));
      } else if (a == "--networks") networks = std::stoi(v);
      else if (a == "--devices") {
        auto d = split(v);
        MLCN_CHECK(d.size() == 2, "sched_families: --devices wants MIN,MAX, got " << v);
        dmin = std::stoi(d[0]), dmax = std::stoi(d[1]);
      } else if (a == "--time-limit") time_limit = std::stod(v);
      else if (a == "--seed") seed = std::stoull(v);
      else if (a == "--families") names = split(v);
      else mlcn::bench::usage_error("sched_families", "unknown option '" + a + "'", usage);
    }
    std::printf("sched_families: %d networks per row, %d-%d devices, exact limit %g s\n", networks,
                dmin, dmax, time_limit);
    std::printf("%-16s %5s %7s %8s %8s | %-12s %9s %9s %6s %6s %9s\n", "family", "lanes", "proven",
                "exact_s", "exact_mx", "algo", "gap_mean%", "gap_max%", "worse", "failed", "mean_s");
    for (FamilySpec f : placement_families()) {
      if (!names.empty() && std::find(names.begin(), names.end(), f.name) == names.end()) continue;
      f.devices_min = dmin, f.devices_max = dmax;
      for (int n : sizes) {
        std::vector<std::string> algos = {"greedy", "greedy-ect", "local-search"};
        if (!f.mixed) algos.insert(algos.begin() + 2, "kk");
        std::vector<Stats> st;
        for (const auto& a : algos) st.push_back({a});
        int proven = 0;
        double ex_s = 0, ex_max = 0;
        for (int net = 0; net < networks; ++net) {
          PlacementProblem p = family_instance(f, n, seed * 1000003 + uint64_t(n) * 1009 + net);
          PlaceOptions opt;
          opt.time_limit_s = time_limit;
          Placement ex = place(p, "exact", opt);
          ex_s += ex.seconds, ex_max = std::max(ex_max, ex.seconds);
          if (!ex.optimal) continue;
          ++proven;
          double greedy = -1;
          for (auto& s : st) {
            Placement r;
            try {
              r = place(p, s.algo, opt);
            } catch (const Error&) {
              ++s.failed;
              continue;
            }
            const double gap = r.makespan / ex.makespan - 1;
            if (s.algo == "greedy") greedy = r.makespan;
            s.gap_sum += gap, s.gap_max = std::max(s.gap_max, gap), s.seconds += r.seconds;
            s.worse += greedy > 0 && r.makespan > greedy * (1 + 1e-12);
            ++s.runs;
          }
        }
        for (size_t i = 0; i < st.size(); ++i) {
          const Stats& s = st[i];
          if (i == 0)
            std::printf("%-16s %5d %3d/%-3d %8.3f %8.3f | ", f.name.c_str(), n, proven, networks,
                        ex_s / networks, ex_max);
          else
            std::printf("%-16s %5s %7s %8s %8s | ", "", "", "", "", "");
          std::printf("%-12s %9.3f %9.3f %6d %6d %9.4f\n", s.algo.c_str(),
                      s.runs ? 100 * s.gap_sum / s.runs : 0.0, 100 * s.gap_max, s.worse, s.failed,
                      s.runs ? s.seconds / s.runs : 0.0);
        }
      }
    }
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "sched_families: error: %s\n", e.what());
    return 1;
  }
}
