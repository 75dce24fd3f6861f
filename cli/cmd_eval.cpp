// `mlcn eval`: the test accuracy and loss of a checkpoint or weights file (a run directory
// means its best checkpoint), as one JSON line. The whole test set unless --config or
// --set data.test_limit says otherwise: the run's own test_limit is not reused silently.
#include <cstdio>

#include "cli/checkpoint_arg.h"            // defines: checkpoint_arg
#include "cli/commands.h"
#include "cli/run_config.h"                // defines: load_run_config
#include "engine/runtime/lane_runtime.h"   // defines: LaneRuntime
#include "engine/train/trainer.h"          // defines: evaluate, runtime_options
#include "engine/train/weights.h"          // defines: load_weights

namespace mlcn::cli {

namespace {

// --set overrides with data.test_limit=0 first when neither --config nor --set sets it.
std::vector<std::string> whole_test_set(const Args& a) {
  std::vector<std::string> sets = a.all("--set");
  bool limit = a.has("--config");
  for (const std::string& s : sets) limit = limit || s.rfind("data.test_limit=", 0) == 0;
  if (!limit) sets.insert(sets.begin(), "data.test_limit=0");
  return sets;
}

}  // namespace

int cmd_eval(const Args& a, std::ostream& out) {
  const std::string ckpt = checkpoint_arg(a.require("--checkpoint", "FILE"));
  const Config cfg = load_run_config(a.get("--config"), ckpt, whole_test_set(a));
  Model model(model_spec(cfg));
  load_weights(ckpt, model);
  LaneRuntime rt(model, runtime_options(cfg, model.num_lanes()));
  std::fprintf(stderr, "evaluating %s on %s (%s test images)\n", ckpt.c_str(), cfg.dataset.c_str(),
               cfg.test_limit ? std::to_string(cfg.test_limit).c_str() : "all");
  EvalResult r = evaluate(rt, cfg);
  out << nlohmann::json{{"checkpoint", ckpt}, {"dataset", cfg.dataset}, {"accuracy", r.accuracy}, {"loss", r.loss},
                        {"images", r.images}}
             .dump()
      << "\n";
  return 0;
}

}  // namespace mlcn::cli
