// ByteSource: sequential reading of a dataset file that may be gzipped, with one-line
// errors that name the file. Opening checks the path (missing, unreadable, a directory)
// and sniffs the gzip magic 1f 8b; reading surfaces zlib's gzerror text, so a corrupt or
// truncated gzip stream is an error and never a silently short read.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>

namespace mlcn {

class ByteSource {
 public:
  // `missing_hint` is appended to the error when the path does not exist (e.g. which
  // package installs the dataset).
  explicit ByteSource(const std::string& path, const std::string& missing_hint = "");
  ~ByteSource();
  ByteSource(const ByteSource&) = delete;
  ByteSource& operator=(const ByteSource&) = delete;

  // Reads up to n bytes into dst; returns fewer only at the end of the (decompressed) data.
  size_t read(void* dst, size_t n);
  // Reads and discards the rest of the data; returns how many bytes there were.
  uint64_t skip_to_end();

  bool gzip() const { return gz_ != nullptr; }
  // True when the data length is known before reading: a regular, uncompressed file.
  bool sized() const { return regular_ && !gzip(); }
  uint64_t file_size() const { return file_size_; }  // bytes on disk (regular files)
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  uint64_t file_size_ = 0;
  bool regular_ = false;
  uint64_t consumed_ = 0;  // (decompressed) bytes read so far
  std::FILE* raw_ = nullptr;
  void* gz_ = nullptr;  // gzFile, kept opaque so users need not include zlib.h
};

// Writes `size` bytes to `path` (created or truncated); used by the test-file writers.
void write_bytes(const std::string& path, const void* data, size_t size);

}  // namespace mlcn
