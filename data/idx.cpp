// IDX reading and writing with strict validation (see idx.h and docs/data.md).
#include "data/idx.h"

#include <zlib.h>  // defines: gzopen, gzwrite, gzclose (for write_idx_u8)

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iomanip>
#include <sstream>

#include "data/byte_source.h"
#include "base/check.h"

namespace mlcn {
namespace {

constexpr uint8_t kTypeU8 = 0x08;
const char* const kMissingHint =
    "Fashion-MNIST comes with the Debian package: apt-get install dataset-fashion-mnist";

std::string hex32(uint32_t v) {
  std::ostringstream os;
  os << "0x" << std::hex << std::setw(8) << std::setfill('0') << v;
  return os.str();
}

std::string hex8(unsigned v) {
  std::ostringstream os;
  os << "0x" << std::hex << std::setw(2) << std::setfill('0') << v;
  return os.str();
}

uint32_t be32(const uint8_t* p) {
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | p[3];
}

std::string dims_str(const std::vector<uint32_t>& dims) {
  std::ostringstream os;
  for (size_t i = 0; i < dims.size(); ++i) os << (i ? " x " : "") << dims[i];
  return os.str();
}

}  // namespace

IdxArray read_idx_u8(const std::string& path, int expected_ndim) {
  ByteSource src(path, kMissingHint);
  const uint64_t header_bytes = 4 + 4 * static_cast<uint64_t>(expected_ndim);

  uint8_t head[4];
  size_t got = src.read(head, 4);
  if (got != 4) {
    MLCN_FAIL(path << ": truncated header: need " << header_bytes << " bytes, got " << got);
  }
  const uint32_t magic = be32(head);
  const uint32_t expected_magic = 0x800u | static_cast<uint32_t>(expected_ndim);
  if (head[0] != 0 || head[1] != 0) {
    MLCN_FAIL(path << ": bad magic " << hex32(magic) << " at byte 0: expected "
                   << hex32(expected_magic)
                   << " (IDX is big-endian and starts with two zero bytes; a byte-swapped "
                      "magic means the file was written little-endian)");
  }
  if (head[2] != kTypeU8) {
    MLCN_FAIL(path << ": unsupported IDX type code " << hex8(head[2])
                   << " at byte 2: expected 0x08 (unsigned byte)");
  }
  if (head[3] != expected_ndim) {
    MLCN_FAIL(path << ": wrong dimension count " << int(head[3]) << " at byte 3: expected "
                   << expected_ndim << " (magic " << hex32(expected_magic) << ")");
  }

  IdxArray out;
  std::vector<uint8_t> raw_dims(4 * static_cast<size_t>(expected_ndim));
  got = src.read(raw_dims.data(), raw_dims.size());
  if (got != raw_dims.size()) {
    MLCN_FAIL(path << ": truncated header: need " << header_bytes << " bytes, got " << 4 + got);
  }
  uint64_t payload = 1;
  for (int d = 0; d < expected_ndim; ++d) {
    uint32_t v = be32(&raw_dims[4 * d]);
    out.dims.push_back(v);
    if (v == 0) {
      MLCN_FAIL(path << ": dimension " << d << " (at byte " << 4 + 4 * d
                     << ") is 0: the file holds no records");
    }
  }
  for (uint32_t v : out.dims) {
    if (__builtin_mul_overflow(payload, static_cast<uint64_t>(v), &payload)) {
      MLCN_FAIL(path << ": dimensions " << dims_str(out.dims)
                     << " overflow a 64-bit byte count; the header is corrupt");
    }
  }

  // A raw file's length is known up front: check it before allocating anything.
  if (src.sized()) {
    uint64_t body = src.file_size() - header_bytes;
    if (body < payload) {
      MLCN_FAIL(path << ": truncated payload: dimensions " << dims_str(out.dims) << " need "
                     << payload << " bytes after the " << header_bytes << "-byte header, got "
                     << body);
    }
    if (body != payload) {
      MLCN_FAIL(path << ": " << body - payload
                     << " trailing bytes after the payload: expected file size "
                     << header_bytes + payload << ", got " << src.file_size());
    }
  }
  if (payload > static_cast<uint64_t>(SIZE_MAX)) {
    MLCN_FAIL(path << ": payload of " << payload << " bytes exceeds memory");
  }

  // A gzip stream's length is only known by reading it: grow the buffer as data arrives,
  // so a lying header cannot make us allocate more than the stream holds (plus 2x).
  size_t have = 0;
  while (have < payload) {
    size_t chunk =
        static_cast<size_t>(std::min<uint64_t>(payload - have, std::max<size_t>(have, 1 << 20)));
    out.data.resize(have + chunk);
    size_t n = src.read(out.data.data() + have, chunk);
    have += n;
    if (n != chunk) {
      MLCN_FAIL(path << ": truncated payload: dimensions " << dims_str(out.dims) << " need "
                     << payload << " bytes after the " << header_bytes << "-byte header, got "
                     << have);
    }
  }
  uint64_t trailing = src.skip_to_end();
  if (trailing != 0) {
    MLCN_FAIL(path << ": " << trailing << " trailing bytes after the payload: expected "
                   << header_bytes + payload << " bytes of data, got "
                   << header_bytes + payload + trailing);
  }
  return out;
}

IdxImages read_idx_images(const std::string& path) {
  IdxArray a = read_idx_u8(path, 3);
  IdxImages img;
  img.n = a.dims[0];
  img.rows = static_cast<int>(a.dims[1]);
  img.cols = static_cast<int>(a.dims[2]);
  if (a.dims[1] > 65536 || a.dims[2] > 65536) {
    MLCN_FAIL(path << ": image size " << a.dims[1] << " x " << a.dims[2] << " is implausible");
  }
  img.pixels = std::move(a.data);
  return img;
}

std::vector<uint8_t> read_idx_labels(const std::string& path, int classes) {
  IdxArray a = read_idx_u8(path, 1);
  for (size_t i = 0; i < a.data.size(); ++i) {
    if (a.data[i] >= classes) {
      MLCN_FAIL(path << ": label " << int(a.data[i]) << " of record " << i << " (byte " << 8 + i
                     << ") is out of range [0, " << classes << ")");
    }
  }
  return std::move(a.data);
}

void write_idx_u8(const std::string& path, const std::vector<uint32_t>& dims,
                  const std::vector<uint8_t>& data, bool gzip) {
  if (dims.empty() || dims.size() > 255) {
    MLCN_FAIL(path << ": cannot write " << dims.size() << " dimensions");
  }
  uint64_t n = 1;
  for (uint32_t d : dims) n *= d;
  if (n != data.size()) {
    MLCN_FAIL(path << ": dimensions " << dims_str(dims) << " need " << n << " bytes, got "
                   << data.size());
  }
  std::vector<uint8_t> bytes = {0, 0, kTypeU8, static_cast<uint8_t>(dims.size())};
  for (uint32_t d : dims) {
    for (int s = 24; s >= 0; s -= 8) bytes.push_back(static_cast<uint8_t>(d >> s));
  }
  bytes.insert(bytes.end(), data.begin(), data.end());
  if (gzip) {
    gzFile gz = gzopen(path.c_str(), "wb");
    if (!gz) MLCN_FAIL(path << ": cannot create: " << std::strerror(errno));
    int wrote = gzwrite(gz, bytes.data(), static_cast<unsigned>(bytes.size()));
    int closed = gzclose(gz);
    if (wrote != static_cast<int>(bytes.size()) || closed != Z_OK) {
      MLCN_FAIL(path << ": gzip write failed");
    }
    return;
  }
  write_bytes(path, bytes.data(), bytes.size());
}

}  // namespace mlcn
