// safetensors reading and validation (see safetensors.h): the header (length, UTF-8, JSON
// through the project's one loader, each tensor entry), the layout of the data section (no gap,
// overlap or trailing bytes) and the checksums mlcn's writer stores. The checks follow the
// reference implementation's error enum (huggingface/safetensors tensor.rs), one distinct
// message each; docs/checkpoint-format.md lists them.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>

#include "base/check.h"
#include "base/json_io.h"  // defines: parse_json_text, json_brief
#include "engine/io/safetensors.h"
#include "engine/io/safetensors_internal.h"

namespace mlcn {
namespace {

using json = nlohmann::json;
using st_detail::crc_hex;
using st_detail::crc_of;
using st_detail::kMaxHeader;
constexpr int kMaxHeaderDepth = 8;  // {tensor: {shape: [..]}} is 3 deep

// Offset of the first byte that is not part of well-formed UTF-8, or npos.
size_t utf8_error(const uint8_t* s, size_t n) {
  size_t i = 0;
  while (i < n) {
    uint8_t c = s[i];
    size_t len = c < 0x80           ? 1
                 : (c >> 5) == 0x6  ? 2
                 : (c >> 4) == 0xE  ? 3
                 : (c >> 3) == 0x1E ? 4
                                    : 0;
    if (len == 0 || i + len > n) return i;
    uint32_t cp = len == 1 ? c : len == 2 ? (c & 0x1F) : len == 3 ? (c & 0x0F) : (c & 0x07);
    for (size_t k = 1; k < len; ++k) {
      if ((s[i + k] & 0xC0) != 0x80) return i;
      cp = (cp << 6) | (s[i + k] & 0x3F);
    }
    // Overlong forms, surrogates and code points past U+10FFFF are not UTF-8.
    static const uint32_t kMin[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMin[len] || (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) return i;
    i += len;
  }
  return std::string::npos;
}

// Parses the header through the project's one JSON loader: duplicate keys at any depth, nesting
// deeper than a header ever needs (3 levels) and texts over kMaxHeader are refused before any
// deep tree is built. Comments are not JSON; a header that needs them is malformed anyway.
json parse_header(const std::string& src, const char* begin, const char* end) {
  JsonLimits limits;
  limits.max_bytes = kMaxHeader;
  limits.max_depth = kMaxHeaderDepth;
  json j;
  try {
    j = parse_json_text(std::string(begin, end), src, limits);
  } catch (const Error& e) {
    // "SRC: invalid JSON: duplicate key 'k'" -> the documented header messages.
    const std::string m = e.message();
    const size_t dup = m.find("duplicate key '");
    if (dup != std::string::npos) {
      const std::string key = m.substr(dup + 15, m.size() - dup - 16);
      MLCN_FAIL(src << ": duplicate key \"" << key << "\" in the header");
    }
    const size_t at = m.find("invalid JSON: ");
    MLCN_FAIL(src << ": header is not valid JSON: " << (at == std::string::npos ? m : m.substr(at + 14)));
  }
  if (!j.is_object()) MLCN_FAIL(src << ": header is not a JSON object");
  return j;
}

StDType parse_dtype(const std::string& src, const std::string& name, const json& v) {
  if (v.is_string()) {
    for (StDType t : st_detail::kAllDTypes) {
      if (v.get_ref<const std::string&>() == st_dtype_name(t)) return t;
    }
  }
  MLCN_FAIL(src << ": tensor \"" << name << "\": unknown or unsupported dtype " << json_brief(v)
                << " (supported: U8, I32, I64, F32, F64)");
}

uint64_t as_u64(const json& v) { return v.is_number_unsigned() ? v.get<uint64_t>() : UINT64_MAX; }

struct Entry {
  std::string name;
  uint64_t begin, end;
};

// A stored checksum must be 8 lowercase hex digits, as crc_hex writes it.
void check_crc_text(const std::string& src, const char* key, const std::string& want) {
  if (want.size() != 8 || want.find_first_not_of("0123456789abcdef") != std::string::npos)
    MLCN_FAIL(src << ": corrupt checkpoint: " << key << " \"" << want << "\" is not 8 lowercase hex digits");
}

}  // namespace

StFile parse_safetensors(const uint8_t* bytes, size_t size, const std::string& source,
                         const StReadOptions& opt) {
  const std::string& src = source;
  if (size < 8) {
    MLCN_FAIL(src << ": header too small: the file has " << size << " bytes, need at least 8");
  }
  uint64_t n = 0;
  std::memcpy(&n, bytes, 8);
  if (n > kMaxHeader) {
    MLCN_FAIL(src << ": header too large: length " << n << " exceeds the limit of " << kMaxHeader
                  << " bytes");
  }
  if (8 + n > size) {
    MLCN_FAIL(src << ": header length " << n << " runs past the end of the file (" << size
                  << " bytes)");
  }
  const uint8_t* header = bytes + 8;
  size_t bad = utf8_error(header, n);
  if (bad != std::string::npos) {
    MLCN_FAIL(src << ": header is not valid UTF-8 (byte " << 8 + bad << ")");
  }
  if (n == 0 || header[0] != '{') {
    MLCN_FAIL(src << ": header is not a JSON object (it must start with '{')");
  }
  json j = parse_header(src, reinterpret_cast<const char*>(header),
                        reinterpret_cast<const char*>(header + n));

  StFile out;
  out.source = source;
  const uint8_t* data = header + n;
  const uint64_t data_len = size - 8 - n;
  std::vector<Entry> entries;
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& name = it.key();
    const json& v = it.value();
    if (name == "__metadata__") {
      if (!v.is_object()) MLCN_FAIL(src << ": __metadata__ is not a JSON object");
      for (auto m = v.begin(); m != v.end(); ++m) {
        if (!m.value().is_string()) {
          MLCN_FAIL(src << ": __metadata__ value of \"" << m.key() << "\" is not a string but "
                        << json_brief(m.value()));
        }
        out.metadata[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    if (!v.is_object() || !v.contains("dtype") || !v.contains("shape") ||
        !v.contains("data_offsets")) {
      MLCN_FAIL(src << ": tensor \"" << name
                    << "\": entry must be an object with dtype, shape and data_offsets");
    }
    StTensor t;
    t.dtype = parse_dtype(src, name, v.at("dtype"));
    const json& shape = v.at("shape");
    if (!shape.is_array()) MLCN_FAIL(src << ": tensor \"" << name << "\": shape is not an array");
    uint64_t numel = 1;
    for (const json& d : shape) {
      uint64_t dim = as_u64(d);
      if (dim > static_cast<uint64_t>(INT64_MAX)) {
        MLCN_FAIL(src << ": tensor \"" << name << "\": shape " << json_brief(shape)
                      << " must hold non-negative integers");
      }
      t.shape.push_back(static_cast<int64_t>(dim));
      if (__builtin_mul_overflow(numel, dim, &numel)) {
        MLCN_FAIL(src << ": tensor \"" << name << "\": shape " << json_brief(shape)
                      << " has more elements than fit in 64 bits");
      }
    }
    uint64_t nbytes = 0;
    if (__builtin_mul_overflow(numel, st_dtype_size(t.dtype), &nbytes)) {
      MLCN_FAIL(src << ": tensor \"" << name << "\": shape " << json_brief(shape)
                    << " has more bytes than fit in 64 bits");
    }
    const json& off = v.at("data_offsets");
    if (!off.is_array() || off.size() != 2 || as_u64(off[0]) == UINT64_MAX ||
        as_u64(off[1]) == UINT64_MAX) {
      MLCN_FAIL(src << ": tensor \"" << name << "\": data_offsets " << json_brief(off)
                    << " must be two non-negative integers [begin, end]");
    }
    const uint64_t begin = as_u64(off[0]), end = as_u64(off[1]);
    if (end < begin) {
      MLCN_FAIL(src << ": tensor \"" << name << "\": data_offsets [" << begin << ", " << end
                    << "] end before they begin");
    }
    if (end - begin != nbytes) {
      MLCN_FAIL(src << ": tensor \"" << name << "\": data_offsets [" << begin << ", " << end
                    << "] hold " << end - begin << " bytes but shape " << json_brief(shape) << " of "
                    << st_dtype_name(t.dtype) << " needs " << nbytes);
    }
    if (end > data_len) {
      MLCN_FAIL(src << ": tensor \"" << name << "\": data_offsets [" << begin << ", " << end
                    << "] run past the end of the data section (" << data_len << " bytes)");
    }
    t.bytes.assign(data + begin, data + end);
    entries.push_back({name, begin, end});
    out.tensors.emplace(name, std::move(t));
  }

  // Packed without gaps or overlaps, and the last tensor ends where the file does.
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  uint64_t prev_end = 0;
  std::string prev;
  for (const Entry& e : entries) {
    if (e.begin > prev_end) {
      MLCN_FAIL(src << ": gap in the data section: tensor \"" << e.name << "\" begins at "
                    << e.begin << " but "
                    << (prev.empty() ? "the data section starts at 0"
                                     : prev + " ends at " + std::to_string(prev_end)));
    }
    if (e.begin < prev_end) {
      MLCN_FAIL(src << ": tensors overlap: \"" << e.name << "\" begins at " << e.begin << " before "
                    << prev << " ends at " << prev_end);
    }
    prev_end = e.end;
    prev = "tensor \"" + e.name + "\"";
  }
  if (prev_end != data_len) {
    MLCN_FAIL(src << ": the data section has " << data_len << " bytes but the tensors end at "
                  << prev_end << " (" << data_len - prev_end << " trailing bytes)");
  }

  auto crc = out.metadata.find(kStCrcKey);
  if (opt.verify_crc && crc != out.metadata.end()) {
    const std::string& want = crc->second;
    check_crc_text(src, kStCrcKey, want);
    std::string got = crc_hex(crc_of(data, data_len));
    if (got != want) {
      MLCN_FAIL(src << ": corrupt checkpoint: the data section's CRC32 is " << got << " but "
                    << kStCrcKey << " says " << want
                    << " (the file was damaged after it was written)");
    }
  }
  auto file_crc = out.metadata.find(kStFileCrcKey);
  if (opt.verify_crc && file_crc != out.metadata.end()) {
    const std::string& want = file_crc->second;
    check_crc_text(src, kStFileCrcKey, want);
    // The checksum was computed with its own 8 digits written as zeros, over header then data.
    std::string text(reinterpret_cast<const char*>(header), n);
    const std::string field = std::string("\"") + kStFileCrcKey + "\":\"" + want + "\"";
    const size_t at = text.find(field);
    if (at == std::string::npos || text.find(field, at + 1) != std::string::npos) {
      MLCN_FAIL(src << ": corrupt checkpoint: " << kStFileCrcKey
                    << " is not written the way mlcn writes it (the header was edited)");
    }
    text.replace(at + field.size() - 9, 8, "00000000");
    uint32_t c = crc_of(reinterpret_cast<const uint8_t*>(text.data()), text.size());
    c = crc_of(data, data_len, c);
    if (crc_hex(c) != want) {
      MLCN_FAIL(src << ": corrupt checkpoint: the CRC32 of header and data is " << crc_hex(c) << " but "
                    << kStFileCrcKey << " says " << want << " (the file was changed after it was written)");
    }
  }
  return out;
}

StFile read_safetensors(const std::string& path, const StReadOptions& opt) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) MLCN_FAIL(path << ": cannot open: " << std::strerror(errno));
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    int err = errno;
    ::close(fd);
    MLCN_FAIL(path << ": cannot stat: " << std::strerror(err));
  }
  if (S_ISDIR(st.st_mode)) {
    ::close(fd);
    MLCN_FAIL(path << ": is a directory, expected a safetensors file");
  }
  std::vector<uint8_t> bytes(static_cast<size_t>(st.st_size));
  size_t have = 0;
  while (have < bytes.size()) {
    ssize_t got = ::read(fd, bytes.data() + have, bytes.size() - have);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) {
      int err = errno;
      ::close(fd);
      MLCN_FAIL(path << ": read failed after " << have << " of " << bytes.size()
                     << " bytes: " << (got == 0 ? "unexpected end of file" : std::strerror(err)));
    }
    have += static_cast<size_t>(got);
  }
  ::close(fd);
  return parse_safetensors(bytes.data(), bytes.size(), path, opt);
}

}  // namespace mlcn
