// libFuzzer target: the CIFAR-10 batch reader (data/cifar.h), whole files and a record limit.
#include "data/cifar.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = mlcn_fuzz::as_file(data, size);
  std::vector<uint8_t> images, labels;
  mlcn_fuzz::expect_clean([&] { mlcn::read_cifar10_batch(path, images, labels); });
  images.clear(), labels.clear();
  mlcn_fuzz::expect_clean([&] { mlcn::read_cifar10_batch(path, images, labels, 1); });
  return 0;
}
