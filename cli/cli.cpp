// Dispatch of `mlcn` subcommands, --help, --version, and the exit-status contract (cli.h).
#include "cli/cli.h"

#include <cstdlib>
#include <new>

#include "base/json_io.h"       // defines: nearest_key
#include "cli/build_commit.h"   // defines: build_commit
#include "cli/commands.h"       // defines: commands, Command
#include "engine/comm/comm.h"  // defines: rank_prefix, abort_world_if_distributed
#include "engine/core/backend.h"  // defines: cuda_compiled
#include "engine/train/run_log.h"  // defines: set_build_info

namespace mlcn::cli {

namespace {

constexpr const char* kVersion = "0.2.0";

bool is_help(const std::string& a) { return a == "--help" || a == "-h" || a == "help"; }

std::string overview() {
  std::string s = "usage: mlcn COMMAND [options]   (mlcn COMMAND --help for its options)\n\ncommands:\n";
  for (const Command& c : commands()) s += "  " + c.name + std::string(8 - c.name.size(), ' ') + c.summary + "\n";
  s += "\n  --version   print the version, commit and build options\n";
  return s;
}

}  // namespace

std::string version_line() {
  std::string s = std::string("mlcn ") + kVersion + " (commit " + build_commit() + "; CUDA backend: ";
  s += cuda_compiled() ? "on" : "off";  // the engine's one switch (engine/core/backend.cpp)
  s += "; MPI: ";
#ifdef MLCN_WITH_MPI
  s += "on";
#else
  s += "off";
#endif
  return s + ")";
}

int run(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  if (args.empty()) {
    err << overview();
    return 2;
  }
  const std::string& name = args[0];
  if (is_help(name)) {
    out << overview();
    return 0;
  }
  if (name == "--version") {
    out << version_line() << "\n";
    return 0;
  }
  const Command* cmd = nullptr;
  std::vector<std::string> names;
  for (const Command& c : commands()) {
    names.push_back(c.name);
    if (c.name == name) cmd = &c;
  }
  if (!cmd) {
    const std::string near = nearest_key(name, names);
    err << "mlcn: unknown command '" << name << "'" << (near.empty() ? "" : " (did you mean '" + near + "'?)")
        << "\n\n" << overview();
    return 2;
  }
  set_build_info({{"version", kVersion}, {"commit", build_commit()}, {"line", version_line()}});
  const std::vector<std::string> rest(args.begin() + 1, args.end());
  for (const std::string& a : rest)
    if (a == "--help" || a == "-h") {
      out << cmd->usage << "\n";
      return 0;
    }
  try {
    return cmd->run(parse_args("mlcn " + name, rest, cmd->flags), out);
  } catch (const UsageError& e) {
    err << "mlcn " << name << ": " << e.message() << "\n" << cmd->usage << "\n";
    return 2;
  } catch (const Error& e) {
    const bool debug = std::getenv("MLCN_DEBUG") != nullptr;
    err << "mlcn " << name << ": " << rank_prefix() << "error: " << (debug ? e.what() : e.message()) << "\n";
  } catch (const std::bad_alloc&) {
    err << "mlcn " << name << ": " << rank_prefix()
        << "error: out of memory (a batch size, lane width or dataset limit too large?)\n";
  } catch (const std::exception& e) {
    err << "mlcn " << name << ": " << rank_prefix() << "error: " << e.what() << "\n";
  }
  err.flush();
  // Under mpirun one failing rank ends every rank (never a hang waiting for it).
  abort_world_if_distributed("mlcn " + name + ": " + rank_prefix() + "failed; aborting every rank");
  return 1;
}

}  // namespace mlcn::cli
