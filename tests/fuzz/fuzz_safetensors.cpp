// libFuzzer target: safetensors parsing (engine/io/safetensors.h) with and without checksums,
// then the converting reads of every tensor it accepted.
#include "engine/io/safetensors.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  for (bool crc : {true, false}) {
    mlcn::StReadOptions opt;
    opt.verify_crc = crc;
    mlcn_fuzz::expect_clean([&] {
      const mlcn::StFile f = mlcn::parse_safetensors(data, size, "fuzz.safetensors", opt);
      for (const auto& kv : f.tensors) {
        if (kv.second.numel() > (int64_t(1) << 20)) continue;  // conversions of huge zero-byte shapes
        mlcn_fuzz::expect_clean([&] { kv.second.to_f64(); });
        mlcn_fuzz::expect_clean([&] { kv.second.to_i64(); });
      }
      mlcn::serialize_safetensors(f);
    });
  }
  return 0;
}
