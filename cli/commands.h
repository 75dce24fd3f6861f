// The subcommands of `mlcn`: each declares its flags and usage here and is defined in its own
// cmd_<name>.cpp. cli.cpp dispatches to them.
#pragma once
#include <ostream>
#include <string>
#include <vector>

#include "cli/args.h"  // defines: Args, Flag

namespace mlcn::cli {

struct Command {
  std::string name;
  std::string summary;  // one line for `mlcn --help`
  std::string usage;    // the command's usage lines
  std::vector<Flag> flags;
  int (*run)(const Args& args, std::ostream& out);
};

// Every subcommand, in the order `mlcn --help` lists them.
const std::vector<Command>& commands();

int cmd_train(const Args& args, std::ostream& out);
int cmd_eval(const Args& args, std::ostream& out);
int cmd_step(const Args& args, std::ostream& out);
int cmd_info(const Args& args, std::ostream& out);
int cmd_place(const Args& args, std::ostream& out);
int cmd_nas(const Args& args, std::ostream& out);
int cmd_predict(const Args& args, std::ostream& out);
int cmd_export(const Args& args, std::ostream& out);
int cmd_plot(const Args& args, std::ostream& out);

}  // namespace mlcn::cli
