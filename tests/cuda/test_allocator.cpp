// The caching device allocator and the engine's device memory hooks: size classes, no
// cudaMalloc in the steady state, in-use/peak accounting, per-stream reuse, and Tensor copies
// between host and device.
#include <vector>

#include "cuda_test_util.h"
#include "engine/core/tensor.h"
#include "kernels/allocator.h"
#include "kernels/cuda_backend.h"
#include "kernels/cuda_context.h"

using namespace mlcn;
using namespace mlcn::test;

TEST_CASE("size classes cover the request and waste at most a quarter", "[cuda][allocator]") {
  size_t prev = 0;
  for (size_t bytes = 1; bytes < (size_t(1) << 34); bytes = bytes * 3 / 2 + 1) {
    const size_t c = cuda::allocator_size_class(bytes);
    INFO("bytes " << bytes << " class " << c);
    CHECK(c >= bytes);
    CHECK(c >= prev);
    CHECK((c <= 512 || double(c) <= 1.25 * double(bytes) + 1));
    CHECK(c % 128 == 0);
    prev = c;
  }
}

TEST_CASE("a repeated allocation pattern reaches a steady state without cudaMalloc", "[cuda][allocator]") {
  const std::vector<size_t> sizes{4, 1000, 4096, 123457, 7 << 20, 300, 1000};
  auto round = [&] {
    std::vector<Tensor> live;
    for (size_t s : sizes) live.push_back(Tensor::empty({int64_t(s)}, DType::F32, Device::cuda(0)));
  };
  round();
  const CudaMemoryInfo before = cuda_memory_info(0);
  for (int k = 0; k < 5; ++k) round();
  const CudaMemoryInfo after = cuda_memory_info(0);
  CHECK(after.mallocs == before.mallocs);
  CHECK(after.in_use == before.in_use);
  CHECK(after.reserved == before.reserved);
  CHECK(after.total > 0);

  cuda_reset_peak(0);
  const size_t base = cuda_memory_info(0).in_use;
  {
    Tensor big = Tensor::empty({1 << 20}, DType::F32, Device::cuda(0));
    CHECK(cuda_memory_info(0).in_use == base + cuda::allocator_size_class(4u << 20));
  }
  CHECK(cuda_memory_info(0).in_use == base);
  CHECK(cuda_memory_info(0).peak == base + cuda::allocator_size_class(4u << 20));
}

TEST_CASE("a freed block is reused only on the stream it was allocated on", "[cuda][allocator]") {
  cudaStream_t a = nullptr, b = nullptr;
  cuda_ok(cudaStreamCreateWithFlags(&a, cudaStreamNonBlocking), "stream a");
  cuda_ok(cudaStreamCreateWithFlags(&b, cudaStreamNonBlocking), "stream b");
  void* p = cuda::device_allocate(1 << 16, 0, a);
  cuda::device_release(p);
  void* q = cuda::device_allocate(1 << 16, 0, b);
  CHECK(q != p);
  void* r = cuda::device_allocate(1 << 16, 0, a);
  CHECK(r == p);
  cuda::device_release(q);
  cuda::device_release(r);
  cuda_ok(cudaStreamSynchronize(a), "sync a");
  cuda_ok(cudaStreamSynchronize(b), "sync b");
  cuda::allocator_empty_cache(0);  // the cached blocks are tagged with these streams
  cuda_ok(cudaStreamDestroy(a), "destroy a");
  cuda_ok(cudaStreamDestroy(b), "destroy b");
}

TEST_CASE("tensors copy between host and device, and zeros are zero", "[cuda][allocator]") {
  const auto h = rand_vec(1003, 301);
  Tensor t = Tensor::empty({1003}, DType::F32);
  for (size_t i = 0; i < h.size(); ++i) t.set(int64_t(i), h[i]);
  Tensor d = t.to(Device::cuda(0));
  CHECK(d.device() == Device::cuda(0));
  Tensor d2 = d.clone();
  Tensor back = d2.to(Device::cpu());
  for (size_t i = 0; i < h.size(); ++i) REQUIRE(back.item(int64_t(i)) == double(h[i]));
  Tensor z = Tensor::zeros({77, 3}, DType::F32, Device::cuda(0)).to(Device::cpu());
  for (int64_t i = 0; i < z.numel(); ++i) REQUIRE(z.item(i) == 0.0);
}

TEST_CASE("the per-thread stream is used by the bridge and by tensor memory", "[cuda][context]") {
  cudaStream_t s = nullptr;
  cuda_ok(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking), "stream");
  cuda::set_current_stream(0, s);
  CHECK(cuda::current_stream() == s);
  {
    Tensor z = Tensor::zeros({1 << 18}, DType::F32, Device::cuda(0));  // memset on s
    Tensor back = z.to(Device::cpu());                                  // waits for s
    CHECK(back.item(12345) == 0.0);
  }
  cuda::set_current_stream(0, nullptr);
  CHECK(cuda::current_stream() == nullptr);
  cuda_ok(cudaStreamSynchronize(s), "sync");
  cuda::allocator_empty_cache(0);
  cuda_ok(cudaStreamDestroy(s), "destroy");
}
