// Sweeps of NAS searches for the Fig. 10-13 benchmarks (see sweep.h).
#include "nas/sweep.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <sstream>

#include "base/check.h"  // defines: MLCN_CHECK, MLCN_FAIL
#include "nas/nas_config.h"     // defines: load_nas_config
#include "nas/nas_run.h"        // defines: run_nas

namespace mlcn {
namespace fs = std::filesystem;

BenchArgs parse_bench_args(int argc, char** argv, const std::string& name, const std::string& usage) {
  BenchArgs a;
  a.out = "runs/bench/" + name;
  a.config = "configs/nas-paper.json";
  auto usage_error = [&](const std::string& message) {  // the CLI contract: exit 2 with the usage
    std::cerr << name << ": " << message << "\n" << usage << "\n";
    std::exit(2);
  };
  for (int i = 1; i < argc; ++i)
    if (std::string(argv[i]) == "--help" || std::string(argv[i]) == "-h") {
      std::cout << usage << "\n";
      std::exit(0);
    }
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    if (i + 1 >= argc) usage_error("option '" + k + "' needs a value");
    const std::string v = argv[++i];
    if (k == "--scale") {
      if (v != "cpu" && v != "paper") usage_error("--scale must be cpu or paper, got '" + v + "'");
      a.paper = v == "paper";
    } else if (k == "--set") {
      a.sets.push_back(v);
    } else if (k == "--out") {
      a.out = v;
    } else if (k == "--config") {
      a.config = v;
    } else if (k == "--seed") {
      if (v.empty() || v.find_first_not_of("0123456789") != std::string::npos || v.size() > 18)
        usage_error("--seed must be a non-negative integer, got '" + v + "'");
      a.sets.push_back("nas.seed=" + v);
      a.sets.push_back("train.seed=" + v);
    } else {
      usage_error("unknown option '" + k + "'");
    }
  }
  return a;
}

std::vector<std::string> cpu_scale_overrides() {
  return {"data.dataset=fashion-mnist", "data.train_limit=500", "data.test_limit=300", "train.batch_size=50",
          "train.log_every=0",          "nas.epochs=1",          "nas.repeats=2",        "nas.iterations=6",
          "nas.buckets.count=2",        "nas.buckets.memory_gib=0.375",                    "nas.buckets.load=0.25"};
}

std::vector<SweepResult> run_sweep(const BenchArgs& args, const std::vector<std::string>& scale_overrides,
                                   const std::vector<SweepSetting>& settings) {
  std::vector<SweepResult> out;
  for (const SweepSetting& s : settings) {
    std::vector<std::string> ov = scale_overrides;
    ov.insert(ov.end(), s.overrides.begin(), s.overrides.end());
    ov.insert(ov.end(), args.sets.begin(), args.sets.end());
    NasConfig cfg = load_nas_config(args.config, ov);
    NasRunOptions opt;
    opt.out_dir = (fs::path(args.out) / s.label).string();
    opt.resume = fs::exists(fs::path(opt.out_dir) / "nas_config.json");
    std::fprintf(stderr, "== %s: %s search in %s\n", s.label.c_str(), opt.resume ? "resuming the" : "starting a",
                 opt.out_dir.c_str());
    const auto t0 = std::chrono::steady_clock::now();
    SweepResult r;
    r.label = s.label;
    r.dir = opt.out_dir;
    r.summary = run_nas(cfg, opt);
    r.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    out.push_back(r);
  }
  return out;
}

std::string sweep_table(const std::string& setting_name, const std::vector<SweepResult>& rows) {
  std::ostringstream os;
  char line[512];
  std::snprintf(line, sizeof line, "%-12s %6s %10s %10s %8s %10s %12s %10s %12s %9s\n", setting_name.c_str(), "models",
                "mean_score", "best_score", "gain", "mean_lanes", "mean_params", "best_lanes", "model_epochs",
                "train_s");
  os << line;
  for (const SweepResult& r : rows) {
    const auto& s = r.summary;
    std::snprintf(line, sizeof line, "%-12s %6lld %10.4f %10.4f %7.1f%% %10.1f %11.2fM %10zu %12lld %9.0f\n",
                  r.label.c_str(), static_cast<long long>(s["rungs"].back()["models"].get<int64_t>()),
                  s["mean_score"].get<double>(), s["best"]["score"].get<double>(),
                  100 * s["gain_over_mean"].get<double>(), s["generated"]["mean_lanes"].get<double>(),
                  s["generated"]["mean_parameters"].get<double>() / 1e6, s["best"]["lanes"].size(),
                  static_cast<long long>(s["model_epochs"].get<int64_t>()), s["train_seconds"].get<double>());
    os << line;
  }
  return os.str();
}

}  // namespace mlcn
