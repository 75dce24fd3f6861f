// Fig. 9 of the paper: heterogeneous lanes on heterogeneous devices, one each of K80, M40,
// P100 and V100 with the paper's speeds 1, 3.1, 4.2 and 6 and their memory (12, 24, 16,
// 16 GiB). Networks of 6, 9, 12 and 24 lanes with (w, d) drawn in 1..5 (valid ones fitting
// the largest device only); random (mean of 10 seeds), random-iid, greedy (Algorithm 1:
// emptiest device), greedy-ect (earliest finish), local-search and exact. kk needs equal
// speeds and is left out. Options: see parse_study_args (sched/placement_study.h).
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "bench/bench_cli.h"        // defines: handle_help
#include "sched/placement_study.h"  // defines: StudyConfig, run_study, format_study

int main(int argc, char** argv) {
  mlcn::bench::handle_help(argc, argv,
                           "usage: fig9_hetero_devices [--networks N] [--seeds N] [--model paper|flops|calibrated] [--dataset NAME]\n"
                           "       [--batch N] [--seed N] [--time-limit S] [--memory on|off] [--sizes a,b,...]\n"
                           "  (sched/placement_study.h describes each option)");
  try {
    mlcn::StudyConfig cfg;
    cfg.title = "fig9_hetero_devices: heterogeneous lanes on K80, M40, P100, V100 (paper Fig. 9)";
    cfg.devices = mlcn::paper_gpus(true);
    cfg.algos = {"random", "random-iid", "greedy", "greedy-ect", "local-search", "exact"};
    mlcn::parse_study_args(std::vector<std::string>(argv + 1, argv + argc), &cfg);
    std::fputs(mlcn::format_study(cfg, mlcn::run_study(cfg)).c_str(), stdout);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fig9_hetero_devices: error: %s\n", e.what());
    return 1;
  }
}
