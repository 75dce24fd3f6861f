// The subcommands' argument parser (args.h).
#include "cli/args.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>

#include "base/json_io.h"  // defines: nearest_key

namespace mlcn::cli {

namespace {

[[noreturn]] void usage_error(const std::string& message) { throw UsageError(message); }

}  // namespace

std::string Args::get(const std::string& flag, const std::string& fallback) const {
  auto it = values_.find(flag);
  return it == values_.end() || it->second.empty() ? fallback : it->second.back();
}

std::vector<std::string> Args::all(const std::string& flag) const {
  auto it = values_.find(flag);
  return it == values_.end() ? std::vector<std::string>{} : it->second;
}

std::string Args::require(const std::string& flag, const std::string& what) const {
  if (!has(flag)) usage_error(flag + " " + what + " is required");
  return get(flag);
}

uint64_t Args::get_uint(const std::string& flag, uint64_t fallback) const {
  if (!has(flag)) return fallback;
  const std::string s = get(flag);
  char* end = nullptr;
  errno = 0;
  const unsigned long long v = std::strtoull(s.c_str(), &end, 10);
  if (s.empty() || *end != '\0' || s[0] == '-' || errno == ERANGE)
    usage_error(flag + " must be a non-negative integer, got '" + s + "'");
  return v;
}

double Args::get_positive(const std::string& flag, double fallback) const {
  if (!has(flag)) return fallback;
  const std::string s = get(flag);
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  if (s.empty() || *end != '\0' || !std::isfinite(v) || v <= 0)
    usage_error(flag + " must be a positive number, got '" + s + "'");
  return v;
}

Args parse_args(const std::string& command, const std::vector<std::string>& args, const std::vector<Flag>& flags) {
  Args r;
  std::vector<std::string> names;
  for (const Flag& f : flags)
    if (!f.name.empty()) names.push_back(f.name);
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    const Flag* flag = nullptr;
    for (const Flag& f : flags)
      if (f.name == a || (f.name.empty() && !a.empty() && a[0] != '-')) flag = &f;
    if (!flag) {
      const std::string near = nearest_key(a, names);
      usage_error("unknown argument '" + a + "' for " + command + (near.empty() ? "" : " (did you mean " + near + "?)"));
    }
    if (flag->name.empty()) {  // a positional argument
      r.values_[""].push_back(a);
      continue;
    }
    if (r.has(a) && !flag->repeatable) usage_error(a + " given twice");
    if (!flag->takes_value) {
      r.values_[a];
      continue;
    }
    if (i + 1 >= args.size()) usage_error(a + " needs a value");
    // `--out --overwrite` once made a run folder named "--overwrite" (issue 27, item 8): a value
    // that is one of this command's own flags is a missing value.
    for (const std::string& n : names)
      if (args[i + 1] == n) usage_error(a + " needs a value, got the flag " + n);
    r.values_[a].push_back(args[++i]);
  }
  return r;
}

}  // namespace mlcn::cli
