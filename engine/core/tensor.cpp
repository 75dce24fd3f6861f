// Tensor storage, views and copies, and the CPU caching allocator (free lists by exact size).
// CUDA memory comes from the backend table (engine/core/backend.h) on an explicit stream.
#include "engine/core/tensor.h"

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <sstream>
#include <unordered_map>

#include "engine/core/backend.h"

namespace mlcn {
namespace {

// Caching allocator for host memory: a step frees and reallocates the same sizes every time,
// so keeping freed blocks by size removes malloc/free (and page faults) from the steady state.
class CpuCache {
 public:
  void* alloc(size_t bytes) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = free_.find(bytes);
      if (it != free_.end() && !it->second.empty()) {
        void* p = it->second.back();
        it->second.pop_back();
        note_alloc(bytes);
        return p;
      }
    }
    void* p = std::aligned_alloc(64, round_up(bytes));
    MLCN_CHECK(p != nullptr, "out of host memory allocating " << bytes << " bytes");
    std::lock_guard<std::mutex> lock(mu_);
    note_alloc(bytes);
    return p;
  }
  void release(void* p, size_t bytes) {
    std::lock_guard<std::mutex> lock(mu_);
    free_[bytes].push_back(p);
    in_use_ -= bytes;
  }
  size_t in_use() const { return in_use_; }
  size_t peak() const { return peak_; }
  void reset_peak() { peak_ = in_use_.load(); }

 private:
  static size_t round_up(size_t b) { return ((b == 0 ? 1 : b) + 63) / 64 * 64; }
  void note_alloc(size_t bytes) {
    in_use_ += bytes;
    if (in_use_ > peak_) peak_ = in_use_.load();
  }
  std::mutex mu_;
  std::unordered_map<size_t, std::vector<void*>> free_;
  std::atomic<size_t> in_use_{0};
  std::atomic<size_t> peak_{0};
};

CpuCache& cpu_cache() {
  static CpuCache* cache = new CpuCache();  // never destroyed: tensors may outlive main()
  return *cache;
}

std::shared_ptr<Storage> make_storage(size_t bytes, Device dev, const Stream& stream) {
  auto s = std::make_shared<Storage>();
  s->bytes = bytes;
  s->device = dev;
  if (dev.is_cpu()) {
    s->ptr = cpu_cache().alloc(bytes);
  } else {
    const int gpus = cuda().device_count();
    MLCN_CHECK(dev.index >= 0 && dev.index < gpus, "a tensor on " << dev.str() << ", but " << gpus << " GPU(s) found");
    s->ptr = cuda().alloc(stream_for(stream, dev), bytes);
  }
  return s;
}

}  // namespace

Storage::~Storage() {
  if (!ptr) return;
  if (device.is_cpu()) {
    cpu_cache().release(ptr, bytes);
  } else {
    cuda().release(ptr);
  }
}

namespace {
template <class T> void add_rows(T* dst, const T* src, int64_t n) {
#pragma omp parallel for if (n > (1 << 16))
  for (int64_t i = 0; i < n; ++i) dst[i] += src[i];
}
}  // namespace

Stream stream_for(const Stream& s, Device dev) {
  MLCN_CHECK(dev.is_cuda(), "a stream for " << dev.str() << ": streams are CUDA only");
  if (!s.chosen()) return Stream::setup(dev.index);
  MLCN_CHECK(s.device == dev.index, "work on " << dev.str() << " queued on a stream of cuda:" << s.device);
  return s;
}
size_t cpu_bytes_in_use() { return cpu_cache().in_use(); }
size_t cpu_bytes_peak() { return cpu_cache().peak(); }
void cpu_reset_peak() { cpu_cache().reset_peak(); }

const char* dtype_name(DType t) { return t == DType::F32 ? "float32" : t == DType::F64 ? "float64" : "int32"; }

std::string Device::str() const {
  return std::string(is_cpu() ? "cpu:" : "cuda:") + std::to_string(index);
}

std::string shape_str(const Shape& s) {
  std::ostringstream os;
  os << "(";
  for (size_t i = 0; i < s.size(); ++i) os << (i ? ", " : "") << s[i];
  os << ")";
  return os.str();
}

int64_t shape_numel(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s) {
    MLCN_CHECK(d >= 0, "negative dimension in shape " << shape_str(s));
    n *= d;
  }
  return n;
}

Tensor Tensor::empty(const Shape& shape, DType dtype, Device dev, const Stream& s) {
  Tensor t;
  t.shape_ = shape;
  t.numel_ = shape_numel(shape);
  t.dtype_ = dtype;
  MLCN_CHECK(dev.is_cpu() || dtype != DType::F64, "the CUDA backend is float32 only, asked for " << dtype_name(dtype));
  t.storage_ = make_storage(t.nbytes(), dev, s);
  return t;
}

Tensor Tensor::zeros(const Shape& shape, DType dtype, Device dev, const Stream& s) {
  Tensor t = empty(shape, dtype, dev, s);
  t.zero_(s);
  return t;
}

Tensor Tensor::full(const Shape& shape, double value, DType dtype, Device dev, const Stream& s) {
  Tensor t = empty(shape, dtype, Device::cpu());
  t.fill_(value);
  return t.to(dev, s);
}

int64_t Tensor::dim(int i) const {
  int n = ndim();
  if (i < 0) i += n;
  MLCN_CHECK(i >= 0 && i < n, "dim " << i << " out of range for shape " << shape_str(shape_));
  return shape_[i];
}

Tensor Tensor::reshape(const Shape& shape) const {
  Shape s = shape;
  int infer = -1;
  int64_t known = 1;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == -1) {
      MLCN_CHECK(infer < 0, "reshape: more than one -1 in " << shape_str(shape));
      infer = static_cast<int>(i);
    } else {
      known *= s[i];
    }
  }
  if (infer >= 0) {
    MLCN_CHECK(known > 0 && numel_ % known == 0,
               "reshape " << shape_str(shape_) << " to " << shape_str(shape));
    s[infer] = numel_ / known;
  }
  MLCN_CHECK(shape_numel(s) == numel_, "reshape " << shape_str(shape_) << " to " << shape_str(shape));
  Tensor t = *this;
  t.shape_ = s;
  return t;
}

Tensor Tensor::clone(const Stream& s) const {
  Tensor t = empty(shape_, dtype_, device(), s);
  t.copy_from(*this, s);
  return t;
}

Tensor Tensor::to(Device dev, const Stream& s) const {
  if (dev == device()) return *this;
  Tensor t = empty(shape_, dtype_, dev, dev.is_cuda() ? s : Stream{});
  t.copy_from(*this, s);
  return t;
}

Tensor Tensor::to(DType dt) const {
  MLCN_CHECK(device().is_cpu(), "dtype conversion is CPU only");
  if (dt == dtype_) return clone();
  Tensor t = empty(shape_, dt, device());
  if (dt == DType::F64) {
    const float* s = data<float>();
    double* d = t.data<double>();
    for (int64_t i = 0; i < numel_; ++i) d[i] = s[i];
  } else {
    const double* s = data<double>();
    float* d = t.data<float>();
    for (int64_t i = 0; i < numel_; ++i) d[i] = static_cast<float>(s[i]);
  }
  return t;
}

void Tensor::zero_(const Stream& s) {
  if (!storage_ || numel_ == 0) return;
  if (device().is_cpu()) {
    std::memset(raw(), 0, nbytes());
  } else {
    cuda().fill_zero(stream_for(s, device()), raw(), nbytes());
  }
}

void Tensor::fill_(double value) {
  MLCN_CHECK(device().is_cpu(), "fill_ is CPU only; fill on the host and copy");
  MLCN_DISPATCH_FLOAT(dtype_, T, {
    T* p = data<T>();
    for (int64_t i = 0; i < numel_; ++i) p[i] = static_cast<T>(value);
  });
}

void Tensor::copy_from(const Tensor& src, const Stream& s) {
  MLCN_CHECK(src.numel() == numel_ && src.dtype() == dtype_,
             "copy_from: " << shape_str(src.shape()) << " " << dtype_name(src.dtype()) << " into "
                           << shape_str(shape_) << " " << dtype_name(dtype_));
  if (numel_ == 0) return;
  if (device().is_cpu() && src.device().is_cpu()) {
    std::memcpy(raw(), src.raw(), nbytes());
  } else {
    const Device gpu = device().is_cuda() ? device() : src.device();
    const int dd = device().is_cuda() ? device().index : -1, sd = src.device().is_cuda() ? src.device().index : -1;
    cuda().copy(stream_for(s, gpu), raw(), dd, src.raw(), sd, nbytes());
  }
}

void accumulate(Tensor& dst, const Tensor& src, const Stream& s) {
  MLCN_CHECK(dst.numel() == src.numel() && dst.dtype() == src.dtype(),
             "accumulate " << shape_str(src.shape()) << " into " << shape_str(dst.shape()));
  MLCN_CHECK(dst.device() == src.device(),
             "accumulate across devices " << src.device().str() << " -> " << dst.device().str());
  const int64_t n = dst.numel();
  if (dst.device().is_cuda()) {
    cuda().add_inplace(stream_for(s, dst.device()), dst.data<float>(), src.data<float>(), n);
    return;
  }
  if (dst.dtype() == DType::F32) add_rows(dst.data<float>(), src.data<float>(), n);
  else add_rows(dst.data<double>(), src.data<double>(), n);
}

double Tensor::item(int64_t i) const {
  MLCN_CHECK(device().is_cpu(), "item() needs a CPU tensor");
  MLCN_CHECK(i >= 0 && i < numel_, "index " << i << " out of range " << numel_);
  if (dtype_ == DType::I32) return static_cast<double>(data<int32_t>()[i]);
  return dtype_ == DType::F32 ? static_cast<double>(data<float>()[i]) : data<double>()[i];
}

void Tensor::set(int64_t i, double v) {
  MLCN_CHECK(device().is_cpu(), "set() needs a CPU tensor");
  MLCN_CHECK(i >= 0 && i < numel_, "index " << i << " out of range " << numel_);
  if (dtype_ == DType::F32) data<float>()[i] = static_cast<float>(v);
  else data<double>()[i] = v;
}

}  // namespace mlcn
