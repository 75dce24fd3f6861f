// CIFAR-10 in the official binary layout (cifar-10-batches-bin): data_batch_1.bin ..
// data_batch_5.bin (train) and test_batch.bin (test). A file is a sequence of 3073-byte
// records with no header: 1 label byte (0..9), then 1024 red, 1024 green and 1024 blue
// bytes, each plane row-major 32x32 (CHW). Readers convert to HWC, the engine's order.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace mlcn {

constexpr int kCifarSide = 32;
constexpr int kCifarChannels = 3;
constexpr int kCifarClasses = 10;
constexpr int64_t kCifarRecordBytes = 1 + kCifarSide * kCifarSide * kCifarChannels;  // 3073

// The batch file names of a split ("train" or "test"), in reading order.
std::vector<std::string> cifar10_files(const std::string& split);

// Appends the records of one batch file to `images` (n, 32, 32, 3) HWC and `labels` (n),
// reading at most `max_records` of them (0 = all; the whole file is still size-checked when
// its size is known). Returns the number of records appended. Rejects missing files,
// directories, empty files, sizes that are not a multiple of 3073 and labels >= 10.
int64_t read_cifar10_batch(const std::string& path, std::vector<uint8_t>& images,
                           std::vector<uint8_t>& labels, int64_t max_records = 0);

// Writes images (n, 32, 32, 3) HWC and labels (n) as one CIFAR-10 batch file (for tests).
void write_cifar10_batch(const std::string& path, const std::vector<uint8_t>& images,
                         const std::vector<uint8_t>& labels);

}  // namespace mlcn
