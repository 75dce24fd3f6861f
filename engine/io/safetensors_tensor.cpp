// safetensors tensors and dtypes (see safetensors.h): dtype sizes and names, converting reads,
// typed construction, StFile::at, and the helpers of safetensors_internal.h.
#include <zlib.h>  // defines: crc32_z

#include <cstring>
#include <iomanip>
#include <sstream>

#include "base/check.h"
#include "engine/io/safetensors.h"
#include "engine/io/safetensors_internal.h"

namespace mlcn {

namespace st_detail {

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

uint32_t crc_of(const uint8_t* p, size_t n, uint32_t crc) { return static_cast<uint32_t>(crc32_z(crc, p, n)); }

}  // namespace st_detail

using st_detail::shape_str;

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

}  // namespace mlcn
