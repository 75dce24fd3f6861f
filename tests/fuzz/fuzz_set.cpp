// libFuzzer target: `--set key=value` overrides (base/json_io.h) applied to the default config;
// each input line is one override.
#include <sstream>

#include "engine/train/config.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::istringstream in(std::string(reinterpret_cast<const char*>(data), size));
  std::vector<std::string> sets;
  for (std::string line; std::getline(in, line) && sets.size() < 16;) sets.push_back(line);
  mlcn_fuzz::expect_clean([&] { mlcn::parse_config("{}", "fuzz.json", sets); });
  return 0;
}
