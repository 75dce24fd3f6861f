// The MPI communicator (OpenMPI): host buffers go to MPI directly; device buffers are staged
// through host memory unless the MPI is CUDA-aware (MPIX_Query_cuda_support). The world
// communicator returns errors (MPI_ERRORS_RETURN) so they become mlcn::Error naming the rank;
// abort() is MPI_Abort, which ends every rank of the job.
#include <mpi.h>
#if __has_include(<mpi-ext.h>)
#include <mpi-ext.h>
#endif

#include <cstdio>
#include <cstdlib>

#include "base/check.h"
#include "engine/comm/comm.h"
#include "engine/comm/world.h"

namespace mlcn {
namespace {

MPI_Datatype mpi_type(DType t) { return t == DType::F32 ? MPI_FLOAT : MPI_DOUBLE; }

bool launched_by_mpi() {
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE"})
    if (std::getenv(v)) return true;
  return false;
}

class MpiComm : public Comm {
 public:
  MpiComm(MPI_Comm c, bool owned) : comm_(c), owned_(owned) {
    MLCN_MPI_CHECK(MPI_Comm_rank(c, &rank_));
    MLCN_MPI_CHECK(MPI_Comm_size(c, &size_));
  }
  ~MpiComm() override {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (owned_ && !finalized) MPI_Comm_free(&comm_);
  }
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::string kind() const override { return "mpi"; }

  void allreduce_sum(Tensor& t) override {
    staged(t, true, [&](Tensor& h) {
      MLCN_MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, h.raw(), count(h), mpi_type(h.dtype()), MPI_SUM, comm_));
    });
  }
  void allgather(const Tensor& in, Tensor& out) override {
    MLCN_CHECK(out.numel() == in.numel() * size_ && out.dtype() == in.dtype(),
               "rank " << rank_ << ": allgather output has " << out.numel() << " elements, expected " << size_
                       << " x " << in.numel());
    Tensor src = in;
    if (!host_ok(in)) src = in.to(Device::cpu());
    staged(out, false, [&](Tensor& h) {
      MLCN_MPI_CHECK(MPI_Allgather(src.raw(), count(src), mpi_type(src.dtype()), h.raw(), count(src),
                                   mpi_type(src.dtype()), comm_));
    });
  }
  void broadcast(Tensor& t, int root) override {
    check_root(root);
    staged(t, rank_ == root, [&](Tensor& h) {
      MLCN_MPI_CHECK(MPI_Bcast(h.raw(), count(h), mpi_type(h.dtype()), root, comm_));
    });
  }
  void broadcast_bytes(std::string& bytes, int root) override {
    check_root(root);
    long long n = static_cast<long long>(bytes.size());
    MLCN_MPI_CHECK(MPI_Bcast(&n, 1, MPI_LONG_LONG, root, comm_));
    bytes.resize(static_cast<size_t>(n));
    MLCN_MPI_CHECK(MPI_Bcast(bytes.data(), static_cast<int>(n), MPI_BYTE, root, comm_));
  }
  std::vector<int64_t> allgather_int(int64_t v) override {
    std::vector<long long> all(size_);
    long long mine = v;
    MLCN_MPI_CHECK(MPI_Allgather(&mine, 1, MPI_LONG_LONG, all.data(), 1, MPI_LONG_LONG, comm_));
    return std::vector<int64_t>(all.begin(), all.end());
  }
  void barrier() override { MLCN_MPI_CHECK(MPI_Barrier(comm_)); }
  [[noreturn]] void abort(const std::string& why) override {
    std::fprintf(stderr, "%s\n", why.c_str());
    std::fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, 1);
    std::_Exit(1);
  }
  std::unique_ptr<Comm> split(int color, int key) override {
    MPI_Comm c;
    MLCN_MPI_CHECK(MPI_Comm_split(comm_, color, key, &c));
    MPI_Comm_set_errhandler(c, MPI_ERRORS_RETURN);
    return std::make_unique<MpiComm>(c, true);
  }

 private:
  static int count(const Tensor& t) {
    MLCN_CHECK(t.numel() < (int64_t(1) << 31), "MPI collective of " << t.numel() << " elements (over 2^31)");
    return static_cast<int>(t.numel());
  }
  static bool host_ok(const Tensor& t) { return t.device().is_cpu() || mpi_cuda_aware(); }
  void check_root(int root) const {
    MLCN_CHECK(root >= 0 && root < size_, "rank " << rank_ << ": broadcast root " << root << " of " << size_ << " ranks");
  }
  // Runs op on t itself when MPI can read it, else on a host copy (filled first when `in`),
  // copied back afterwards.
  template <class Op> void staged(Tensor& t, bool in, Op op) {
    if (host_ok(t)) {
      op(t);
      return;
    }
    Tensor h = in ? t.to(Device::cpu()) : Tensor::empty(t.shape(), t.dtype());
    op(h);
    t.copy_from(h);
  }
  MPI_Comm comm_;
  bool owned_;
  int rank_ = 0, size_ = 1;
};

bool g_started = false;

}  // namespace

bool mpi_compiled() { return true; }

bool mpi_cuda_aware() {
#if defined(MPIX_CUDA_AWARE_SUPPORT) && MPIX_CUDA_AWARE_SUPPORT
  static const bool aware = MPIX_Query_cuda_support() == 1;
  return aware;
#else
  return false;
#endif
}

void init_distributed(int* argc, char*** argv) {
  if (g_started || !launched_by_mpi()) return;
  int provided = 0;
  // The runtime calls MPI from its head worker and from the training thread, never at once.
  MLCN_MPI_CHECK(MPI_Init_thread(argc, argv, MPI_THREAD_SERIALIZED, &provided));
  g_started = true;
  MLCN_CHECK(provided >= MPI_THREAD_SERIALIZED, "MPI provides thread level " << provided << ", MPI_THREAD_SERIALIZED is needed");
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  detail::world_slot() = std::make_unique<MpiComm>(MPI_COMM_WORLD, false);
}

void finalize_distributed() {
  if (!g_started) return;
  detail::world_slot().reset();
  MPI_Finalize();
  g_started = false;
}

}  // namespace mlcn
