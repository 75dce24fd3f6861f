// Dataset: a whole split of an image-classification dataset in memory as uint8 HWC pixels,
// and load_dataset(), the one entry point that knows where each dataset lives and how it
// is stored. Fashion-MNIST is read from IDX files (gzipped or raw), CIFAR-10 from the
// official binary batch files. See docs/data.md for paths and the errors raised.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace mlcn {

struct Dataset {
  int64_t n = 0;
  int H = 0, W = 0, C = 0, classes = 0;
  std::vector<uint8_t> images;  // (n, H, W, C) HWC, pixel values 0..255
  std::vector<uint8_t> labels;  // (n), each in [0, classes)
  int64_t image_bytes() const { return static_cast<int64_t>(H) * W * C; }
};

// Where a dataset is read from when the config leaves data.path empty:
// fashion-mnist -> /usr/share/datasets/fashion-mnist/ (Debian package dataset-fashion-mnist),
// cifar10 -> datasets/cifar10/ (relative to the working directory).
std::string default_dataset_path(const std::string& name);

// Loads split "train" or "test" of dataset `name` ("fashion-mnist" or "cifar10") from the
// directory `path` (empty = default_dataset_path(name)). `limit` > 0 keeps only the first
// `limit` images in file order (all of them when the split is smaller); 0 keeps all.
// Fashion-MNIST files: {train,t10k}-{images-idx3,labels-idx1}-ubyte, with or without .gz.
Dataset load_dataset(const std::string& name, const std::string& path, const std::string& split,
                     int64_t limit = 0);

}  // namespace mlcn
