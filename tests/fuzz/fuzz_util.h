// Shared helpers of the libFuzzer targets: the input as a file (the readers take paths; a
// memfd keeps it off the disk) and the one rule of every target: bad input may raise an
// mlcn::Error (one clear line) and nothing else; a crash, a hang, a leak, undefined behaviour or
// any other exception is a finding.
#pragma once
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "base/check.h"

namespace mlcn_fuzz {

// A path whose content is `data`; valid until the next call.
inline std::string as_file(const uint8_t* data, size_t size) {
  static int fd = -1;
  if (fd < 0) fd = memfd_create("mlcn_fuzz", 0);
  if (fd < 0 || ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != static_cast<ssize_t>(size)) std::abort();
  return "/proc/self/fd/" + std::to_string(fd);
}

// Runs f; mlcn::Error is the expected outcome of bad input. Its message must be one line.
template <class F>
void expect_clean(F&& f) {
  try {
    f();
  } catch (const mlcn::Error& e) {
    const std::string& m = e.message();
    if (m.empty() || m.find('\n') != std::string::npos) {
      std::fprintf(stderr, "error message is not one line: %s\n", m.c_str());
      std::abort();
    }
  }
}

}  // namespace mlcn_fuzz
