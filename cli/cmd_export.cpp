// `mlcn export --checkpoint FILE|RUN_DIR --out W.safetensors`: the weights alone, under
// PyTorch's parameter names and in PyTorch's layouts (engine/train/weights.h), with the
// config in the metadata; bench/peer/models.py loads it with load_state_dict(strict=True).
#include <filesystem>

#include "cli/checkpoint_arg.h"  // defines: checkpoint_arg
#include "cli/commands.h"
#include "cli/run_config.h"        // defines: load_run_config
#include "engine/train/weights.h"  // defines: load_weights, save_weights

namespace mlcn::cli {

int cmd_export(const Args& a, std::ostream& out) {
  const std::string ckpt = checkpoint_arg(a.require("--checkpoint", "FILE"));
  const std::string dst = a.require("--out", "W.safetensors");
  MLCN_CHECK(!std::filesystem::is_directory(dst), dst << ": --out names a directory; give a file name");
  const Config cfg = load_run_config(a.get("--config"), ckpt, a.all("--set"));
  Model model(model_spec(cfg));
  load_weights(ckpt, model);
  save_weights(dst, model, cfg);
  out << "wrote " << dst << " (" << model.all_params().size() << " tensors, " << model.num_params()
      << " parameters)\n";
  return 0;
}

}  // namespace mlcn::cli
