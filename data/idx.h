// IDX files (the MNIST / Fashion-MNIST container), raw or gzipped.
// Layout (big-endian): 2 zero bytes, a type code (0x08 = unsigned byte, the only one read
// here), a dimension count D, D u32 sizes, then the C-order payload. Every defect gets one
// mlcn::Error line naming the file and saying what was expected and what was found; nothing
// is allocated before the sizes are checked against each other and against the data.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace mlcn {

// An unsigned-byte IDX array: dims[0] is the record count.
struct IdxArray {
  std::vector<uint32_t> dims;
  std::vector<uint8_t> data;  // (dims[0], dims[1], ...) row-major
};

// Reads an IDX file of type 0x08 with exactly `expected_ndim` dimensions. The file is
// gzip if it starts with 1f 8b, raw otherwise. Rejects: missing/unreadable paths and
// directories, truncated headers, bad magic, other type codes, another dimension count,
// zero or overflowing sizes, truncated payloads, trailing bytes and gzip errors.
IdxArray read_idx_u8(const std::string& path, int expected_ndim);

// Images (N, rows, cols) from an idx3 file.
struct IdxImages {
  int64_t n = 0;
  int rows = 0, cols = 0;
  std::vector<uint8_t> pixels;  // (n, rows, cols)
};
IdxImages read_idx_images(const std::string& path);

// Labels (N) from an idx1 file; every label must lie in [0, classes).
std::vector<uint8_t> read_idx_labels(const std::string& path, int classes);

// Writes an unsigned-byte IDX file, gzipped when `gzip` is true (for tests and tools).
void write_idx_u8(const std::string& path, const std::vector<uint32_t>& dims,
                  const std::vector<uint8_t>& data /*(dims...)*/, bool gzip);

}  // namespace mlcn
