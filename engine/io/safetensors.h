// safetensors files: reading with strict validation, atomic checksummed writing.
//
// Layout: an 8-byte little-endian header length N, N bytes of a UTF-8 JSON object (padded
// with spaces so N is a multiple of 8), then the data section. Each header key except
// "__metadata__" names a tensor: {"dtype", "shape", "data_offsets": [begin, end)} with the
// offsets relative to the data section, tensors packed without gaps or overlaps, row-major,
// little-endian. "__metadata__" is an optional string-to-string map. Our writer adds
// "mlcn.crc32", the CRC32 (zlib) of the data section as 8 lowercase hex digits; a reader
// that finds it refuses a file whose data does not match ("corrupt checkpoint"). It also adds
// "mlcn.file_crc32", the CRC32 of the header (with these 8 digits written as zeros) followed
// by the data, so a well-formed edit of the header (a dtype, an offset, metadata) is refused too.
// docs/checkpoint-format.md has the full rules and the list of errors.
#pragma once
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace mlcn {

// The dtypes we read and write; any other dtype string in a file is an error.
enum class StDType { U8, I32, I64, F32, F64 };
size_t st_dtype_size(StDType t);
const char* st_dtype_name(StDType t);  // "U8", "I32", "I64", "F32", "F64"

// One tensor: raw little-endian bytes, dtype and shape (an empty shape is a scalar).
struct StTensor {
  StDType dtype = StDType::F32;
  std::vector<int64_t> shape;
  std::vector<uint8_t> bytes;  // numel() * st_dtype_size(dtype)

  int64_t numel() const;
  // Converting reads: to_f32/to_f64 accept every dtype; to_i64 only the integer ones.
  std::vector<float> to_f32() const;
  std::vector<double> to_f64() const;
  std::vector<int64_t> to_i64() const;

  static StTensor from_f32(const std::vector<int64_t>& shape, const float* v /*(numel)*/);
  static StTensor from_f64(const std::vector<int64_t>& shape, const double* v /*(numel)*/);
  static StTensor from_i64(const std::vector<int64_t>& shape, const int64_t* v /*(numel)*/);
  static StTensor from_i32(const std::vector<int64_t>& shape, const int32_t* v /*(numel)*/);
  static StTensor from_u8(const std::vector<int64_t>& shape, const uint8_t* v /*(numel)*/);
};

// The content of one file.
struct StFile {
  std::map<std::string, std::string> metadata;
  std::map<std::string, StTensor> tensors;
  std::string source;  // the path it was read from, for error messages

  bool has(const std::string& name) const { return tensors.count(name) != 0; }
  // The tensor `name`; an error naming the file and the tensor when it is absent.
  const StTensor& at(const std::string& name) const;
};

// Metadata key of the data-section checksum.
constexpr const char* kStCrcKey = "mlcn.crc32";
// Metadata key of the checksum over header and data.
constexpr const char* kStFileCrcKey = "mlcn.file_crc32";

struct StReadOptions {
  bool verify_crc = true;  // check mlcn.crc32 and mlcn.file_crc32 when the file has them
};

// Reads and validates a file. Every defect is one mlcn::Error line naming the file.
StFile read_safetensors(const std::string& path, const StReadOptions& opt = {});
// The same on bytes in memory; `source` names them in errors.
StFile parse_safetensors(const uint8_t* bytes, size_t size, const std::string& source,
                         const StReadOptions& opt = {});

// The file's bytes: tensors laid out by dtype size (largest first), then by name, so each
// tensor is aligned to its element size; metadata gets mlcn.crc32 (replacing any given).
std::vector<uint8_t> serialize_safetensors(const StFile& file);
// serialize_safetensors() written with write_file_atomic().
void write_safetensors(const std::string& path, const StFile& file);

}  // namespace mlcn
