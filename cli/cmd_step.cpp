// `mlcn step`: one gradient step on the first test batch, dumped as safetensors (loss parts,
// capsule lengths, every parameter's gradient in the exchange layout) for comparison with a
// peer implementation.
#include <algorithm>
#include <cstdio>

#include "cli/commands.h"
#include "cli/run_config.h"               // defines: load_run_config
#include "data/batcher.h"                 // defines: Batcher
#include "data/dataset.h"                 // defines: load_dataset
#include "engine/io/safetensors.h"        // defines: StFile, write_safetensors
#include "engine/runtime/lane_runtime.h"  // defines: LaneRuntime
#include "engine/train/weights.h"         // defines: load_weights
#include "engine/train/trainer.h"         // defines: runtime_options

namespace mlcn::cli {

int cmd_step(const Args& a, std::ostream& out) {
  const std::string dump = a.require("--dump", "FILE");
  if (!a.has("--config") && !a.has("--checkpoint")) throw UsageError("--config FILE or --checkpoint FILE is required");
  const Config cfg = load_run_config(a.get("--config"), a.get("--checkpoint"), a.all("--set"));
  Model model(model_spec(cfg));
  model.init(cfg.seed);
  if (a.has("--checkpoint")) load_weights(a.get("--checkpoint"), model);
  Dataset test = load_dataset(cfg.dataset, cfg.data_path, "test", cfg.batch_size);
  BatchOptions bo;
  bo.batch_size = cfg.batch_size;
  bo.shuffle = false;
  Batcher batcher(test, bo);
  Batch b = batcher.next();
  Tensor x = Tensor::empty({b.size, test.H, test.W, test.C});  // (B, H, W, C)
  std::copy(b.images, b.images + x.numel(), x.data<float>());
  LaneRuntime rt(model, runtime_options(cfg, model.num_lanes()));
  StepResult r = rt.step(x, std::vector<int32_t>(b.labels, b.labels + b.size), StepMode::Grad, 0, nullptr);
  StFile f;
  auto scalar = [](double v) {
    float fv = static_cast<float>(v);
    return StTensor::from_f32({}, &fv);
  };
  f.tensors["loss"] = scalar(r.loss);
  f.tensors["loss_margin"] = scalar(r.margin);
  f.tensors["loss_recon"] = scalar(r.recon);
  f.tensors["lengths"] = StTensor::from_f32(r.lengths.shape(), r.lengths.data<float>());
  for (Param* p : model.all_params()) {
    Tensor g = to_exchange(*p, p->var->grad);
    f.tensors["grad." + p->name] = StTensor::from_f32(g.shape(), g.data<float>());
  }
  f.metadata["config"] = cfg.json.dump();
  write_safetensors(dump, f);
  char line[256];
  std::snprintf(line, sizeof line, "wrote %s (loss %.6f)\n", dump.c_str(), r.loss);
  out << line;
  return 0;
}

}  // namespace mlcn::cli
