// `mlcn nas`: bucket-filling architecture search (nas/nas_command.h has the options).
#pragma once
#include <string>
#include <vector>

namespace mlcn {

// args are the arguments after `nas`. --help prints the usage. Bad input throws mlcn::Error
// (main turns it into one line).
int cmd_nas(const std::vector<std::string>& args);

}  // namespace mlcn
