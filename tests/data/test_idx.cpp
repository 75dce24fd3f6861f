// IDX reader: round trips (raw and gzip) and one test per bad-input case of
// ecosystem-notes §5.3 rows 1-11 and 13, each checking the one-line error names the file.
#include "data/idx.h"

#include <catch2/catch.hpp>

#include "file_test_util.h"

using namespace mlcn;
using namespace mlcn_test;

namespace {

// An IDX file built by hand (independent of write_idx_u8): big-endian header + payload.
std::vector<uint8_t> idx_bytes(uint8_t type, const std::vector<uint32_t>& dims,
                               const std::vector<uint8_t>& payload) {
  std::vector<uint8_t> b = {0, 0, type, static_cast<uint8_t>(dims.size())};
  for (uint32_t d : dims) {
    b.push_back(d >> 24);
    b.push_back((d >> 16) & 0xFF);
    b.push_back((d >> 8) & 0xFF);
    b.push_back(d & 0xFF);
  }
  b.insert(b.end(), payload.begin(), payload.end());
  return b;
}

std::vector<uint8_t> ramp(size_t n) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(i * 7 + 3);
  return v;
}

}  // namespace

TEST_CASE("idx: raw images round trip with exact values", "[idx]") {
  TempDir dir;
  std::string p = dir.file("img-idx3-ubyte");
  std::vector<uint8_t> px = ramp(3 * 4 * 5);
  write_bytes(p, idx_bytes(0x08, {3, 4, 5}, px));
  IdxImages img = read_idx_images(p);
  CHECK(img.n == 3);
  CHECK(img.rows == 4);
  CHECK(img.cols == 5);
  CHECK(img.pixels == px);
}

TEST_CASE("idx: gzipped images and labels round trip", "[idx]") {
  TempDir dir;
  std::vector<uint8_t> px = ramp(2 * 3 * 3);
  std::vector<uint8_t> labels = {9, 0, 4};
  write_bytes(dir.file("i.gz"), gzip_bytes(idx_bytes(0x08, {2, 3, 3}, px)));
  write_bytes(dir.file("l.gz"), gzip_bytes(idx_bytes(0x08, {3}, labels)));
  CHECK(read_idx_images(dir.file("i.gz")).pixels == px);
  CHECK(read_idx_labels(dir.file("l.gz"), 10) == labels);
}

TEST_CASE("idx: write_idx_u8 output is byte-identical to the format, raw and gzip", "[idx]") {
  TempDir dir;
  std::vector<uint8_t> px = ramp(4 * 2 * 2);
  write_idx_u8(dir.file("raw"), {4, 2, 2}, px, false);
  write_idx_u8(dir.file("gz"), {4, 2, 2}, px, true);
  CHECK(read_bytes(dir.file("raw")) == idx_bytes(0x08, {4, 2, 2}, px));
  std::vector<uint8_t> gz = read_bytes(dir.file("gz"));
  REQUIRE(gz.size() > 2);
  CHECK((gz[0] == 0x1f && gz[1] == 0x8b));
  CHECK(read_idx_u8(dir.file("gz"), 3).data == px);
  CHECK(read_idx_u8(dir.file("gz"), 3).dims == std::vector<uint32_t>{4, 2, 2});
}

TEST_CASE("idx bad input: empty file is a truncated header", "[idx][bad]") {
  TempDir dir;
  write_bytes(dir.file("e"), {});
  CHECK_ERROR(read_idx_images(dir.file("e")), dir.file("e"), "truncated header",
              "need 16 bytes, got 0");
}

TEST_CASE("idx bad input: header cut mid-dimension", "[idx][bad]") {
  TempDir dir;
  std::vector<uint8_t> b = idx_bytes(0x08, {3, 28, 28}, {});
  b.resize(10);
  write_bytes(dir.file("cut"), b);
  CHECK_ERROR(read_idx_images(dir.file("cut")), dir.file("cut"), "truncated header",
              "need 16 bytes, got 10");
  write_bytes(dir.file("three"), {0, 0, 8});
  CHECK_ERROR(read_idx_labels(dir.file("three"), 10), dir.file("three"), "truncated header",
              "need 8 bytes, got 3");
}

TEST_CASE("idx bad input: little-endian magic is reported with an endianness hint", "[idx][bad]") {
  TempDir dir;
  write_bytes(dir.file("le"), {0x03, 0x08, 0, 0, 3, 0, 0, 0, 28, 0, 0, 0, 28, 0, 0, 0});
  CHECK_ERROR(read_idx_images(dir.file("le")), dir.file("le"), "bad magic 0x03080000",
              "expected 0x00000803", "little-endian");
}

TEST_CASE("idx bad input: wrong type code", "[idx][bad]") {
  TempDir dir;
  write_bytes(dir.file("f32"), idx_bytes(0x0D, {1, 1, 1}, {0, 0, 0, 0}));
  CHECK_ERROR(read_idx_images(dir.file("f32")), dir.file("f32"), "unsupported IDX type code 0x0d",
              "expected 0x08");
  write_bytes(dir.file("0a"), idx_bytes(0x0A, {1}, {0}));
  CHECK_ERROR(read_idx_labels(dir.file("0a"), 10), dir.file("0a"), "type code 0x0a");
}

TEST_CASE("idx bad input: wrong dimension count", "[idx][bad]") {
  TempDir dir;
  write_bytes(dir.file("l3"), idx_bytes(0x08, {1, 1, 1}, {0}));
  CHECK_ERROR(read_idx_labels(dir.file("l3"), 10), dir.file("l3"), "wrong dimension count 3",
              "expected 1");
  write_bytes(dir.file("d0"), idx_bytes(0x08, {}, {}));
  CHECK_ERROR(read_idx_images(dir.file("d0")), dir.file("d0"), "wrong dimension count 0",
              "expected 3");
}

TEST_CASE("idx bad input: a zero dimension (no records)", "[idx][bad]") {
  TempDir dir;
  write_bytes(dir.file("n0"), idx_bytes(0x08, {0, 28, 28}, {}));
  CHECK_ERROR(read_idx_images(dir.file("n0")), dir.file("n0"), "dimension 0", "is 0");
}

TEST_CASE("idx bad input: dimensions that overflow 64 bits are refused before allocating",
          "[idx][bad]") {
  TempDir dir;
  write_bytes(dir.file("big"), idx_bytes(0x08, {0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu}, {1, 2}));
  CHECK_ERROR(read_idx_images(dir.file("big")), dir.file("big"), "overflow");
  // Large but representable sizes against a tiny file: a length error, not an allocation.
  write_bytes(dir.file("huge"), idx_bytes(0x08, {0xFFFFFFFFu, 28, 28}, {1, 2}));
  CHECK_ERROR(read_idx_images(dir.file("huge")), dir.file("huge"), "truncated payload", "got 2");
  write_bytes(dir.file("huge.gz"), gzip_bytes(idx_bytes(0x08, {0xFFFFFFFFu, 28, 28}, {1, 2})));
  CHECK_ERROR(read_idx_images(dir.file("huge.gz")), dir.file("huge.gz"), "truncated payload");
}

TEST_CASE("idx bad input: truncated payload (raw and gzip)", "[idx][bad]") {
  TempDir dir;
  std::vector<uint8_t> b = idx_bytes(0x08, {2, 3, 3}, ramp(18));
  b.pop_back();
  write_bytes(dir.file("t"), b);
  CHECK_ERROR(read_idx_images(dir.file("t")), dir.file("t"), "truncated payload",
              "need 18 bytes after the 16-byte header, got 17");
  write_bytes(dir.file("t.gz"), gzip_bytes(b));
  CHECK_ERROR(read_idx_images(dir.file("t.gz")), dir.file("t.gz"), "truncated payload",
              "need 18 bytes", "got 17");
}

TEST_CASE("idx bad input: trailing bytes after the payload (raw and gzip)", "[idx][bad]") {
  TempDir dir;
  std::vector<uint8_t> b = idx_bytes(0x08, {3}, {1, 2, 3});
  b.push_back(0);
  b.push_back(0);
  write_bytes(dir.file("tr"), b);
  CHECK_ERROR(read_idx_labels(dir.file("tr"), 10), dir.file("tr"), "2 trailing bytes");
  write_bytes(dir.file("tr.gz"), gzip_bytes(b));
  CHECK_ERROR(read_idx_labels(dir.file("tr.gz"), 10), dir.file("tr.gz"), "2 trailing bytes");
}

TEST_CASE("idx bad input: label out of range names the record", "[idx][bad]") {
  TempDir dir;
  write_bytes(dir.file("l"), idx_bytes(0x08, {4}, {0, 9, 10, 3}));
  CHECK_ERROR(read_idx_labels(dir.file("l"), 10), dir.file("l"), "label 10 of record 2", "byte 10",
              "[0, 10)");
}

TEST_CASE("idx bad input: corrupt gzip CRC surfaces zlib's message", "[idx][bad]") {
  TempDir dir;
  std::vector<uint8_t> gz = gzip_bytes(idx_bytes(0x08, {3}, {1, 2, 3}));
  gz[gz.size() - 8] ^= 0xFF;  // first byte of the CRC32 trailer
  write_bytes(dir.file("crc.gz"), gz);
  CHECK_ERROR(read_idx_labels(dir.file("crc.gz"), 10), dir.file("crc.gz"), "gzip",
              "incorrect data check");
}

TEST_CASE("idx bad input: truncated gzip stream", "[idx][bad]") {
  TempDir dir;
  std::vector<uint8_t> gz = gzip_bytes(idx_bytes(0x08, {2, 8, 8}, ramp(128)));
  gz.resize(gz.size() - 6);  // cut into the trailer: all data decodes, the check cannot
  write_bytes(dir.file("cut.gz"), gz);
  CHECK_ERROR(read_idx_images(dir.file("cut.gz")), dir.file("cut.gz"), "gzip",
              "unexpected end of file");
}

TEST_CASE("idx bad input: garbage after the gzip magic", "[idx][bad]") {
  TempDir dir;
  write_bytes(dir.file("junk.gz"), {0x1f, 0x8b, 0x42, 0x00, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10});
  CHECK_ERROR(read_idx_labels(dir.file("junk.gz"), 10), dir.file("junk.gz"), "gzip");
}

TEST_CASE("idx bad input: missing file names the package to install", "[idx][bad]") {
  TempDir dir;
  CHECK_ERROR(read_idx_images(dir.file("nope.gz")), dir.file("nope.gz"), "cannot open",
              "No such file", "apt-get install dataset-fashion-mnist");
}

TEST_CASE("idx bad input: a directory instead of a file", "[idx][bad]") {
  TempDir dir;
  CHECK_ERROR(read_idx_images(dir.path), dir.path, "is a directory");
}
