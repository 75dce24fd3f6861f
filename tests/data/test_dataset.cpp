// load_dataset for Fashion-MNIST: file names (.gz or raw), limits, the cross-file checks
// (28x28 images, image/label count), missing directories with the install hint, and, when
// the Debian package is installed, the real test split.
#include "data/dataset.h"

#include <sys/stat.h>

#include <catch2/catch.hpp>

#include "data/idx.h"
#include "file_test_util.h"

using namespace mlcn;
using namespace mlcn_test;

namespace {

// A tiny Fashion-MNIST directory: n images of 28x28 whose first pixel is the image index.
void write_fashion(const TempDir& dir, const std::string& prefix, uint32_t n, bool gzip,
                   uint32_t n_labels = 0, uint32_t side = 28) {
  std::vector<uint8_t> px(n * side * side, 0), labels(n_labels ? n_labels : n);
  for (uint32_t i = 0; i < n; ++i) px[i * side * side] = static_cast<uint8_t>(i);
  for (size_t i = 0; i < labels.size(); ++i) labels[i] = static_cast<uint8_t>(i % 10);
  std::string ext = gzip ? ".gz" : "";
  write_idx_u8(dir.file(prefix + "-images-idx3-ubyte" + ext), {n, side, side}, px, gzip);
  write_idx_u8(dir.file(prefix + "-labels-idx1-ubyte" + ext),
               {static_cast<uint32_t>(labels.size())}, labels, gzip);
}

}  // namespace

TEST_CASE("dataset: fashion-mnist from gzipped and raw files", "[dataset]") {
  TempDir gz, raw;
  write_fashion(gz, "t10k", 12, true);
  write_fashion(raw, "train", 7, false);
  Dataset t = load_dataset("fashion-mnist", gz.path, "test");
  CHECK((t.n == 12 && t.H == 28 && t.W == 28 && t.C == 1 && t.classes == 10));
  CHECK(t.images.size() == 12u * 784);
  CHECK(t.labels[11] == 1);
  CHECK(t.images[5 * 784] == 5);
  Dataset r = load_dataset("fashion-mnist", raw.path, "train");
  CHECK(r.n == 7);
}

TEST_CASE("dataset: limit keeps the first N images in file order", "[dataset]") {
  TempDir dir;
  write_fashion(dir, "t10k", 12, true);
  Dataset d = load_dataset("fashion-mnist", dir.path, "test", 5);
  CHECK(d.n == 5);
  CHECK(d.images.size() == 5u * 784);
  CHECK(d.labels == std::vector<uint8_t>{0, 1, 2, 3, 4});
  CHECK(d.images[4 * 784] == 4);
  CHECK(load_dataset("fashion-mnist", dir.path, "test", 100).n == 12);
  CHECK_ERROR(load_dataset("fashion-mnist", dir.path, "test", -1), "limit -1");
}

TEST_CASE("dataset bad input: image/label count mismatch", "[dataset][bad]") {
  TempDir dir;
  write_fashion(dir, "t10k", 6, true, 5);
  CHECK_ERROR(load_dataset("fashion-mnist", dir.path, "test"),
              dir.file("t10k-images-idx3-ubyte.gz"), "image/label count mismatch",
              "6 images vs 5 labels", dir.file("t10k-labels-idx1-ubyte.gz"));
}

TEST_CASE("dataset bad input: images that are not 28x28", "[dataset][bad]") {
  TempDir dir;
  write_fashion(dir, "t10k", 2, false, 0, 32);
  CHECK_ERROR(load_dataset("fashion-mnist", dir.path, "test"), dir.file("t10k-images-idx3-ubyte"),
              "image size 32 x 32", "expected 28 x 28");
}

TEST_CASE("dataset bad input: missing directory or files hint at the Debian package",
          "[dataset][bad]") {
  TempDir dir;
  CHECK_ERROR(load_dataset("fashion-mnist", dir.file("nowhere"), "test"), dir.file("nowhere"),
              "does not exist", "apt-get install dataset-fashion-mnist");
  CHECK_ERROR(load_dataset("fashion-mnist", dir.path, "test"),
              dir.file("t10k-images-idx3-ubyte.gz"), "No such file",
              "apt-get install dataset-fashion-mnist");
  write_bytes(dir.file("plain"), {1});
  CHECK_ERROR(load_dataset("fashion-mnist", dir.file("plain"), "test"), dir.file("plain"),
              "not a directory");
}

TEST_CASE("dataset bad input: unknown dataset name or split", "[dataset][bad]") {
  TempDir dir;
  CHECK_ERROR(load_dataset("mnist", dir.path, "test"), "unknown dataset 'mnist'",
              "fashion-mnist or cifar10");
  CHECK_ERROR(load_dataset("fashion-mnist", dir.path, "val"), "unknown split \"val\"");
}

TEST_CASE("dataset: default paths", "[dataset]") {
  CHECK(default_dataset_path("fashion-mnist") == "/usr/share/datasets/fashion-mnist/");
  CHECK(default_dataset_path("cifar10") == "datasets/cifar10/");
}

TEST_CASE("dataset: the real Fashion-MNIST test split (dataset-fashion-mnist)", "[dataset][real]") {
  struct stat st;
  // dataset-fashion-mnist is a dependency (cli/setup.sh installs it): its absence is a failure.
  INFO("/usr/share/datasets/fashion-mnist is missing: apt-get install dataset-fashion-mnist");
  REQUIRE(::stat("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz", &st) == 0);
  Dataset d = load_dataset("fashion-mnist", "", "test");
  CHECK(d.n == 10000);
  CHECK((d.H == 28 && d.W == 28 && d.C == 1 && d.classes == 10));
  CHECK(d.images.size() == 10000u * 784);
  std::vector<int> per_class(10, 0);
  for (uint8_t l : d.labels) per_class.at(l)++;
  CHECK(per_class == std::vector<int>(10, 1000));
  CHECK(d.labels[0] == 9);  // the first test image is an ankle boot
  Dataset first = load_dataset("fashion-mnist", "", "test", 100);
  CHECK(first.n == 100);
  CHECK(std::equal(first.images.begin(), first.images.end(), d.images.begin()));
}
