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
  // A command never writes into its own input, nor into a training run's folder (issue 27, item
  // 3: exporting onto a run's last.safetensors replaced its resumable state with weights only).
  std::error_code ec;
  MLCN_CHECK(!std::filesystem::equivalent(dst, ckpt, ec), dst << ": --out is the checkpoint being exported; give another file");
  const std::filesystem::path dir = std::filesystem::absolute(dst).parent_path();
  MLCN_CHECK(!std::filesystem::exists(dir / "events.jsonl"),
             dst << ": --out is inside a training run's folder (" << dir.string()
                 << " has the run's events.jsonl); write the export elsewhere");
  const Config cfg = load_run_config(a.get("--config"), ckpt, a.all("--set"));
  Model model(model_spec(cfg));
  load_weights(ckpt, model);
  save_weights(dst, model, cfg);
  out << "wrote " << dst << " (" << model.all_params().size() << " tensors, " << model.num_params()
      << " parameters)\n";
  return 0;
}

}  // namespace mlcn::cli
