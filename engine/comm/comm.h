// Communicators: the one small interface every distributed mode talks through (design.md,
// "Communicators"). `local` is one process (size 1, every collective is the identity); `mpi`
// is OpenMPI over processes and CPU ranks (comm/mpi_comm.cpp, built with MLCN_MPI); `nccl` is
// one rank per GPU (comm/nccl_comm.h, built with the CUDA backend). Collectives are blocking
// and every rank of the communicator must call them in the same order with the same sizes.
// Errors throw mlcn::Error naming the rank; abort() ends every rank of the job (never a hang).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/core/tensor.h"

namespace mlcn {

class Comm {
 public:
  virtual ~Comm() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  virtual std::string kind() const = 0;  // "local" | "mpi" | "nccl"
  // t: any shape; every rank's t becomes the element-wise sum over ranks.
  virtual void allreduce_sum(Tensor& t) = 0;
  // in: n elements on every rank; out: size() * n elements, rank r's block at r * n.
  virtual void allgather(const Tensor& in, Tensor& out) = 0;
  // t on every rank becomes root's t.
  virtual void broadcast(Tensor& t, int root) = 0;
  // Host bytes (control data: ids, placements); every rank gets root's bytes.
  virtual void broadcast_bytes(std::string& bytes, int root) = 0;
  // One integer per rank, gathered on every rank (device counts, sizes).
  virtual std::vector<int64_t> allgather_int(int64_t v) = 0;
  virtual void barrier() = 0;
  // Ends every rank of the job with a non-zero status after printing `why` with this rank.
  [[noreturn]] virtual void abort(const std::string& why) = 0;
  // Ranks with equal color form a new communicator, ordered by key.
  virtual std::unique_ptr<Comm> split(int color, int key) = 0;
};

// A communicator of one process.
std::unique_ptr<Comm> make_local_comm();

// Starts MPI when the process was launched by mpirun/srun (OMPI_*, PMI_*/PMIX_* or SLURM_*
// step variables) and the build has MLCN_MPI; otherwise the world is one local process.
// Call once from main; finalize_distributed() (or the end of main) shuts MPI down.
void init_distributed(int* argc, char*** argv);
void finalize_distributed();
// The world: every rank of the job (a local communicator when MPI is not running).
Comm& world();
// "rank 1/3: " when the world has several ranks, else "" (prefix for errors and logs).
std::string rank_prefix();
// After an error on this rank: when the world has several ranks, aborts all of them (prints
// `message` with the rank first); otherwise returns so the caller exits normally.
void abort_world_if_distributed(const std::string& message);
// Whether this build has the MPI communicator, and whether the MPI is CUDA-aware.
bool mpi_compiled();
bool mpi_cuda_aware();

// RAII for main(): init_distributed on construction, finalize_distributed on destruction.
struct DistributedSession {
  DistributedSession(int* argc, char*** argv) { init_distributed(argc, argv); }
  ~DistributedSession() { finalize_distributed(); }
  DistributedSession(const DistributedSession&) = delete;
  DistributedSession& operator=(const DistributedSession&) = delete;
};

}  // namespace mlcn
