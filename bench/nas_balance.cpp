// Load balance of the NAS generator's models (issue 12): per setting, 64 seeded models (the
// paper's iteration count) and the largest / mean bucket time of each, at the paper's common
// point (CIFAR-10, 8 buckets of 12 GiB, 8x load, where memory binds first), the other points
// of Figs. 10-12, and buckets of mixed speeds. Also the time target against the load limit,
// the mean lane count, and how many buckets ended within 1% of the target.
// Options: --models N (default 64) --seed N (default 1).
#include <algorithm>
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "bench/bench_cli.h"  // defines: handle_help, usage_error, next_value
#include "base/check.h"      // defines: MLCN_CHECK
#include "nas/generator.h"   // defines: ModelGenerator
#include "nas/nas_config.h"  // defines: parse_nas_config

using namespace mlcn;

int main(int argc, char** argv) {
  const char* usage = "usage: nas_balance [--models N] [--seed N]";
  mlcn::bench::handle_help(argc, argv, usage);
  try {
    int models = 64;
    uint64_t seed = 1;
    for (int i = 1; i < argc; ++i) {
      const std::string a = argv[i];
      const std::string v = mlcn::bench::next_value(argc, argv, &i, "nas_balance", usage);
      if (a == "--models") models = mlcn::bench::positive_int(a, v, "nas_balance", usage);
      else if (a == "--seed") seed = uint64_t(mlcn::bench::positive_int(a, v, "nas_balance", usage));
      else mlcn::bench::usage_error("nas_balance", "unknown option '" + a + "'", usage);
    }
    struct Setting {
      std::string name, buckets;
    };
    auto same = [](int count, double gib, double load) {
      return "{\"count\": " + std::to_string(count) + ", \"memory_gib\": " + std::to_string(gib) +
             ", \"load\": " + std::to_string(load) + "}";
    };
    std::vector<Setting> settings = {
        {"paper: 8 x 12 GiB, 8x", same(8, 12, 8)},
        {"Fig10: 8 x 12 GiB, 1x", same(8, 12, 1)},
        {"Fig10: 8 x 12 GiB, 4x", same(8, 12, 4)},
        {"Fig11: 8 x 2 GiB, 8x", same(8, 2, 8)},
        {"Fig11: 8 x 4 GiB, 8x", same(8, 4, 8)},
        {"Fig12: 4 x 12 GiB, 8x", same(4, 12, 8)},
        {"Fig12: 32 x 12 GiB, 8x", same(32, 12, 8)},
        {"speeds 1,3.1,4.2,6 x 12 GiB, 8x",
         R"([{"memory_gib": 12, "load": 8, "speed": 1}, {"memory_gib": 12, "load": 8, "speed": 3.1},
             {"memory_gib": 12, "load": 8, "speed": 4.2}, {"memory_gib": 12, "load": 8, "speed": 6}])"},
    };
    std::printf("nas_balance: CIFAR-10, paper cost model, %d models per setting, seed %llu\n", models,
                (unsigned long long)seed);
    std::printf("%-34s %10s %10s %7s %9s %9s %9s\n", "setting", "target", "load_lim", "lanes",
                "bal_mean", "bal_max", "at_target");
    for (const Setting& s : settings) {
      NasConfig cfg = parse_nas_config(
          R"({"nas": {"buckets": )" + s.buckets + R"(}, "data": {"dataset": "cifar10"}})", "nas_balance");
      ModelGenerator gen(cfg.space);
      double bal = 0, worst = 0, lanes = 0;
      int at = 0, buckets = 0;
      for (int64_t id = 0; id < models; ++id) {
        GeneratedModel m = gen.generate(seed, id);
        bal += m.balance;
        worst = std::max(worst, m.balance);
        lanes += double(m.lanes.size());
        for (const BucketUse& u : m.use) at += u.load >= 0.99 * gen.time_target(), ++buckets;
      }
      std::printf("%-34s %10.1f %10.1f %7.1f %9.3f %9.3f %8.1f%%\n", s.name.c_str(), gen.time_target(),
                  cfg.space.buckets[0].load_limit, lanes / models, bal / models, worst,
                  100.0 * at / buckets);
    }
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "nas_balance: error: %s\n", e.what());
    return 1;
  }
}
