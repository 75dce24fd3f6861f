// `mlcn nas`: a thin wrapper over nas's run_nas_command, which parses the arguments, runs the
// search or generates models (and is tested in tests/nas).
#include "cli/cmd_nas.h"

#include <iostream>

#include "nas/nas_command.h"  // defines: run_nas_command, nas_usage

namespace mlcn {

int cmd_nas(const std::vector<std::string>& args) {
  for (const auto& a : args)
    if (a == "--help" || a == "-h") {
      std::cout << nas_usage() << "\n";
      return 0;
    }
  return run_nas_command(args, std::cout);
}

}  // namespace mlcn
