// Fig. 11: NAS accuracy (mean and best score) against the memory limit per bucket: 2, 4, 8,
// 12 GB at 8x load, 8 buckets, random search. --scale cpu (default) runs at the reduced CPU
// scale of nas/sweep.h with the limits / 32: 0.0625 .. 0.375 GiB, 8x/32 load, 2 buckets.
#include <cstdio>
#include <exception>

#include "nas/sweep.h"

using namespace mlcn;

int main(int argc, char** argv) {
  try {
    BenchArgs a = parse_bench_args(argc, argv, "fig11_nas_memory",
                                   "usage: fig11_nas_memory [--scale cpu|paper] [--config FILE] [--set key=value ...] "
                                   "[--seed N] [--out DIR]   (run from the repository root)");
    const double div = a.paper ? 1.0 : 32.0;
    std::vector<std::string> scale = a.paper ? std::vector<std::string>{} : cpu_scale_overrides();
    scale.push_back("nas.buckets.load=" + std::to_string(8 / div));
    std::vector<SweepSetting> settings;
    for (int gb : {2, 4, 8, 12})
      settings.push_back({std::to_string(gb) + "GB", {"nas.buckets.memory_gib=" + std::to_string(gb / div)}});
    auto rows = run_sweep(a, scale, settings);
    std::printf("Fig. 11: memory limit per bucket%s\n", a.paper ? "" : " (CPU scale: GiB / 32)");
    std::printf("%s", sweep_table("memory", rows).c_str());
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fig11_nas_memory: error: %s\n", e.what());
    return 1;
  }
}
