// `mlcn nas`: argument parsing and running (the CLI's cmd_nas is a thin wrapper). Arguments
// (those after `nas`):
//   --config FILE [--set key=value ...] [--out DIR]   run a search into DIR (default runs/nas)
//   [--config FILE [--set ...]] --resume DIR          continue the search in DIR; its config is
//                                                    DIR/nas_config.json, and a --config that
//                                                    resolves to another config is refused
//   --config FILE [--set ...] --generate-only [--count N]
//                                                    print N generated models (default
//                                                    nas.iterations), one JSON object a line
// A search prints one line on stdout at the end: the best model, its score and the files.
#pragma once
#include <ostream>
#include <string>
#include <vector>

namespace mlcn {

std::string nas_usage();
// Returns the exit status; bad arguments, files or configs throw mlcn::Error.
int run_nas_command(const std::vector<std::string>& args, std::ostream& out);

}  // namespace mlcn
