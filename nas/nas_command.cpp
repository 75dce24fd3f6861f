// `mlcn nas`: parse the arguments, then generate models or run (or resume) a search.
#include "nas/nas_command.h"

#include <cstdlib>
#include <filesystem>

#include "base/check.h"  // defines: MLCN_CHECK, MLCN_FAIL
#include "nas/generator.h"      // defines: ModelGenerator, model_to_json
#include "nas/nas_config.h"     // defines: load_nas_config
#include "nas/nas_run.h"        // defines: run_nas, load_search_config

namespace mlcn {

namespace {

struct NasArgs {
  std::string config, out, resume;
  std::vector<std::string> sets;
  bool generate_only = false;
  int64_t count = -1;
};

int64_t parse_count(const std::string& s) {
  char* end = nullptr;
  long long v = std::strtoll(s.c_str(), &end, 10);
  MLCN_CHECK(!s.empty() && *end == '\0' && v >= 1, "nas: --count must be a positive integer, got '" << s << "'");
  return v;
}

NasArgs parse(const std::vector<std::string>& args) {
  NasArgs a;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& k = args[i];
    if (k == "--generate-only") {
      a.generate_only = true;
      continue;
    }
    MLCN_CHECK(i + 1 < args.size(), "nas: option '" << k << "' needs a value\n" << nas_usage());
    const std::string& v = args[++i];
    if (k == "--config") a.config = v;
    else if (k == "--out") a.out = v;
    else if (k == "--resume") a.resume = v;
    else if (k == "--set") a.sets.push_back(v);
    else if (k == "--count") a.count = parse_count(v);
    else MLCN_FAIL("nas: unknown option '" << k << "'\n" << nas_usage());
  }
  if (!a.resume.empty()) {
    MLCN_CHECK(!a.generate_only, "nas: --generate-only does not take --resume DIR");
    MLCN_CHECK(!a.config.empty() || a.sets.empty(),
               "nas: --set needs --config FILE (the search's config is DIR/nas_config.json)");
    MLCN_CHECK(a.out.empty() || a.out == a.resume, "nas: --resume DIR writes into DIR; drop --out");
  } else {
    MLCN_CHECK(!a.config.empty(), "nas: --config FILE is required\n" << nas_usage());
  }
  MLCN_CHECK(a.count < 0 || a.generate_only, "nas: --count N needs --generate-only");
  return a;
}

}  // namespace

std::string nas_usage() {
  return "usage: mlcn nas --config FILE [--set key=value ...] [--out DIR]\n"
         "       mlcn nas [--config FILE [--set ...]] --resume DIR\n"
         "       mlcn nas --config FILE [--set ...] --generate-only [--count N]";
}

int run_nas_command(const std::vector<std::string>& args, std::ostream& out) {
  NasArgs a = parse(args);
  if (a.generate_only) {
    NasConfig cfg = load_nas_config(a.config, a.sets);
    ModelGenerator gen(cfg.space);
    const int64_t n = a.count > 0 ? a.count : cfg.search.iterations;
    for (int64_t id = 0; id < n; ++id)
      out << model_to_json(gen.generate(cfg.search.seed, id), cfg.space).dump() << "\n";
    return 0;
  }
  NasRunOptions opt;
  NasConfig cfg;
  if (!a.resume.empty()) {
    cfg = a.config.empty() ? load_search_config(a.resume) : load_nas_config(a.config, a.sets);
    opt.out_dir = a.resume;
    opt.resume = true;
  } else {
    cfg = load_nas_config(a.config, a.sets);
    opt.out_dir = a.out.empty() ? "runs/nas" : a.out;
  }
  auto s = run_nas(cfg, opt);
  const std::filesystem::path dir(opt.out_dir);
  out << "best model " << s["best"]["model"].get<int64_t>() << " score " << s["best"]["score"].get<double>() << " ("
      << s["best"]["lanes"].size() << " lanes; mean score " << s["mean_score"].get<double>() << " over "
      << s["rungs"].back()["models"].get<int64_t>() << " full evaluations; " << s["model_epochs"].get<int64_t>()
      << " model-epochs); wrote " << (dir / "summary.json").string() << ", " << (dir / "best_config.json").string()
      << "\n";
  return 0;
}

}  // namespace mlcn
