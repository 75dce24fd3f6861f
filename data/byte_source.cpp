// ByteSource: raw or gzip file reading with errors that name the file (see byte_source.h).
#include "data/byte_source.h"

#include <sys/stat.h>
#include <zlib.h>  // defines: gzopen, gzread, gzerror, gzclose

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "base/check.h"

namespace mlcn {

ByteSource::ByteSource(const std::string& path, const std::string& missing_hint) : path_(path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    int err = errno;
    MLCN_FAIL(path << ": cannot open: " << std::strerror(err)
                   << (err == ENOENT && !missing_hint.empty() ? " (" + missing_hint + ")" : ""));
  }
  if (S_ISDIR(st.st_mode)) MLCN_FAIL(path << ": is a directory, expected a data file");
  regular_ = S_ISREG(st.st_mode);
  file_size_ = regular_ ? static_cast<uint64_t>(st.st_size) : 0;

  raw_ = std::fopen(path.c_str(), "rb");
  if (!raw_) MLCN_FAIL(path << ": cannot open: " << std::strerror(errno));
  unsigned char magic[2] = {0, 0};
  size_t got = std::fread(magic, 1, 2, raw_);
  if (got == 2 && magic[0] == 0x1f && magic[1] == 0x8b) {
    std::fclose(raw_);
    raw_ = nullptr;
    gzFile gz = gzopen(path.c_str(), "rb");
    if (!gz) MLCN_FAIL(path << ": cannot open as gzip: " << std::strerror(errno));
    gzbuffer(gz, 1 << 17);
    gz_ = gz;
  } else {
    std::rewind(raw_);
  }
}

ByteSource::~ByteSource() {
  if (raw_) std::fclose(raw_);
  if (gz_) gzclose(static_cast<gzFile>(gz_));
}

size_t ByteSource::read(void* dst, size_t n) {
  char* out = static_cast<char*>(dst);
  size_t total = 0;
  if (raw_) {
    total = std::fread(out, 1, n, raw_);
    consumed_ += total;
    if (total < n && std::ferror(raw_)) {
      MLCN_FAIL(path_ << ": read error after " << consumed_ << " bytes: " << std::strerror(errno));
    }
    return total;
  }
  gzFile gz = static_cast<gzFile>(gz_);
  while (total < n) {
    // gzread counts in unsigned int and reports in int: read in chunks below INT_MAX.
    unsigned chunk = static_cast<unsigned>(std::min<size_t>(n - total, 1u << 30));
    int got = gzread(gz, out + total, chunk);
    if (got > 0) {
      total += static_cast<size_t>(got);
      consumed_ += static_cast<size_t>(got);
    }
    int zerr = Z_OK;
    const char* zmsg = gzerror(gz, &zerr);
    // zlib reports a truncated stream as Z_BUF_ERROR and bad data or a bad CRC as
    // Z_DATA_ERROR; its message starts with the path, which we already print.
    if (got < 0 || (zerr != Z_OK && zerr != Z_STREAM_END)) {
      std::string msg = zmsg ? zmsg : "unknown zlib error";
      if (msg.compare(0, path_.size() + 2, path_ + ": ") == 0) msg.erase(0, path_.size() + 2);
      MLCN_FAIL(path_ << ": corrupt or truncated gzip data after " << consumed_
                      << " decompressed bytes: " << msg);
    }
    if (got == 0) break;
  }
  return total;
}

uint64_t ByteSource::skip_to_end() {
  char buf[1 << 16];
  uint64_t count = 0;
  for (;;) {
    size_t got = read(buf, sizeof buf);
    count += got;
    if (got < sizeof buf) return count;
  }
}

void write_bytes(const std::string& path, const void* data, size_t size) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) MLCN_FAIL(path << ": cannot create: " << std::strerror(errno));
  size_t wrote = std::fwrite(data, 1, size, f);
  int closed = std::fclose(f);
  if (wrote != size || closed != 0) MLCN_FAIL(path << ": write failed");
}

}  // namespace mlcn
