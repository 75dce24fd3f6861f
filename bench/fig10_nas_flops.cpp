// Fig. 10: NAS accuracy (mean and best score) against the load ("FLOPs") limit per bucket:
// 1x, 2x, 4x, 8x the reference model (4 lanes, w2, d4), 12 GB, 8 buckets, random search.
// --scale cpu (default) runs at the reduced CPU scale of nas/sweep.h with the limits / 32:
// loads 1/32 .. 8/32 of the reference, 0.375 GiB, 2 buckets. docs/nas.md has the numbers.
#include <cstdio>
#include <exception>

#include "nas/sweep.h"

using namespace mlcn;

int main(int argc, char** argv) {
  try {
    BenchArgs a = parse_bench_args(argc, argv, "fig10_nas_flops",
                                   "usage: fig10_nas_flops [--scale cpu|paper] [--config FILE] [--set key=value ...] "
                                   "[--seed N] [--out DIR]   (run from the repository root)");
    const double div = a.paper ? 1.0 : 32.0;
    std::vector<std::string> scale = a.paper ? std::vector<std::string>{} : cpu_scale_overrides();
    std::vector<SweepSetting> settings;
    for (int k : {1, 2, 4, 8})
      settings.push_back({std::to_string(k) + "x", {"nas.buckets.load=" + std::to_string(k / div)}});
    auto rows = run_sweep(a, scale, settings);
    std::printf("Fig. 10: load limit per bucket (x reference 4 x (w2, d4)%s)\n", a.paper ? "" : ", CPU scale: / 32");
    std::printf("%s", sweep_table("load", rows).c_str());
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fig10_nas_flops: error: %s\n", e.what());
    return 1;
  }
}
