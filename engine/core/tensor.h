// Tensor: a contiguous, row-major N-d array of float32 or float64 on one device.
// Storage is shared (copies of a Tensor alias the same memory; reshape is a view) and comes
// from the device's caching allocator, so steady-state training steps never call malloc.
// float64 exists for the CPU gradient checks; the CUDA backend is float32 only.
// CUDA memory work (allocation, fills, copies) is queued on an explicit Stream (base/stream.h):
// the stream of the tape doing the work, or, when none is given, the setup stream of the
// tensor's device (parameter copies, optimizer state, checkpoints), which the lane runtime
// orders before its lane streams. It goes through the backend table (engine/core/backend.h).
#pragma once
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "base/check.h"
#include "base/stream.h"

namespace mlcn {

// I32 holds indices (labels, selected classes) for the ops that take them; the float ops and
// MLCN_DISPATCH_FLOAT reject it.
enum class DType { F32, F64, I32 };
enum class DeviceType { CPU, CUDA };

inline size_t dtype_size(DType t) { return t == DType::F64 ? 8 : 4; }
const char* dtype_name(DType t);

// A device tag: CPU device k is a worker with its own threads; CUDA device k is GPU k.
struct Device {
  DeviceType type = DeviceType::CPU;
  int index = 0;
  static Device cpu(int k = 0) { return {DeviceType::CPU, k}; }
  static Device cuda(int k = 0) { return {DeviceType::CUDA, k}; }
  bool is_cpu() const { return type == DeviceType::CPU; }
  bool is_cuda() const { return type == DeviceType::CUDA; }
  bool operator==(const Device& o) const { return type == o.type && index == o.index; }
  bool operator!=(const Device& o) const { return !(*this == o); }
  std::string str() const;
};

using Shape = std::vector<int64_t>;
std::string shape_str(const Shape& s);
int64_t shape_numel(const Shape& s);

// One allocation. Returned to its allocator's cache when the last Tensor referencing it dies.
struct Storage {
  void* ptr = nullptr;
  size_t bytes = 0;
  Device device;
  ~Storage();
};

class Tensor {
 public:
  Tensor() = default;
  // s: the stream the memory is allocated (and filled) on; CUDA devices only.
  static Tensor empty(const Shape& shape, DType dtype = DType::F32, Device dev = Device::cpu(), const Stream& s = {});
  static Tensor zeros(const Shape& shape, DType dtype = DType::F32, Device dev = Device::cpu(), const Stream& s = {});
  static Tensor full(const Shape& shape, double value, DType dtype = DType::F32, Device dev = Device::cpu(),
                     const Stream& s = {});

  bool defined() const { return storage_ != nullptr; }
  const Shape& shape() const { return shape_; }
  int64_t dim(int i) const;  // negative i counts from the end
  int ndim() const { return static_cast<int>(shape_.size()); }
  int64_t numel() const { return numel_; }
  DType dtype() const { return dtype_; }
  Device device() const { return storage_ ? storage_->device : Device::cpu(); }
  size_t nbytes() const { return static_cast<size_t>(numel_) * dtype_size(dtype_); }

  void* raw() const { return storage_ ? static_cast<char*>(storage_->ptr) : nullptr; }
  // Typed access; throws when T does not match the dtype.
  template <class T> T* data() const;

  Tensor reshape(const Shape& shape) const;  // a view; -1 infers one dimension
  Tensor clone(const Stream& s = {}) const;               // a deep copy on the same device
  Tensor to(Device dev, const Stream& s = {}) const;      // copy to another device (self if already there)
  Tensor to(DType dt) const;                              // converting copy (CPU only)
  void zero_(const Stream& s = {});
  void fill_(double value);
  // Same numel and dtype; any devices. A CUDA copy runs on s, which must belong to the CUDA
  // side (the destination's device when both are GPUs); copies to the host wait for it.
  void copy_from(const Tensor& src, const Stream& s = {});
  // Element access for tests and small host-side code (CPU only, any dtype).
  double item(int64_t flat_index = 0) const;
  void set(int64_t flat_index, double v);

 private:
  std::shared_ptr<Storage> storage_;
  Shape shape_;
  int64_t numel_ = 0;
  DType dtype_ = DType::F32;
};

template <class T> struct dtype_of;
template <> struct dtype_of<float> { static constexpr DType value = DType::F32; };
template <> struct dtype_of<double> { static constexpr DType value = DType::F64; };
template <> struct dtype_of<int32_t> { static constexpr DType value = DType::I32; };

template <class T> T* Tensor::data() const {
  MLCN_CHECK(dtype_ == dtype_of<T>::value, "tensor is " << dtype_name(dtype_));
  return static_cast<T*>(raw());
}

// Runs `__VA_ARGS__` with `T` bound to the C++ type of `dtype`.
#define MLCN_DISPATCH_FLOAT(dtype, T, ...)           \
  do {                                                \
    if ((dtype) == ::mlcn::DType::F32) {              \
      using T = float;                                \
      __VA_ARGS__;                                    \
    } else {                                          \
      MLCN_CHECK((dtype) == ::mlcn::DType::F64, "a float op was given an int32 tensor"); \
      using T = double;                               \
      __VA_ARGS__;                                    \
    }                                                 \
  } while (0)

// dst += src (same numel, dtype and device); on a GPU queued on s.
void accumulate(Tensor& dst, const Tensor& src, const Stream& s = {});

// The stream CUDA work on device `dev` runs on: s when chosen (it must belong to dev), else
// dev's setup stream.
Stream stream_for(const Stream& s, Device dev);

// Bytes currently held by CPU tensors and the high-water mark since start (or the last reset).
size_t cpu_bytes_in_use();
size_t cpu_bytes_peak();
void cpu_reset_peak();

}  // namespace mlcn
