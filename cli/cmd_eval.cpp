// `mlcn eval`: the test accuracy and loss of a checkpoint, as one JSON line.
#include "cli/commands.h"
#include "cli/run_config.h"                // defines: load_run_config
#include "engine/runtime/lane_runtime.h"   // defines: LaneRuntime
#include "engine/train/checkpoint.h"       // defines: load_checkpoint
#include "engine/train/trainer.h"          // defines: evaluate, runtime_options

namespace mlcn::cli {

int cmd_eval(const Args& a, std::ostream& out) {
  const std::string ckpt = a.require("--checkpoint", "FILE");
  const Config cfg = load_run_config(a.get("--config"), ckpt, a.all("--set"));
  Model model(model_spec(cfg));
  load_checkpoint(ckpt, model, {});
  LaneRuntime rt(model, runtime_options(cfg, model.num_lanes()));
  EvalResult r = evaluate(rt, cfg);
  out << nlohmann::json{{"accuracy", r.accuracy}, {"loss", r.loss}, {"images", r.images}}.dump() << "\n";
  return 0;
}

}  // namespace mlcn::cli
