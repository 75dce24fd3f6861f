// The caching device allocator and tensor memory through the backend table: size classes, no
// cudaMalloc in the steady state, in-use/peak accounting, per-stream reuse, Tensor copies
// between host and device, explicit streams (the setup stream, ordering after it), and the pinned
// staging of small uploads.
#include <thread>
#include <vector>

#include "cuda_test_util.h"
#include "engine/core/tensor.h"
#include "kernels/allocator.h"

using namespace mlcn;
using namespace mlcn::test;

TEST_CASE("size classes cover the request and waste at most a quarter", "[cuda][allocator]") {
  size_t prev = 0;
  for (size_t bytes = 1; bytes < (size_t(1) << 34); bytes = bytes * 3 / 2 + 1) {
    const size_t c = kernels::allocator_size_class(bytes);
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
  const kernels::MemoryInfo before = cuda().memory_info(0);
  for (int k = 0; k < 5; ++k) round();
  const kernels::MemoryInfo after = cuda().memory_info(0);
  CHECK(after.mallocs == before.mallocs);
  CHECK(after.in_use == before.in_use);
  CHECK(after.reserved == before.reserved);
  CHECK(after.total > 0);

  cuda().reset_peak(0);
  const size_t base = cuda().memory_info(0).in_use;
  {
    Tensor big = Tensor::empty({1 << 20}, DType::F32, Device::cuda(0));
    CHECK(cuda().memory_info(0).in_use == base + kernels::allocator_size_class(4u << 20));
  }
  CHECK(cuda().memory_info(0).in_use == base);
  CHECK(cuda().memory_info(0).peak == base + kernels::allocator_size_class(4u << 20));
}

TEST_CASE("a freed block is reused only on the stream it was allocated on", "[cuda][allocator]") {
  cudaStream_t a = nullptr, b = nullptr;
  cuda_ok(cudaStreamCreateWithFlags(&a, cudaStreamNonBlocking), "stream a");
  cuda_ok(cudaStreamCreateWithFlags(&b, cudaStreamNonBlocking), "stream b");
  void* p = kernels::device_allocate(1 << 16, 0, a);
  kernels::device_release(p);
  void* q = kernels::device_allocate(1 << 16, 0, b);
  CHECK(q != p);
  void* r = kernels::device_allocate(1 << 16, 0, a);
  CHECK(r == p);
  kernels::device_release(q);
  kernels::device_release(r);
  cuda_ok(cudaStreamSynchronize(a), "sync a");
  cuda_ok(cudaStreamSynchronize(b), "sync b");
  kernels::allocator_empty_cache(0);  // the cached blocks are tagged with these streams
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

TEST_CASE("tensor memory runs on the stream it is given, after the setup stream when ordered", "[cuda][context]") {
  const Stream s = cuda().create_stream(0);
  {
    Tensor z = Tensor::zeros({1 << 18}, DType::F32, Device::cuda(0), s);  // allocated and zeroed on s
    Tensor back = z.to(Device::cpu(), s);                                  // waits for s
    CHECK(back.item(12345) == 0.0);
  }
  // Setup work (a parameter copy on the setup stream), then work on s that reads it.
  Tensor p = Tensor::full({4099}, 0.25, DType::F32, Device::cuda(0));
  cuda().order_after_setup(s);
  Tensor back = p.clone(s).to(Device::cpu(), s);
  for (int64_t i = 0; i < back.numel(); ++i) REQUIRE(back.item(i) == 0.25);
  // A stream of another device is refused.
  CHECK_THROWS_WITH(Tensor::zeros({4}, DType::F32, Device::cuda(0), Stream{1, s.handle}),
                    Catch::Contains("queued on a stream of cuda:1"));
}

// kernels::upload sends small host arrays through a ring of pinned slots (allocator.h). The same
// host vector is rewritten before every upload and nothing is synchronised until the end, so a
// slot refilled before its copy ran (the emulator runs a stream's work only when something waits
// for it) would show another upload's values. Three times round the ring, plus one array too
// large for a slot (the driver's staging), from two threads on two streams.
TEST_CASE("small uploads stay correct when the pinned staging ring wraps", "[cuda][allocator][staging]") {
  cuda_ok(cudaSetDevice(0), "device 0");
  const int n = 3 * kernels::kStagingSlots + 5;
  const size_t count = 257;  // int32 per upload
  auto run = [&](int base, cudaStream_t s, std::vector<std::vector<int32_t>>* got) {
    std::vector<kernels::DeviceBuffer> bufs;
    std::vector<int32_t> host(count);
    for (int k = 0; k < n; ++k) {
      for (size_t i = 0; i < count; ++i) host[i] = int32_t((base + k) * 1000 + int(i));
      bufs.push_back(kernels::upload(host.data(), count * sizeof(int32_t), s));
    }
    std::vector<int32_t> big(kernels::kStagingSlotBytes / sizeof(int32_t) + 3);
    for (size_t i = 0; i < big.size(); ++i) big[i] = int32_t(base + 7 * int(i));
    bufs.push_back(kernels::upload(big.data(), big.size() * sizeof(int32_t), s));
    (void)cudaStreamSynchronize(s);
    for (const kernels::DeviceBuffer& b : bufs) {
      got->emplace_back(b.bytes() / sizeof(int32_t));
      (void)cudaMemcpy(got->back().data(), b.get(), b.bytes(), cudaMemcpyDeviceToHost);
    }
  };
  const Stream a = cuda().create_stream(0), b = cuda().create_stream(0);
  std::vector<std::vector<int32_t>> got_a, got_b;
  std::thread other([&] {
    (void)cudaSetDevice(0);
    run(500000, static_cast<cudaStream_t>(b.handle), &got_b);
  });
  run(0, static_cast<cudaStream_t>(a.handle), &got_a);
  other.join();
  for (int base : {0, 500000}) {
    const auto& got = base == 0 ? got_a : got_b;
    REQUIRE(got.size() == size_t(n + 1));
    int wrong = 0;
    for (int k = 0; k < n; ++k)
      for (size_t i = 0; i < count; ++i) wrong += got[size_t(k)][i] != int32_t((base + k) * 1000 + int(i));
    for (size_t i = 0; i < got[size_t(n)].size(); ++i) wrong += got[size_t(n)][i] != int32_t(base + 7 * int(i));
    INFO("thread base " << base);
    CHECK(wrong == 0);
  }
}
