// `mlcn place`: choose a device for every lane (sched/place_command.h has the options).
#pragma once
#include <string>
#include <vector>

namespace mlcn {

// args are the arguments after `place`. Prints one JSON object on stdout and returns 0;
// --help prints the usage. Bad input throws mlcn::Error (main turns it into one line).
int cmd_place(const std::vector<std::string>& args);

}  // namespace mlcn
