// NcclComm; see nccl_comm.h.
#include <cuda_runtime.h>
#include <nccl.h>

#include "engine/comm/nccl_comm.h"

#include <chrono>
#include <cstdio>
#include <cstring>
#include <thread>

#include "base/check.h"

namespace mlcn {

struct NcclState {
  ncclComm_t comm = nullptr;
  cudaStream_t stream = nullptr;
  cudaEvent_t ready = nullptr, done = nullptr;
};

namespace {
ncclDataType_t nccl_type(DType t) { return t == DType::F32 ? ncclFloat32 : ncclFloat64; }
}  // namespace

NcclComm::NcclComm(Comm& bootstrap, int device, double timeout_s)
    : bootstrap_(bootstrap), device_(device), timeout_s_(timeout_s), s_(std::make_unique<NcclState>()) {
  ncclUniqueId id;
  std::string bytes;
  if (bootstrap.rank() == 0) {
    MLCN_NCCL_CHECK(ncclGetUniqueId(&id));
    bytes.assign(reinterpret_cast<const char*>(&id), sizeof id);
  }
  bootstrap.broadcast_bytes(bytes, 0);
  MLCN_CHECK(bytes.size() == sizeof id, "rank " << rank() << ": NCCL unique id of " << bytes.size() << " bytes");
  std::memcpy(&id, bytes.data(), sizeof id);
  MLCN_CUDA_CHECK(cudaSetDevice(device));
  MLCN_CUDA_CHECK(cudaStreamCreateWithFlags(&s_->stream, cudaStreamNonBlocking));
  MLCN_CUDA_CHECK(cudaEventCreateWithFlags(&s_->ready, cudaEventDisableTiming));
  MLCN_CUDA_CHECK(cudaEventCreateWithFlags(&s_->done, cudaEventDisableTiming));
  MLCN_NCCL_CHECK(ncclCommInitRank(&s_->comm, bootstrap.size(), id, bootstrap.rank()));
}

NcclComm::~NcclComm() {
  if (s_->comm) ncclCommDestroy(s_->comm);
  if (s_->ready) cudaEventDestroy(s_->ready);
  if (s_->done) cudaEventDestroy(s_->done);
  if (s_->stream) cudaStreamDestroy(s_->stream);
}

void NcclComm::before() {
  MLCN_CUDA_CHECK(cudaSetDevice(device_));
  MLCN_CUDA_CHECK(cudaEventRecord(s_->ready, static_cast<cudaStream_t>(order_stream_)));
  MLCN_CUDA_CHECK(cudaStreamWaitEvent(s_->stream, s_->ready, 0));
}

void NcclComm::after() {
  MLCN_CUDA_CHECK(cudaEventRecord(s_->done, s_->stream));
  MLCN_CUDA_CHECK(cudaStreamWaitEvent(static_cast<cudaStream_t>(order_stream_), s_->done, 0));
}

void NcclComm::wait() {
  const auto t0 = std::chrono::steady_clock::now();
  for (;;) {
    cudaError_t q = cudaStreamQuery(s_->stream);
    if (q == cudaSuccess) return;
    MLCN_CHECK(q == cudaErrorNotReady, "rank " << rank() << ": NCCL stream failed: " << cudaGetErrorString(q));
    ncclResult_t async = ncclSuccess;
    MLCN_NCCL_CHECK(ncclCommGetAsyncError(s_->comm, &async));
    const double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (async != ncclSuccess || waited > timeout_s_) {
      ncclCommAbort(s_->comm);
      s_->comm = nullptr;
      MLCN_FAIL("rank " << rank() << ": NCCL collective "
                        << (async != ncclSuccess ? std::string("failed: ") + ncclGetErrorString(async)
                                                 : "did not finish within " + std::to_string(timeout_s_) + " s")
                        << " (a peer rank died or hangs); communicator aborted");
    }
    std::this_thread::sleep_for(std::chrono::microseconds(100));
  }
}

void NcclComm::allreduce_sum_async(Tensor& t) {
  MLCN_CHECK(t.device() == Device::cuda(device_), "rank " << rank() << ": NCCL all-reduce of a tensor on "
                                                          << t.device().str() << ", communicator on cuda:" << device_);
  before();
  MLCN_NCCL_CHECK(ncclAllReduce(t.raw(), t.raw(), t.numel(), nccl_type(t.dtype()), ncclSum, s_->comm, s_->stream));
  after();
}

void NcclComm::allreduce_sum(Tensor& t) {
  if (t.device().is_cpu()) return bootstrap_.allreduce_sum(t);
  allreduce_sum_async(t);
  wait();
}

void NcclComm::allgather(const Tensor& in, Tensor& out) {
  if (in.device().is_cpu() && out.device().is_cpu()) return bootstrap_.allgather(in, out);
  MLCN_CHECK(in.device() == Device::cuda(device_) && out.device() == in.device() && out.dtype() == in.dtype() &&
                 out.numel() == in.numel() * size(),
             "rank " << rank() << ": NCCL all-gather needs " << size() << " x " << in.numel() << " elements on cuda:"
                     << device_);
  before();
  MLCN_NCCL_CHECK(ncclAllGather(in.raw(), out.raw(), in.numel(), nccl_type(in.dtype()), s_->comm, s_->stream));
  after();
  wait();
}

void NcclComm::broadcast(Tensor& t, int root) {
  if (t.device().is_cpu()) return bootstrap_.broadcast(t, root);
  MLCN_CHECK(t.device() == Device::cuda(device_) && root >= 0 && root < size(),
             "rank " << rank() << ": NCCL broadcast from root " << root << " of a tensor on " << t.device().str());
  before();
  MLCN_NCCL_CHECK(ncclBroadcast(t.raw(), t.raw(), t.numel(), nccl_type(t.dtype()), root, s_->comm, s_->stream));
  after();
  wait();
}

void NcclComm::abort(const std::string& why) {
  if (s_->comm) ncclCommAbort(s_->comm);
  s_->comm = nullptr;
  bootstrap_.abort(why);
}

}  // namespace mlcn
