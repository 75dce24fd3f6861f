// The NCCL communicator (engine/comm/nccl_comm.cpp) on the emulated NCCL (emu_nccl.cpp): two
// ranks as host threads on the two emulated GPUs, the unique id broadcast over a thread
// bootstrap communicator. All-reduce (in place, float32 and float64), all-gather and broadcast
// give the exact results; inputs written on a lane stream and outputs read on it afterwards are
// ordered only by the communicator's events (the emulator runs unordered work too late, so a
// missing event fails); a communicator of size 1 is the identity.
#include <catch2/catch.hpp>

#include <condition_variable>
#include <mutex>
#include <thread>

#include "engine/comm/nccl_comm.h"
#include "engine/core/backend.h"  // defines: cuda, cuda_available

using namespace mlcn;

namespace {

// The bootstrap between rank threads: broadcast_bytes only (what NcclComm's constructor uses).
struct ThreadBoot {
  std::mutex mu;
  std::condition_variable cv;
  std::string bytes;
  bool set = false;
};

class ThreadComm : public Comm {
 public:
  ThreadComm(ThreadBoot& b, int rank, int size) : b_(b), rank_(rank), size_(size) {}
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::string kind() const override { return "threads"; }
  void allreduce_sum(Tensor&) override { MLCN_FAIL("thread bootstrap: no host all-reduce"); }
  void allgather(const Tensor&, Tensor&) override { MLCN_FAIL("thread bootstrap: no host all-gather"); }
  void broadcast(Tensor&, int) override { MLCN_FAIL("thread bootstrap: no host broadcast"); }
  void broadcast_bytes(std::string& bytes, int root) override {
    std::unique_lock<std::mutex> lock(b_.mu);
    if (rank_ == root) {
      b_.bytes = bytes;
      b_.set = true;
      b_.cv.notify_all();
    } else {
      b_.cv.wait(lock, [&] { return b_.set; });
      bytes = b_.bytes;
    }
  }
  std::vector<int64_t> allgather_int(int64_t) override { MLCN_FAIL("thread bootstrap: no all-gather"); }
  void barrier() override {}
  [[noreturn]] void abort(const std::string& why) override { MLCN_FAIL(why); }
  std::unique_ptr<Comm> split(int, int) override { MLCN_FAIL("thread bootstrap: no split"); }

 private:
  ThreadBoot& b_;
  int rank_, size_;
};

Tensor on_device(const std::vector<double>& v, DType dt, int dev, const Stream& lane) {
  Tensor h = Tensor::empty({static_cast<int64_t>(v.size())}, dt);
  for (size_t i = 0; i < v.size(); ++i) h.set(static_cast<int64_t>(i), v[i]);
  Tensor d = Tensor::empty(h.shape(), dt, Device::cuda(dev), lane);
  d.copy_from(h, lane);  // on the lane stream, which the collectives are ordered after
  return d;
}

std::vector<double> host(const Tensor& t, const Stream& lane) {
  Tensor h = t.to(Device::cpu(), lane);  // waits for the lane stream, itself ordered after the collective
  std::vector<double> v;
  for (int64_t i = 0; i < h.numel(); ++i) v.push_back(h.item(i));
  return v;
}

// What each rank saw, checked on the test thread afterwards.
struct Seen {
  std::vector<double> sum32, sum_blocking, gathered, bcast;
  std::string error;
};

void rank_main(ThreadBoot& boot, int rank, int size, Seen& out) {
  try {
    ThreadComm bootstrap(boot, rank, size);
    NcclComm c(bootstrap, rank);
    const Stream lane = cuda().create_stream(rank);
    c.set_order_stream(lane.handle);
    const double base = 10.0 * (rank + 1);
    Tensor a = on_device({base + 0.25, base + 1, -base}, DType::F32, rank, lane);
    c.allreduce_sum_async(a);  // no host wait: the lane stream's copy below is ordered by the event
    out.sum32 = host(a, lane);
    // The CUDA backend is float32 only: values whose float sums are exact.
    Tensor b = on_device({base * 0.25, 0.125}, DType::F32, rank, lane);
    c.allreduce_sum(b);
    out.sum_blocking = host(b, lane);
    Tensor in = on_device({double(rank), double(rank) + 0.5}, DType::F32, rank, lane);
    Tensor all = Tensor::empty({2 * size}, DType::F32, Device::cuda(rank), lane);
    c.allgather(in, all);
    out.gathered = host(all, lane);
    Tensor x = on_device({double(rank + 7), double(rank - 7)}, DType::F32, rank, lane);
    c.broadcast(x, size - 1);
    out.bcast = host(x, lane);
  } catch (const std::exception& e) {
    out.error = e.what();
  }
}

std::vector<Seen> run_ranks(int size) {
  ThreadBoot boot;
  std::vector<Seen> seen(size);
  std::vector<std::thread> ts;
  for (int r = 0; r < size; ++r) ts.emplace_back(rank_main, std::ref(boot), r, size, std::ref(seen[r]));
  for (auto& t : ts) t.join();
  return seen;
}

}  // namespace

TEST_CASE("emulated NCCL, 2 ranks on 2 GPUs: all-reduce, all-gather and broadcast ordered by events", "[nccl]") {
  REQUIRE(cuda_available());
  std::vector<Seen> seen = run_ranks(2);
  for (int r = 0; r < 2; ++r) {
    INFO("rank " << r << ": " << seen[r].error);
    REQUIRE(seen[r].error.empty());
    CHECK(seen[r].sum32 == std::vector<double>{30.5, 32, -30});
    CHECK(seen[r].sum_blocking == std::vector<double>{2.5 + 5.0, 0.25});
    CHECK(seen[r].gathered == std::vector<double>{0, 0.5, 1, 1.5});
    CHECK(seen[r].bcast == std::vector<double>{8, -6});
  }
}

TEST_CASE("emulated NCCL, a communicator of size 1 is the identity", "[nccl]") {
  REQUIRE(cuda_available());
  std::vector<Seen> seen = run_ranks(1);
  INFO(seen[0].error);
  REQUIRE(seen[0].error.empty());
  CHECK(seen[0].sum32 == std::vector<double>{10.25, 11, -10});
  CHECK(seen[0].gathered == std::vector<double>{0, 0.5});
  CHECK(seen[0].bcast == std::vector<double>{7, -7});
}
