// Fig. 12: NAS accuracy (mean and best score) against the number of buckets: 4, 8, 16, 32 at
// 8x load and 12 GB, random search. --scale cpu (default) runs at the reduced CPU scale of
// nas/sweep.h: 1, 2, 4, 8 buckets (/ 4) of 0.375 GiB at 4x/32 load (not 8x/32: the 8-bucket
// models would take most of an hour on 2 cores).
#include <cstdio>
#include <exception>

#include "nas/sweep.h"

using namespace mlcn;

int main(int argc, char** argv) {
  try {
    BenchArgs a = parse_bench_args(argc, argv, "fig12_nas_buckets",
                                   "usage: fig12_nas_buckets [--scale cpu|paper] [--config FILE] [--set key=value ...] "
                                   "[--seed N] [--out DIR]   (run from the repository root)");
    std::vector<std::string> scale = a.paper ? std::vector<std::string>{} : cpu_scale_overrides();
    scale.push_back(a.paper ? "nas.buckets.load=8" : "nas.buckets.load=0.125");
    std::vector<SweepSetting> settings;
    for (int n : {4, 8, 16, 32}) {
      const int count = a.paper ? n : n / 4;
      settings.push_back({std::to_string(count), {"nas.buckets.count=" + std::to_string(count)}});
    }
    auto rows = run_sweep(a, scale, settings);
    std::printf("Fig. 12: number of buckets%s\n", a.paper ? "" : " (CPU scale: paper count / 4, load 4x/32)");
    std::printf("%s", sweep_table("buckets", rows).c_str());
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fig12_nas_buckets: error: %s\n", e.what());
    return 1;
  }
}
