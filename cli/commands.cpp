// The table of `mlcn` subcommands: name, one-line summary, usage and flags (commands.h).
#include "cli/commands.h"

namespace mlcn::cli {

const std::vector<Command>& commands() {
  static const std::vector<Command> table = {
      {"train", "train a model from a JSON config into a run directory",
       "usage: mlcn train --config FILE [--set key=value ...] [--out DIR] [--overwrite] [--init WEIGHTS] [--plot]\n"
       "       mlcn train --resume DIR [--set key=value ...] [--plot]\n"
       "  --out DIR      run directory (default runs/latest); an existing run is refused unless --overwrite\n"
       "  --init W       start from a weights file (mlcn export, or PyTorch; sets train.init)\n"
       "  --plot         draw the run's curves into DIR/plots at the end (sets train.plot; needs python3-matplotlib)\n"
       "  --resume DIR   continue DIR's run up to train.epochs; a finished run is reported and left unchanged",
       {{"--config"}, {"--set", true, true}, {"--out"}, {"--resume"}, {"--overwrite", false}, {"--init"},
        {"--plot", false}},
       cmd_train},
      {"eval", "evaluate a checkpoint or weights file on the test set",
       "usage: mlcn eval --checkpoint FILE|RUN_DIR [--config FILE] [--set key=value ...]\n"
       "  RUN_DIR        its best.safetensors (else last.safetensors)\n"
       "  the whole test set unless --config or --set data.test_limit=N says otherwise",
       {{"--checkpoint"}, {"--config"}, {"--set", true, true}},
       cmd_eval},
      {"predict", "classify images with a checkpoint: classes, capsule lengths, confusion matrix, reconstructions",
       "usage: mlcn predict --checkpoint FILE|RUN_DIR (--images IDX_OR_DIR [--labels IDX] | --dataset test)\n"
       "                    [--format json|csv] [--limit N] [--recon DIR] [--config FILE] [--set key=value ...]\n"
       "  --images       an IDX image file (.gz or raw) or a directory of PNG files\n"
       "  --labels       an IDX label file for --images: adds accuracy, confusion matrix, per-class accuracy\n"
       "  --recon DIR    write each input beside its reconstruction as DIR/NNNNN_predK[_labelL].png",
       {{"--checkpoint"}, {"--images"}, {"--labels"}, {"--dataset"}, {"--format"}, {"--limit"}, {"--recon"},
        {"--config"}, {"--set", true, true}},
       cmd_predict},
      {"export", "write a checkpoint's weights alone, with PyTorch names and layouts",
       "usage: mlcn export --checkpoint FILE|RUN_DIR --out W.safetensors [--config FILE] [--set key=value ...]\n"
       "  the file loads into bench/peer/models.py with load_state_dict(strict=True) (docs/checkpoint-format.md);\n"
       "  mlcn train --init W and mlcn eval --checkpoint W read it back",
       {{"--checkpoint"}, {"--out"}, {"--config"}, {"--set", true, true}},
       cmd_export},
      {"plot", "draw training curves of run directories as PNG files (needs python3-matplotlib)",
       "usage: mlcn plot RUN_DIR [RUN_DIR ...] [--out DIR]\n"
       "  loss.png, accuracy.png, lr.png, throughput.png in DIR (default RUN_DIR/plots); several runs are overlaid",
       {{""}, {"--out"}},
       cmd_plot},
      {"step", "run one training step and dump its loss, lengths and gradients",
       "usage: mlcn step (--config FILE | --checkpoint FILE) [--checkpoint FILE] [--set key=value ...] --dump FILE",
       {{"--config"}, {"--checkpoint"}, {"--set", true, true}, {"--dump"}},
       cmd_step},
      {"info", "list devices, build options and (with --config) the model's parameters",
       "usage: mlcn info [--config FILE [--set key=value ...]]",
       {{"--config"}, {"--set", true, true}},
       cmd_info},
      {"place", "place lanes on devices with a cost model and an algorithm",
       "usage: mlcn place (--lanes FILE | --config FILE) --devices FILE --algo NAME [--seed N] [--time-limit S]\n"
       "                  [--model paper|flops|calibrated] [--calibration FILE] [--set key=value ...]\n"
       "  algorithms: random, random-iid, greedy, greedy-ect, kk, local-search, exact",
       {{"--lanes"}, {"--config"}, {"--set", true, true}, {"--devices"}, {"--algo"}, {"--seed"}, {"--time-limit"},
        {"--model"}, {"--calibration"}},
       cmd_place},
      {"nas", "search MLCN architectures that fill a set of devices",
       "usage: mlcn nas --config FILE [--set key=value ...] [--out DIR]\n"
       "       mlcn nas [--config FILE [--set ...]] --resume DIR\n"
       "       mlcn nas --config FILE [--set ...] --generate-only [--count N]",
       {{"--config"}, {"--set", true, true}, {"--out"}, {"--resume"}, {"--generate-only", false}, {"--count"}},
       cmd_nas},
  };
  return table;
}

}  // namespace mlcn::cli
