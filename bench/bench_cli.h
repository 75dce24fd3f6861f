// The command-line contract of the benchmark executables, as for `mlcn`: --help (or -h)
// anywhere prints the usage on stdout and exits 0; a usage error prints one line and the
// usage on stderr and exits 2. Header-only so each bench/*.cpp stays one translation unit.
#pragma once
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace mlcn::bench {

// Exits 0 after printing `usage` when argv holds --help or -h.
inline void handle_help(int argc, char** argv, const char* usage) {
  for (int i = 1; i < argc; ++i)
    if (std::string(argv[i]) == "--help" || std::string(argv[i]) == "-h") {
      std::printf("%s\n", usage);
      std::exit(0);
    }
}

[[noreturn]] inline void usage_error(const char* name, const std::string& message, const char* usage) {
  std::fprintf(stderr, "%s: %s\n%s\n", name, message.c_str(), usage);
  std::exit(2);
}

// The value after argv[*i] (advancing *i); a usage error when there is none.
inline std::string next_value(int argc, char** argv, int* i, const char* name, const char* usage) {
  if (*i + 1 >= argc) usage_error(name, std::string("option '") + argv[*i] + "' needs a value", usage);
  return argv[++*i];
}

// A positive integer option value; a usage error naming the option otherwise.
inline int positive_int(const std::string& option, const std::string& v, const char* name, const char* usage) {
  char* end = nullptr;
  errno = 0;
  const long x = std::strtol(v.c_str(), &end, 10);
  if (v.empty() || *end != '\0' || errno == ERANGE || x <= 0 || x > 1000000000)
    usage_error(name, option + " needs a positive integer, got '" + v + "'", usage);
  return static_cast<int>(x);
}

}  // namespace mlcn::bench
