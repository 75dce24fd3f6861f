// libFuzzer target: the IDX reader (data/idx.h), raw and gzipped, images and labels.
#include "data/idx.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = mlcn_fuzz::as_file(data, size);
  mlcn_fuzz::expect_clean([&] { mlcn::read_idx_images(path); });
  mlcn_fuzz::expect_clean([&] { mlcn::read_idx_labels(path, 10); });
  return 0;
}
