// `mlcn place`: a thin wrapper over sched's run_place_command, which parses the arguments and
// builds the JSON report (and is tested in tests/sched).
#include "cli/cmd_place.h"

#include <iostream>

#include "sched/place_command.h"  // defines: run_place_command, place_usage

namespace mlcn {

int cmd_place(const std::vector<std::string>& args) {
  for (const auto& a : args)
    if (a == "--help" || a == "-h") {
      std::cout << place_usage() << "\n";
      return 0;
    }
  std::cout << run_place_command(args).dump(2) << "\n";
  return 0;
}

}  // namespace mlcn
