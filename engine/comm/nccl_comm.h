// The NCCL communicator: one rank per GPU. The unique id travels over a bootstrap communicator
// (MPI across processes; anything with broadcast_bytes in tests). Collectives run on the
// communicator's own stream, ordered after the caller's stream with an event and before later
// work with another event (never a device-wide synchronisation). The blocking Comm calls wait
// for that stream with a timeout: a peer that died or hangs makes them abort NCCL
// (ncclCommAbort) and throw naming this rank, instead of hanging. Host tensors and the control
// calls (broadcast_bytes, allgather_int, barrier, split) go through the bootstrap communicator.
#pragma once
#include <memory>

#include "engine/comm/comm.h"

namespace mlcn {

struct NcclState;

class NcclComm : public Comm {
 public:
  // device: this rank's GPU (cuda:device). timeout_s: longest wait for one collective.
  NcclComm(Comm& bootstrap, int device, double timeout_s = 60);
  ~NcclComm() override;
  int rank() const override { return bootstrap_.rank(); }
  int size() const override { return bootstrap_.size(); }
  std::string kind() const override { return "nccl"; }
  int device() const { return device_; }
  void allreduce_sum(Tensor& t) override;
  void allgather(const Tensor& in, Tensor& out) override;
  void broadcast(Tensor& t, int root) override;
  void broadcast_bytes(std::string& bytes, int root) override { bootstrap_.broadcast_bytes(bytes, root); }
  std::vector<int64_t> allgather_int(int64_t v) override { return bootstrap_.allgather_int(v); }
  void barrier() override { bootstrap_.barrier(); }
  [[noreturn]] void abort(const std::string& why) override;
  std::unique_ptr<Comm> split(int color, int key) override { return bootstrap_.split(color, key); }

  // The stream whose work a collective's inputs come from and whose later work reads its
  // outputs (cudaStream_t; null: the legacy default stream).
  void set_order_stream(void* stream) { order_stream_ = stream; }
  // Enqueues without waiting: the collective starts after `order_stream`'s work so far, and that
  // stream's later work waits for it. For overlap with other streams' work.
  void allreduce_sum_async(Tensor& t);
  // Host waits for the communicator's stream (with the timeout); throws naming the rank.
  void wait();

 private:
  void before();  // the NCCL stream waits for the order stream's work so far
  void after();   // the order stream's later work waits for the collective
  Comm& bootstrap_;
  int device_;
  double timeout_s_;
  void* order_stream_ = nullptr;
  std::unique_ptr<NcclState> s_;
};

}  // namespace mlcn
