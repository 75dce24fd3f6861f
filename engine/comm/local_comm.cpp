// The local communicator (one process) and the world when MPI is not running.
#include <cstdio>
#include <cstdlib>

#include "engine/comm/comm.h"
#include "engine/comm/world.h"

namespace mlcn {
namespace {

class LocalComm : public Comm {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  std::string kind() const override { return "local"; }
  void allreduce_sum(Tensor&) override {}
  void allgather(const Tensor& in, Tensor& out) override {
    MLCN_CHECK(out.numel() == in.numel() && out.dtype() == in.dtype(),
               "local allgather: output has " << out.numel() << " elements for " << in.numel());
    if (out.raw() != in.raw()) out.copy_from(in);
  }
  void broadcast(Tensor&, int root) override { MLCN_CHECK(root == 0, "local broadcast: root " << root << " of 1 rank"); }
  void broadcast_bytes(std::string&, int root) override {
    MLCN_CHECK(root == 0, "local broadcast: root " << root << " of 1 rank");
  }
  std::vector<int64_t> allgather_int(int64_t v) override { return {v}; }
  void barrier() override {}
  [[noreturn]] void abort(const std::string& why) override {
    std::fprintf(stderr, "%s\n", why.c_str());
    std::exit(1);
  }
  std::unique_ptr<Comm> split(int, int) override { return std::make_unique<LocalComm>(); }
};

}  // namespace

std::unique_ptr<Comm> make_local_comm() { return std::make_unique<LocalComm>(); }

Comm& world() {
  Comm* w = detail::world_slot().get();
  if (!w) {
    detail::world_slot() = make_local_comm();
    w = detail::world_slot().get();
  }
  return *w;
}

std::string rank_prefix() {
  Comm& w = world();
  if (w.size() == 1) return "";
  return "rank " + std::to_string(w.rank()) + "/" + std::to_string(w.size()) + ": ";
}

void abort_world_if_distributed(const std::string& message) {
  Comm& w = world();
  if (w.size() > 1) w.abort(message);
}

}  // namespace mlcn
