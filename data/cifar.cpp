// CIFAR-10 binary batch reading and writing (see cifar.h and docs/data.md).
#include "data/cifar.h"

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "data/byte_source.h"
#include "base/check.h"

namespace mlcn {
namespace {

constexpr int kPlane = kCifarSide * kCifarSide;
const char* const kMissingHint =
    "CIFAR-10 needs the official binary files (data_batch_1.bin ... test_batch.bin): "
    "download cifar-10-binary.tar.gz from https://www.cs.toronto.edu/~kriz/cifar.html and extract it";

}  // namespace

std::vector<std::string> cifar10_files(const std::string& split) {
  if (split == "train") {
    return {"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin",
            "data_batch_5.bin"};
  }
  if (split == "test") return {"test_batch.bin"};
  MLCN_FAIL("CIFAR-10: unknown split \"" << split << "\": expected train or test");
}

int64_t read_cifar10_batch(const std::string& path, std::vector<uint8_t>& images,
                           std::vector<uint8_t>& labels, int64_t max_records) {
  ByteSource src(path, kMissingHint);
  if (src.sized()) {
    if (src.file_size() == 0) MLCN_FAIL(path << ": empty file: expected 3073-byte records");
    if (src.file_size() % kCifarRecordBytes != 0) {
      MLCN_FAIL(path << ": size " << src.file_size() << " is not a multiple of the record size "
                     << kCifarRecordBytes << " (" << src.file_size() / kCifarRecordBytes
                     << " whole records and " << src.file_size() % kCifarRecordBytes
                     << " bytes left over)");
    }
  }
  uint8_t rec[kCifarRecordBytes];
  int64_t count = 0;
  while (max_records == 0 || count < max_records) {
    size_t got = src.read(rec, sizeof rec);
    if (got == 0) break;
    if (got != sizeof rec) {
      uint64_t size = static_cast<uint64_t>(count) * kCifarRecordBytes + got;
      MLCN_FAIL(path << ": size " << size << " is not a multiple of the record size "
                     << kCifarRecordBytes << " (record " << count << " has only " << got
                     << " bytes)");
    }
    if (rec[0] >= kCifarClasses) {
      MLCN_FAIL(path << ": label " << int(rec[0]) << " of record " << count << " (byte "
                     << count * kCifarRecordBytes << ") is out of range [0, " << kCifarClasses
                     << ")");
    }
    labels.push_back(rec[0]);
    // CHW planes -> HWC pixels.
    size_t base = images.size();
    images.resize(base + kPlane * kCifarChannels);
    uint8_t* out = images.data() + base;
    for (int p = 0; p < kPlane; ++p) {
      for (int c = 0; c < kCifarChannels; ++c) {
        out[p * kCifarChannels + c] = rec[1 + c * kPlane + p];
      }
    }
    ++count;
  }
  if (count == 0) MLCN_FAIL(path << ": empty file: expected 3073-byte records");
  return count;
}

void write_cifar10_batch(const std::string& path, const std::vector<uint8_t>& images,
                         const std::vector<uint8_t>& labels) {
  const size_t n = labels.size();
  if (images.size() != n * kPlane * kCifarChannels) {
    MLCN_FAIL(path << ": " << n << " labels need " << n * kPlane * kCifarChannels
                   << " pixel bytes, got " << images.size());
  }
  std::vector<uint8_t> bytes(n * kCifarRecordBytes);
  for (size_t i = 0; i < n; ++i) {
    uint8_t* rec = bytes.data() + i * kCifarRecordBytes;
    const uint8_t* img = images.data() + i * kPlane * kCifarChannels;
    rec[0] = labels[i];
    for (int p = 0; p < kPlane; ++p) {
      for (int c = 0; c < kCifarChannels; ++c) {
        rec[1 + c * kPlane + p] = img[p * kCifarChannels + c];
      }
    }
  }
  write_bytes(path, bytes.data(), bytes.size());
}

}  // namespace mlcn
