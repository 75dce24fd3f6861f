// CIFAR-10 binary reader: CHW -> HWC conversion on hand-built records, the directory
// layout through load_dataset, and the bad-input cases of ecosystem-notes §5.3 (rows 9,
// 12, 13 and empty files).
#include "data/cifar.h"

#include <catch2/catch.hpp>

#include "data/dataset.h"
#include "file_test_util.h"

using namespace mlcn;
using namespace mlcn_test;

namespace {

// Records built by hand in the official CHW layout: R[y][x] = x + id, G = y, B = label.
std::vector<uint8_t> cifar_records(const std::vector<uint8_t>& labels, int id0 = 0) {
  std::vector<uint8_t> b;
  for (size_t i = 0; i < labels.size(); ++i) {
    b.push_back(labels[i]);
    for (int c = 0; c < 3; ++c) {
      for (int y = 0; y < 32; ++y) {
        for (int x = 0; x < 32; ++x) {
          int v = c == 0 ? x + id0 + static_cast<int>(i) : c == 1 ? y : labels[i];
          b.push_back(static_cast<uint8_t>(v));
        }
      }
    }
  }
  return b;
}

}  // namespace

TEST_CASE("cifar: records convert from planar CHW to HWC", "[cifar]") {
  TempDir dir;
  std::vector<uint8_t> labels = {3, 0, 9, 1, 1, 7, 2};
  write_bytes(dir.file("b.bin"), cifar_records(labels));
  std::vector<uint8_t> images, got_labels;
  CHECK(read_cifar10_batch(dir.file("b.bin"), images, got_labels) == 7);
  CHECK(got_labels == labels);
  REQUIRE(images.size() == 7u * 32 * 32 * 3);
  for (int i = 0; i < 7; ++i) {
    for (int y = 0; y < 32; y += 5) {
      for (int x = 0; x < 32; x += 3) {
        const uint8_t* px = &images[((i * 32 + y) * 32 + x) * 3];
        CHECK(px[0] == x + i);
        CHECK(px[1] == y);
        CHECK(px[2] == labels[i]);
      }
    }
  }
}

TEST_CASE("cifar: write_cifar10_batch is the inverse of the reader", "[cifar]") {
  TempDir dir;
  std::vector<uint8_t> labels = {5, 6};
  std::vector<uint8_t> raw = cifar_records(labels);
  write_bytes(dir.file("a.bin"), raw);
  std::vector<uint8_t> images, got;
  read_cifar10_batch(dir.file("a.bin"), images, got);
  write_cifar10_batch(dir.file("b.bin"), images, got);
  CHECK(read_bytes(dir.file("b.bin")) == raw);
}

TEST_CASE("cifar: load_dataset reads the batch files in order and honours the limit", "[cifar]") {
  TempDir dir;
  for (int k = 1; k <= 5; ++k) {
    write_bytes(dir.file("data_batch_" + std::to_string(k) + ".bin"),
                cifar_records({static_cast<uint8_t>(k), static_cast<uint8_t>(k)}, 10 * k));
  }
  write_bytes(dir.file("test_batch.bin"), cifar_records({0, 1, 2}));
  Dataset train = load_dataset("cifar10", dir.path, "train");
  CHECK(train.n == 10);
  CHECK((train.H == 32 && train.W == 32 && train.C == 3 && train.classes == 10));
  CHECK(train.labels == std::vector<uint8_t>{1, 1, 2, 2, 3, 3, 4, 4, 5, 5});
  // Image 2 is record 0 of data_batch_2: R[0][0] = 20.
  CHECK(train.images[2 * train.image_bytes()] == 20);
  Dataset some = load_dataset("cifar10", dir.path + "/", "train", 3);
  CHECK(some.n == 3);
  CHECK(some.labels == std::vector<uint8_t>{1, 1, 2});
  CHECK(some.images.size() == 3u * 3072);
  Dataset test = load_dataset("cifar10", dir.path, "test");
  CHECK(test.labels == std::vector<uint8_t>{0, 1, 2});
}

TEST_CASE("cifar bad input: size not a multiple of 3073", "[cifar][bad]") {
  TempDir dir;
  std::vector<uint8_t> b = cifar_records({1, 2});
  b.resize(b.size() - 1);
  write_bytes(dir.file("s.bin"), b);
  std::vector<uint8_t> images, labels;
  CHECK_ERROR(read_cifar10_batch(dir.file("s.bin"), images, labels), dir.file("s.bin"),
              "size 6145 is not a multiple of the record size 3073");
}

TEST_CASE("cifar bad input: label out of range names the record", "[cifar][bad]") {
  TempDir dir;
  write_bytes(dir.file("l.bin"), cifar_records({1, 10}));
  std::vector<uint8_t> images, labels;
  CHECK_ERROR(read_cifar10_batch(dir.file("l.bin"), images, labels), dir.file("l.bin"),
              "label 10 of record 1", "byte 3073");
}

TEST_CASE("cifar bad input: empty file", "[cifar][bad]") {
  TempDir dir;
  write_bytes(dir.file("e.bin"), {});
  std::vector<uint8_t> images, labels;
  CHECK_ERROR(read_cifar10_batch(dir.file("e.bin"), images, labels), dir.file("e.bin"),
              "empty file");
}

TEST_CASE("cifar bad input: a missing batch file is named", "[cifar][bad]") {
  TempDir dir;
  for (int k : {1, 2, 4, 5}) {
    write_bytes(dir.file("data_batch_" + std::to_string(k) + ".bin"), cifar_records({0}));
  }
  CHECK_ERROR(load_dataset("cifar10", dir.path, "train"), dir.file("data_batch_3.bin"),
              "cannot open", "No such file", "cifar-10-binary.tar.gz");
}

TEST_CASE("cifar bad input: missing directory and unknown split", "[cifar][bad]") {
  TempDir dir;
  CHECK_ERROR(load_dataset("cifar10", dir.file("absent"), "train"), dir.file("absent"),
              "does not exist");
  CHECK_ERROR(load_dataset("cifar10", dir.path, "valid"), "unknown split \"valid\"");
}
