// Fig. 8 of the paper: heterogeneous lanes on 4 identical devices. Networks of 6, 9, 12 and 24
// lanes with (w, d) drawn in 1..5 (valid ones fitting a 12 GiB K80 only), placed by random
// (mean of 10 seeds), random-iid, greedy (the paper's Algorithm 1), greedy-ect, kk,
// local-search and exact; prints predicted makespan, gap to the proven optimum and time.
// Options: see parse_study_args (sched/placement_study.h), e.g. --model flops --networks 50.
// The "measured" column appears when run_study is given a MeasureFn that runs a placement
// on real devices (the engine's lane runtime).
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "bench/bench_cli.h"        // defines: handle_help
#include "sched/placement_study.h"  // defines: StudyConfig, run_study, format_study

int main(int argc, char** argv) {
  mlcn::bench::handle_help(argc, argv,
                           "usage: fig8_hetero_lanes [--networks N] [--seeds N] [--model paper|flops|calibrated] [--dataset NAME]\n"
                           "       [--batch N] [--seed N] [--time-limit S] [--memory on|off] [--sizes a,b,...]\n"
                           "  (sched/placement_study.h describes each option)");
  try {
    mlcn::StudyConfig cfg;
    cfg.title = "fig8_hetero_lanes: heterogeneous lanes on 4 identical devices (paper Fig. 8)";
    cfg.devices = mlcn::identical_devices(4, 1.0, 12.0 * 1024 * 1024 * 1024, "K80-");
    mlcn::parse_study_args(std::vector<std::string>(argv + 1, argv + argc), &cfg);
    std::fputs(mlcn::format_study(cfg, mlcn::run_study(cfg)).c_str(), stdout);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fig8_hetero_lanes: error: %s\n", e.what());
    return 1;
  }
}
