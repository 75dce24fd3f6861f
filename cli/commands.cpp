// The table of `mlcn` subcommands: name, one-line summary, usage and flags (commands.h).
#include "cli/commands.h"

namespace mlcn::cli {

const std::vector<Command>& commands() {
  static const std::vector<Command> table = {
      {"train", "train a model from a JSON config into a run directory",
       "usage: mlcn train --config FILE [--set key=value ...] [--out DIR] [--overwrite]\n"
       "       mlcn train --resume DIR [--set key=value ...]\n"
       "  --out DIR      run directory (default runs/latest); an existing run is refused unless --overwrite",
       {{"--config"}, {"--set", true, true}, {"--out"}, {"--resume"}, {"--overwrite", false}},
       cmd_train},
      {"eval", "evaluate a checkpoint on the test set",
       "usage: mlcn eval --checkpoint FILE [--config FILE] [--set key=value ...]",
       {{"--checkpoint"}, {"--config"}, {"--set", true, true}},
       cmd_eval},
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
