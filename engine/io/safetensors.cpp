// safetensors reading, validation, serialization and atomic writing (see safetensors.h).
// The checks follow the reference implementation's error enum (huggingface/safetensors
// tensor.rs), one distinct message each; docs/checkpoint-format.md lists them.
#include "engine/io/safetensors.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>  // defines: crc32_z

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <iomanip>
#include <nlohmann/json.hpp>
#include <sstream>

#include "base/atomic_write.h"  // defines: write_file_atomic
#include "base/check.h"
#include "base/json_io.h"  // defines: parse_json_text, json_brief

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "safetensors data is little-endian; this code copies it as host bytes");

namespace mlcn {
namespace {

using json = nlohmann::json;
constexpr uint64_t kMaxHeader = 100000000;  // the reference reader's MAX_HEADER_SIZE
constexpr int kMaxHeaderDepth = 8;          // {tensor: {shape: [..]}} is 3 deep

const StDType kAllDTypes[] = {StDType::U8, StDType::I32, StDType::I64, StDType::F32, StDType::F64};

std::string shape_str(const std::vector<int64_t>& shape) {
  std::ostringstream os;
  os << "[";
  for (size_t i = 0; i < shape.size(); ++i) os << (i ? ", " : "") << shape[i];
  os << "]";
  return os.str();
}

std::string crc_hex(uint32_t crc) {
  std::ostringstream os;
  os << std::hex << std::setw(8) << std::setfill('0') << crc;
  return os.str();
}

uint32_t crc_of(const uint8_t* p, size_t n) {
  return static_cast<uint32_t>(crc32_z(crc32_z(0, Z_NULL, 0), p, n));
}

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
    for (StDType t : kAllDTypes) {
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

}  // namespace

size_t st_dtype_size(StDType t) {
  switch (t) {
    case StDType::U8:
      return 1;
    case StDType::I32:
      return 4;
    case StDType::I64:
      return 8;
    case StDType::F32:
      return 4;
    case StDType::F64:
      return 8;
  }
  return 0;
}

const char* st_dtype_name(StDType t) {
  switch (t) {
    case StDType::U8:
      return "U8";
    case StDType::I32:
      return "I32";
    case StDType::I64:
      return "I64";
    case StDType::F32:
      return "F32";
    case StDType::F64:
      return "F64";
  }
  return "?";
}

int64_t StTensor::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0 || __builtin_mul_overflow(n, d, &n)) {
      MLCN_FAIL("safetensors: invalid tensor shape " << shape_str(shape));
    }
  }
  return n;
}

namespace {

template <class Out>
std::vector<Out> convert(const StTensor& t, bool allow_float, const char* to) {
  const size_t n = static_cast<size_t>(t.numel());
  if (t.bytes.size() != n * st_dtype_size(t.dtype)) {
    MLCN_FAIL("safetensors: tensor of shape " << shape_str(t.shape) << " and dtype "
                                              << st_dtype_name(t.dtype) << " holds "
                                              << t.bytes.size() << " bytes");
  }
  if (!allow_float && (t.dtype == StDType::F32 || t.dtype == StDType::F64)) {
    MLCN_FAIL("safetensors: cannot read a " << st_dtype_name(t.dtype) << " tensor as " << to);
  }
  std::vector<Out> out(n);
  const uint8_t* p = t.bytes.data();
  auto load = [&](auto tag) {
    using T = decltype(tag);
    for (size_t i = 0; i < n; ++i) {
      T v;
      std::memcpy(&v, p + i * sizeof(T), sizeof(T));
      out[i] = static_cast<Out>(v);
    }
  };
  switch (t.dtype) {
    case StDType::U8:
      load(uint8_t{});
      break;
    case StDType::I32:
      load(int32_t{});
      break;
    case StDType::I64:
      load(int64_t{});
      break;
    case StDType::F32:
      load(float{});
      break;
    case StDType::F64:
      load(double{});
      break;
  }
  return out;
}

template <class T>
StTensor make(StDType dt, const std::vector<int64_t>& shape, const T* v) {
  StTensor t;
  t.dtype = dt;
  t.shape = shape;
  size_t bytes = static_cast<size_t>(t.numel()) * sizeof(T);
  t.bytes.resize(bytes);
  if (bytes) std::memcpy(t.bytes.data(), v, bytes);
  return t;
}

}  // namespace

std::vector<float> StTensor::to_f32() const { return convert<float>(*this, true, "float"); }
std::vector<double> StTensor::to_f64() const { return convert<double>(*this, true, "double"); }
std::vector<int64_t> StTensor::to_i64() const { return convert<int64_t>(*this, false, "int64"); }

StTensor StTensor::from_f32(const std::vector<int64_t>& s, const float* v) {
  return make(StDType::F32, s, v);
}
StTensor StTensor::from_f64(const std::vector<int64_t>& s, const double* v) {
  return make(StDType::F64, s, v);
}
StTensor StTensor::from_i64(const std::vector<int64_t>& s, const int64_t* v) {
  return make(StDType::I64, s, v);
}
StTensor StTensor::from_i32(const std::vector<int64_t>& s, const int32_t* v) {
  return make(StDType::I32, s, v);
}
StTensor StTensor::from_u8(const std::vector<int64_t>& s, const uint8_t* v) {
  return make(StDType::U8, s, v);
}

const StTensor& StFile::at(const std::string& name) const {
  auto it = tensors.find(name);
  if (it == tensors.end()) {
    MLCN_FAIL((source.empty() ? "safetensors" : source)
              << ": no tensor \"" << name << "\" (the file has " << tensors.size() << " tensors)");
  }
  return it->second;
}

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
    if (want.size() != 8 || want.find_first_not_of("0123456789abcdef") != std::string::npos) {
      MLCN_FAIL(src << ": corrupt checkpoint: " << kStCrcKey << " \"" << want
                    << "\" is not 8 lowercase hex digits");
    }
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
    if (want.size() != 8 || want.find_first_not_of("0123456789abcdef") != std::string::npos) {
      MLCN_FAIL(src << ": corrupt checkpoint: " << kStFileCrcKey << " \"" << want
                    << "\" is not 8 lowercase hex digits");
    }
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
    c = static_cast<uint32_t>(crc32_z(c, data, data_len));
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

namespace {

// `src` names the destination in errors.
std::vector<uint8_t> serialize(const StFile& file, const std::string& src) {
  std::vector<const std::pair<const std::string, StTensor>*> order;
  for (const auto& kv : file.tensors) {
    const StTensor& t = kv.second;
    if (kv.first == "__metadata__") MLCN_FAIL(src << ": \"__metadata__\" is not a tensor name");
    if (t.bytes.size() != static_cast<size_t>(t.numel()) * st_dtype_size(t.dtype)) {
      MLCN_FAIL(src << ": tensor \"" << kv.first << "\" holds " << t.bytes.size()
                    << " bytes but shape " << shape_str(t.shape) << " of " << st_dtype_name(t.dtype)
                    << " needs " << t.numel() * st_dtype_size(t.dtype));
    }
    order.push_back(&kv);
  }
  // Largest element size first, then by name: every tensor starts aligned to its dtype.
  std::stable_sort(order.begin(), order.end(), [](const auto* a, const auto* b) {
    return st_dtype_size(a->second.dtype) > st_dtype_size(b->second.dtype);
  });
  std::vector<uint8_t> data;
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  header["__metadata__"] = nlohmann::ordered_json::object();
  for (const auto* kv : order) {
    const StTensor& t = kv->second;
    uint64_t begin = data.size();
    data.insert(data.end(), t.bytes.begin(), t.bytes.end());
    header[kv->first] = {{"dtype", st_dtype_name(t.dtype)},
                         {"shape", t.shape},
                         {"data_offsets", {begin, static_cast<uint64_t>(data.size())}}};
  }
  std::map<std::string, std::string> meta = file.metadata;
  meta[kStCrcKey] = crc_hex(crc_of(data.data(), data.size()));
  meta[kStFileCrcKey] = "00000000";  // replaced below by the CRC of header and data
  for (const auto& kv : meta) header["__metadata__"][kv.first] = kv.second;

  std::string text;
  try {
    text = header.dump();
  } catch (const nlohmann::ordered_json::exception& e) {
    MLCN_FAIL(src << ": cannot write the header (names and metadata must be UTF-8): " << e.what());
  }
  text.append((8 - text.size() % 8) % 8, ' ');
  const std::string field = std::string("\"") + kStFileCrcKey + "\":\"00000000\"";
  const size_t at = text.find(field);
  if (at == std::string::npos) MLCN_FAIL(src << ": internal error: no " << kStFileCrcKey << " in the header");
  uint32_t c = crc_of(reinterpret_cast<const uint8_t*>(text.data()), text.size());
  c = static_cast<uint32_t>(crc32_z(c, data.data(), data.size()));
  text.replace(at + field.size() - 9, 8, crc_hex(c));
  std::vector<uint8_t> out(8 + text.size() + data.size());
  uint64_t n = text.size();
  std::memcpy(out.data(), &n, 8);
  std::memcpy(out.data() + 8, text.data(), text.size());
  if (!data.empty()) std::memcpy(out.data() + 8 + text.size(), data.data(), data.size());
  return out;
}

}  // namespace

std::vector<uint8_t> serialize_safetensors(const StFile& file) {
  return serialize(file, file.source.empty() ? "safetensors" : file.source);
}

void write_safetensors(const std::string& path, const StFile& file) {
  std::vector<uint8_t> bytes = serialize(file, path);
  write_file_atomic(path, bytes.data(), bytes.size());
}

}  // namespace mlcn
