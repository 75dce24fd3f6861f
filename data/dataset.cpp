// load_dataset(): dataset names, default paths and split files (see dataset.h).
#include "data/dataset.h"

#include <sys/stat.h>

#include <algorithm>

#include "data/cifar.h"
#include "data/idx.h"
#include "base/check.h"
#include "base/datasets.h"  // defines: dataset_info

namespace mlcn {
namespace {

constexpr int kFashionSide = 28;
constexpr int kFashionClasses = 10;

bool exists(const std::string& p) {
  struct stat st;
  return ::stat(p.c_str(), &st) == 0;
}

bool is_dir(const std::string& p) {
  struct stat st;
  return ::stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

std::string join(const std::string& dir, const std::string& file) {
  return dir.empty() || dir.back() == '/' ? dir + file : dir + "/" + file;
}

// Prefers the gzipped file, accepts the raw one; if neither exists the .gz name is
// returned so the reader's "cannot open" error names what is expected.
std::string pick_idx_file(const std::string& dir, const std::string& stem) {
  std::string gz = join(dir, stem + ".gz"), raw = join(dir, stem);
  if (!exists(gz) && exists(raw)) return raw;
  return gz;
}

void check_dir(const std::string& dir, const std::string& name, const std::string& hint) {
  if (!exists(dir)) {
    MLCN_FAIL(dir << ": " << name << " directory does not exist (" << hint << ")");
  }
  if (!is_dir(dir)) MLCN_FAIL(dir << ": " << name << " path is not a directory");
}

Dataset load_fashion_mnist(const std::string& dir, const std::string& split) {
  check_dir(dir, "Fashion-MNIST", dataset_info("fashion-mnist").obtain);
  std::string prefix;
  if (split == "train") {
    prefix = "train";
  } else if (split == "test") {
    prefix = "t10k";
  } else {
    MLCN_FAIL("fashion-mnist: unknown split \"" << split << "\": expected train or test");
  }
  std::string image_path = pick_idx_file(dir, prefix + "-images-idx3-ubyte");
  std::string label_path = pick_idx_file(dir, prefix + "-labels-idx1-ubyte");
  IdxImages img = read_idx_images(image_path);
  if (img.rows != kFashionSide || img.cols != kFashionSide) {
    MLCN_FAIL(image_path << ": image size " << img.rows << " x " << img.cols << ": expected "
                         << kFashionSide << " x " << kFashionSide << " for Fashion-MNIST");
  }
  std::vector<uint8_t> labels = read_idx_labels(label_path, kFashionClasses);
  if (static_cast<int64_t>(labels.size()) != img.n) {
    MLCN_FAIL(image_path << ": image/label count mismatch: " << img.n << " images vs "
                         << labels.size() << " labels in " << label_path);
  }
  Dataset d;
  d.n = img.n;
  d.H = img.rows;
  d.W = img.cols;
  d.C = 1;
  d.classes = kFashionClasses;
  d.images = std::move(img.pixels);
  d.labels = std::move(labels);
  return d;
}

Dataset load_cifar10(const std::string& dir, const std::string& split, int64_t limit) {
  check_dir(dir, "CIFAR-10", dataset_info("cifar10").obtain);
  Dataset d;
  d.H = d.W = kCifarSide;
  d.C = kCifarChannels;
  d.classes = kCifarClasses;
  for (const std::string& file : cifar10_files(split)) {
    if (limit > 0 && d.n >= limit) break;
    d.n += read_cifar10_batch(join(dir, file), d.images, d.labels, limit > 0 ? limit - d.n : 0);
  }
  return d;
}

}  // namespace

std::string default_dataset_path(const std::string& name) { return dataset_info(name).default_dir; }

Dataset load_dataset(const std::string& name, const std::string& path, const std::string& split,
                     int64_t limit) {
  if (limit < 0) MLCN_FAIL(name << ": image limit " << limit << " must be >= 0 (0 = all)");
  const DatasetInfo& info = dataset_info(name);
  const std::string dir = path.empty() ? info.default_dir : path;
  Dataset d = info.name == "cifar10" ? load_cifar10(dir, split, limit) : load_fashion_mnist(dir, split);
  if (limit > 0 && limit < d.n) {
    d.n = limit;
    d.images.resize(static_cast<size_t>(limit * d.image_bytes()));
    d.labels.resize(static_cast<size_t>(limit));
    d.images.shrink_to_fit();
    d.labels.shrink_to_fit();
  }
  return d;
}

}  // namespace mlcn
