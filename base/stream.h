// Stream: how the engine names a CUDA stream to the kernels without any CUDA header. A stream
// belongs to one device; `handle` is the cudaStream_t. A null handle on a device means that
// device's setup stream (owned by the backend: parameter copies, optimizer state fills,
// checkpoint loads), which the lane runtime orders before its lane streams with an event.
// device < 0: no stream chosen (CPU work, or "the setup stream of the tensor's own device").
#pragma once

namespace mlcn {

struct Stream {
  int device = -1;
  void* handle = nullptr;
  static Stream setup(int device) { return {device, nullptr}; }
  bool chosen() const { return device >= 0; }
  bool operator==(const Stream& o) const { return device == o.device && handle == o.handle; }
  bool operator!=(const Stream& o) const { return !(*this == o); }
};

}  // namespace mlcn
