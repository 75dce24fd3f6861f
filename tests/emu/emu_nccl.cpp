// An emulated NCCL for the CPU emulator (tests/emu): the communicator calls the project makes
// (unique id, init, all-reduce sum, all-gather, broadcast, abort, destroy) between ranks that are
// host threads of one process, each on its emulated GPU. Stream semantics are NCCL's: a
// collective is work on the given stream; it runs when that stream runs (the emulator's streams
// are lazy) and only after every rank's stream has reached the same collective (each rank's
// stream waits for the other ranks' arrival events). The first rank's stream to run the
// collective computes every rank's result from all inputs (ranks summed in rank order, so all
// results are bitwise equal), each rank's operation then writes its own output. Enqueueing
// blocks the host until every rank has enqueued the collective (ranks must be threads).
// cudaStreamQuery and cudaEventDestroy, which the NCCL communicator uses and the runtime
// emulation does not provide, are here: a query runs the stream to completion and succeeds.
#include <nccl.h>

#include <atomic>
#include <condition_variable>
#include <cstring>
#include <map>
#include <mutex>
#include <vector>

#include "tests/emu/emu.h"
#include "tests/emu/emu_internal.h"

namespace {

enum class Kind { AllReduce, AllGather, Broadcast };

struct Op {
  Kind kind = Kind::AllReduce;
  const void* send = nullptr;
  void* recv = nullptr;
  size_t count = 0;
  ncclDataType_t type = ncclFloat32;
  int root = 0;
  cudaEvent_t arrived = nullptr;
};

struct Slot {
  std::vector<Op> ops;
  int posted = 0, written = 0;
  bool computed = false;
  std::vector<std::vector<char>> results;
};

struct Group {
  int n = 0, joined = 0;
  std::mutex mu;
  std::condition_variable cv;
  std::map<uint64_t, Slot> slots;
};

std::mutex g_groups_mu;
std::map<uint64_t, Group*> g_groups;
std::atomic<uint64_t> g_ids{1};

size_t type_size(ncclDataType_t t) { return t == ncclFloat64 ? 8 : 4; }

template <class T> void sum_into(std::vector<char>& out, const std::vector<Op>& ops) {
  T* o = reinterpret_cast<T*>(out.data());
  for (size_t i = 0; i < ops[0].count; ++i) {
    T s = 0;
    for (const Op& op : ops) s += static_cast<const T*>(op.send)[i];
    o[i] = s;
  }
}

// Every rank's result of the collective, from every rank's input.
void compute(Slot& s) {
  const size_t n = s.ops.size(), bytes = s.ops[0].count * type_size(s.ops[0].type);
  s.results.assign(n, {});
  for (size_t r = 0; r < n; ++r) {
    std::vector<char>& out = s.results[r];
    switch (s.ops[0].kind) {
      case Kind::AllReduce:
        out.resize(bytes);
        if (s.ops[0].type == ncclFloat64) sum_into<double>(out, s.ops);
        else sum_into<float>(out, s.ops);
        break;
      case Kind::AllGather:
        out.resize(bytes * n);
        for (size_t q = 0; q < n; ++q) std::memcpy(out.data() + q * bytes, s.ops[q].send, bytes);
        break;
      case Kind::Broadcast:
        out.assign(static_cast<const char*>(s.ops[s.ops[0].root].send),
                   static_cast<const char*>(s.ops[s.ops[0].root].send) + bytes);
        break;
    }
  }
  s.computed = true;
}

}  // namespace

struct ncclComm {
  Group* group = nullptr;
  int rank = 0;
  uint64_t seq = 0;
};

namespace {

ncclResult_t enqueue(ncclComm_t c, Op op, cudaStream_t stream) {
  if (!c || !c->group) return ncclInvalidArgument;
  if (op.type != ncclFloat32 && op.type != ncclFloat64) return ncclInvalidArgument;
  Group& g = *c->group;
  const uint64_t k = c->seq++;
  cudaEventCreateWithFlags(&op.arrived, cudaEventDisableTiming);
  cudaEventRecord(op.arrived, stream);
  std::vector<cudaEvent_t> others;
  {
    std::unique_lock<std::mutex> lock(g.mu);
    Slot& s = g.slots[k];
    if (s.ops.empty()) s.ops.resize(g.n);
    s.ops[c->rank] = op;
    ++s.posted;
    g.cv.notify_all();
    g.cv.wait(lock, [&] { return s.posted == g.n; });
    for (int q = 0; q < g.n; ++q)
      if (q != c->rank) others.push_back(s.ops[q].arrived);
  }
  for (cudaEvent_t e : others) cudaStreamWaitEvent(stream, e, 0);
  const int r = c->rank;
  Group* gp = &g;
  mlcn_emu::submit(stream, mlcn_emu::Work::Library, [gp, k, r] {
    std::lock_guard<std::mutex> lock(gp->mu);
    Slot& s = gp->slots[k];
    if (!s.computed) compute(s);
    std::memcpy(s.ops[r].recv, s.results[r].data(), s.results[r].size());
    if (++s.written == gp->n) gp->slots.erase(k);
  });
  return ncclSuccess;
}

}  // namespace

extern "C" {

ncclResult_t ncclGetUniqueId(ncclUniqueId* id) {
  std::memset(id, 0, sizeof *id);
  const uint64_t v = g_ids++;
  std::memcpy(id->internal, &v, sizeof v);
  return ncclSuccess;
}

ncclResult_t ncclCommInitRank(ncclComm_t* comm, int nranks, ncclUniqueId id, int rank) {
  if (nranks < 1 || rank < 0 || rank >= nranks) return ncclInvalidArgument;
  uint64_t key = 0;
  std::memcpy(&key, id.internal, sizeof key);
  Group* g = nullptr;
  {
    std::lock_guard<std::mutex> lock(g_groups_mu);
    Group*& slot = g_groups[key];
    if (!slot) {
      slot = new Group;
      slot->n = nranks;
    }
    g = slot;
  }
  if (g->n != nranks) return ncclInvalidArgument;
  std::unique_lock<std::mutex> lock(g->mu);  // init returns once every rank has joined
  ++g->joined;
  g->cv.notify_all();
  g->cv.wait(lock, [&] { return g->joined >= g->n; });
  *comm = new ncclComm{g, rank, 0};
  return ncclSuccess;
}

ncclResult_t ncclAllReduce(const void* send, void* recv, size_t count, ncclDataType_t type, ncclRedOp_t op,
                           ncclComm_t comm, cudaStream_t stream) {
  if (op != ncclSum) return ncclInvalidArgument;
  return enqueue(comm, {Kind::AllReduce, send, recv, count, type, 0, nullptr}, stream);
}

ncclResult_t ncclAllGather(const void* send, void* recv, size_t count, ncclDataType_t type, ncclComm_t comm,
                           cudaStream_t stream) {
  return enqueue(comm, {Kind::AllGather, send, recv, count, type, 0, nullptr}, stream);
}

ncclResult_t ncclBroadcast(const void* send, void* recv, size_t count, ncclDataType_t type, int root, ncclComm_t comm,
                           cudaStream_t stream) {
  return enqueue(comm, {Kind::Broadcast, send, recv, count, type, root, nullptr}, stream);
}

ncclResult_t ncclCommGetAsyncError(ncclComm_t, ncclResult_t* err) {
  *err = ncclSuccess;
  return ncclSuccess;
}

ncclResult_t ncclCommAbort(ncclComm_t comm) {
  delete comm;
  return ncclSuccess;
}

ncclResult_t ncclCommDestroy(ncclComm_t comm) {
  delete comm;
  return ncclSuccess;
}

const char* ncclGetErrorString(ncclResult_t r) { return r == ncclSuccess ? "no error" : "emulated NCCL error"; }

cudaError_t cudaStreamQuery(cudaStream_t s) { return cudaStreamSynchronize(s); }

cudaError_t cudaEventDestroy(cudaEvent_t) { return cudaSuccess; }

}  // extern "C"
