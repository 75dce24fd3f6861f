// Command-line arguments of the `mlcn` subcommands: each command declares its flags, and one
// parser checks them. A usage error (unknown flag, missing value, a flag given twice, a missing
// required flag) is a UsageError: the CLI prints it with the command's usage and exits 2.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "base/check.h"  // defines: mlcn::Error

namespace mlcn::cli {

class UsageError : public Error {
 public:
  explicit UsageError(const std::string& message) : Error(message) {}
};

struct Flag {
  std::string name;          // "--config"; "" collects positional arguments (Args::all(""))
  bool takes_value = true;   // false: a switch such as --generate-only
  bool repeatable = false;   // --set may be given many times
};

class Args {
 public:
  bool has(const std::string& flag) const { return values_.count(flag) > 0; }
  // The flag's value, or `fallback` when absent.
  std::string get(const std::string& flag, const std::string& fallback = "") const;
  // Every value of a repeatable flag, in order.
  std::vector<std::string> all(const std::string& flag) const;
  // Throws a UsageError naming the flag when it is absent.
  std::string require(const std::string& flag, const std::string& what) const;
  // A non-negative integer flag's value (UsageError naming it when malformed).
  uint64_t get_uint(const std::string& flag, uint64_t fallback) const;
  // A positive finite number (UsageError naming it when malformed).
  double get_positive(const std::string& flag, double fallback) const;

 private:
  friend Args parse_args(const std::string&, const std::vector<std::string>&, const std::vector<Flag>&);
  std::map<std::string, std::vector<std::string>> values_;
};

// `command` names the subcommand in errors; `--help`/`-h` must be handled before calling.
Args parse_args(const std::string& command, const std::vector<std::string>& args, const std::vector<Flag>& flags);

}  // namespace mlcn::cli
