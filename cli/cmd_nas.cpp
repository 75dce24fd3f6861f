// `mlcn nas`: run (or resume) an architecture search, or print generated models. Prints one
// line at the end of a search: the best model, its score and the files written.
#include <filesystem>

#include "cli/commands.h"
#include "nas/generator.h"   // defines: ModelGenerator, model_to_json
#include "nas/nas_config.h"  // defines: load_nas_config
#include "nas/nas_run.h"     // defines: run_nas, load_search_config

namespace mlcn::cli {

int cmd_nas(const Args& a, std::ostream& out) {
  const bool generate_only = a.has("--generate-only");
  const std::string resume = a.get("--resume");
  if (!resume.empty()) {
    if (generate_only) throw UsageError("--generate-only does not take --resume DIR");
    if (!a.has("--config") && a.has("--set"))
      throw UsageError("--set needs --config FILE (the search's config is DIR/nas_config.json)");
    if (a.has("--out") && a.get("--out") != resume) throw UsageError("--resume DIR writes into DIR; drop --out");
  } else if (!a.has("--config")) {
    throw UsageError("--config FILE is required");
  }
  if (a.has("--count") && !generate_only) throw UsageError("--count N needs --generate-only");
  const uint64_t count = a.get_uint("--count", 0);
  if (a.has("--count") && count == 0) throw UsageError("--count must be a positive integer, got '0'");

  if (generate_only) {
    NasConfig cfg = load_nas_config(a.get("--config"), a.all("--set"));
    ModelGenerator gen(cfg.space);
    const int64_t n = count > 0 ? int64_t(count) : cfg.search.iterations;
    for (int64_t id = 0; id < n; ++id) out << model_to_json(gen.generate(cfg.search.seed, id), cfg.space).dump() << "\n";
    return 0;
  }
  NasRunOptions opt;
  NasConfig cfg;
  if (!resume.empty()) {
    cfg = a.has("--config") ? load_nas_config(a.get("--config"), a.all("--set")) : load_search_config(resume);
    opt.out_dir = resume;
    opt.resume = true;
  } else {
    cfg = load_nas_config(a.get("--config"), a.all("--set"));
    opt.out_dir = a.get("--out", "runs/nas");
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

}  // namespace mlcn::cli
