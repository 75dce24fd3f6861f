// libFuzzer target: the config loader (engine/train/config.h) on arbitrary text, through the
// one JSON loader (base/json_io.h) and every key's validation, then the model it describes.
#include "engine/train/config.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  mlcn_fuzz::expect_clean([&] {
    const mlcn::Config c = mlcn::parse_config(text, "fuzz.json");
    mlcn::model_spec(c);
  });
  return 0;
}
