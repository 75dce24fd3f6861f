// safetensors writing (see safetensors.h): tensors laid out largest dtype first so each is
// aligned, the header padded to a multiple of 8, mlcn.crc32 over the data and mlcn.file_crc32
// over header and data, written with write_file_atomic.
#include <algorithm>
#include <cstring>
#include <map>
#include <nlohmann/json.hpp>

#include "base/atomic_write.h"  // defines: write_file_atomic
#include "base/check.h"
#include "engine/io/safetensors.h"
#include "engine/io/safetensors_internal.h"

namespace mlcn {
namespace {

using st_detail::crc_hex;
using st_detail::crc_of;
using st_detail::shape_str;

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
  c = crc_of(data.data(), data.size(), c);
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
