// The emulator's thread scheduler (tests/emu/emu.h): a launch runs block by block, each block's
// CUDA threads as ucontext fibers that switch only at __syncthreads and warp shuffles. A launch
// with thread-block clusters runs cluster by cluster instead: the threads of all the cluster's
// blocks are fibers together, since a cluster barrier waits for every one of them, and a block
// can reach another's dynamic shared memory (__cluster_map_shared_rank). Each block runs as far
// as it can before the next one runs, and a block's shared memory turns to NaN when its threads
// have all exited: a missing cluster barrier shows up as wrong data. Between
// barriers the threads run one after the other, in index order, or (threads and blocks) in
// reverse order when MLCN_EMU_REVERSE is set: a missing barrier (a race) shows up as a wrong
// result in at least one of the two orders. A barrier some threads skip or exit before, and a
// deadlock, are errors.
// A launch site whose kernel reached no barrier on its first launch runs its threads as plain
// calls afterwards (most elementwise kernels), which keeps the emulated tests fast.
#include <ucontext.h>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "tests/emu/emu.h"
#include "tests/emu/emu_internal.h"

namespace mlcn_emu {
namespace {

constexpr size_t kStack = 64 << 10;    // per fiber
constexpr int kWarp = 32;


struct Fiber {
  ucontext_t uc;
  Ctx ctx;
  bool done = false;
};

// Barrier state: arrivals per generation out of the live threads it spans. A waiting fiber
// yields to the scheduler until its barrier's generation moves on.
struct Bar {
  int arrived = 0, live = 0;
  uint64_t gen = 0;
};

// The blocks being run together: one block, or the blocks of one thread-block cluster (they
// must run at once, since a cluster barrier waits for all of them). Fibers are block-major:
// fiber t is thread t % n of the cluster's block t / n. Each block has its own __syncthreads
// barrier, warps and dynamic shared memory; the cluster barrier spans every fiber.
struct Block {
  std::vector<Fiber> fibers;
  ucontext_t sched;
  int current = -1, live = 0;
  int n = 0, blocks = 1, warps = 0;  // threads per block, blocks run together, warps per block
  std::vector<Bar> block_bar, warp_bar;  // per block; per (block, warp)
  Bar cluster_bar;
  std::vector<float> slots;  // (blocks, warps, 32) shuffle exchange
  std::vector<std::vector<unsigned char>> shared;  // per block
  size_t smem = 0;
  const std::function<void()>* body = nullptr;
  uint64_t events = 0;  // arrivals, releases and exits: progress for the deadlock check
  bool barrier_seen = false, direct = false;
  std::string error;
  int block_of(int t) const { return t / n; }
  int warp_of(int t) const { return block_of(t) * warps + (t % n) / kWarp; }
};

Block* g_block = nullptr;
std::mutex g_launch_mu;
std::unique_ptr<char[]> g_stacks;  // not zero-filled: pages are touched only by the fibers that use them
size_t g_stack_fibers = 0;

// Shared memory starts as NaN, so a kernel reading what it never wrote fails its test.
void poison(std::vector<unsigned char>& m) {
  const uint32_t nan = 0x7fc0dead;
  for (size_t i = 0; i + 4 <= m.size(); i += 4) std::memcpy(&m[i], &nan, 4);
}

void yield() { swapcontext(&g_block->fibers[size_t(g_block->current)].uc, &g_block->sched); }

// A thread left: barriers it spanned count one thread fewer and release if the rest are there.
void leave(Bar& bar, Block& b, const char* what) {
  --bar.live;
  if (bar.arrived > 0 && b.error.empty()) b.error = std::string("a thread exited while others waited ") + what;
  if (bar.arrived > 0 && bar.arrived >= bar.live) bar.arrived = 0, ++bar.gen;
}

void fiber_main() {
  Block& b = *g_block;
  const int t = b.current;
  try {
    (*b.body)();
  } catch (const std::exception& e) {
    if (b.error.empty()) b.error = std::string("exception in a thread: ") + e.what();
  }
  b.fibers[size_t(t)].done = true;
  --b.live;
  ++b.events;
  // A thread that leaves while others wait at a barrier: the barrier is divergent (undefined
  // behaviour in CUDA); reported, and the waiters are released so the launch can finish.
  Bar& blk = b.block_bar[size_t(b.block_of(t))];
  leave(blk, b, "at __syncthreads");
  leave(b.warp_bar[size_t(b.warp_of(t))], b, "in a warp shuffle");
  if (b.blocks > 1) leave(b.cluster_bar, b, "at a cluster barrier");
  // A block whose threads all exited loses its shared memory while the rest of its cluster may
  // still run: a distributed-shared-memory read of it after that reads NaN (CUDA requires a
  // cluster barrier before a block exits that others still read).
  if (blk.live == 0 && b.live > 0) poison(b.shared[size_t(b.block_of(t))]);
}

// Runs the blocks bidx[0..blocks) together (one, or one cluster).
void run_blocks(Block& b, const Config& c, const std::vector<dim3>& bidx) {
  const int n = int(c.block.x * c.block.y * c.block.z), blocks = int(bidx.size()), total = n * blocks;
  b.n = n, b.blocks = blocks, b.warps = (n + kWarp - 1) / kWarp;
  b.fibers.assign(size_t(total), Fiber{});
  b.live = total;
  b.block_bar.assign(size_t(blocks), Bar{0, n, 0});
  b.warp_bar.assign(size_t(blocks * b.warps), Bar{});
  for (int t = 0; t < total; ++t) ++b.warp_bar[size_t(b.warp_of(t))].live;
  b.cluster_bar = Bar{0, total, 0};
  b.slots.assign(size_t(blocks * b.warps * kWarp), 0.f);
  b.shared.resize(size_t(blocks));
  for (auto& m : b.shared) m.assign(b.smem, 0), poison(m);
  if (g_stack_fibers < size_t(total)) g_stacks.reset(new char[size_t(total) * kStack]), g_stack_fibers = size_t(total);
  for (int t = 0; t < total; ++t) {
    Fiber& f = b.fibers[size_t(t)];
    const unsigned l = unsigned(t % n);
    f.ctx.thread = dim3(l % c.block.x, (l / c.block.x) % c.block.y, l / (c.block.x * c.block.y));
    f.ctx.block = bidx[size_t(t / n)];
    f.ctx.bdim = c.block;
    f.ctx.gdim = c.grid;
    getcontext(&f.uc);
    f.uc.uc_stack.ss_sp = &g_stacks[size_t(t) * kStack];
    f.uc.uc_stack.ss_size = kStack;
    f.uc.uc_link = &b.sched;
    makecontext(&f.uc, fiber_main, 0);
  }
  static const bool reverse = std::getenv("MLCN_EMU_REVERSE") != nullptr;
  while (b.live > 0) {
    const uint64_t before = b.events;
    // Each block in turn runs as far as it can (until its threads wait at a cluster barrier or
    // exit): the cluster's blocks drift as far apart as CUDA allows, so a read of another block's
    // shared memory that a cluster barrier does not order sees the wrong data.
    for (int kb = 0; kb < blocks; ++kb) {
      const int blk = reverse ? blocks - 1 - kb : kb;
      for (uint64_t mark = ~uint64_t(0); mark != b.events && b.block_bar[size_t(blk)].live > 0;) {
        mark = b.events;
        for (int k = 0; k < n; ++k) {
          const int t = blk * n + (reverse ? n - 1 - k : k);
          if (b.fibers[size_t(t)].done) continue;
          b.current = t;
          swapcontext(&b.sched, &b.fibers[size_t(t)].uc);
        }
      }
    }
    if (b.events == before && b.live > 0) {  // nobody moved: threads wait at different barriers
      b.error = "deadlock: the block's threads wait at barriers that cannot complete";
      return;  // the fibers are abandoned; their stacks are reused by the next launch
    }
  }
}

// Waits until the barrier's generation moves past its value at arrival; `live` arrivals release it.
void barrier(Bar& bar) {
  Block& b = *g_block;
  if (b.direct)
    throw std::logic_error("a barrier in a kernel whose first launch from this site reached none (data-dependent "
                           "barriers are not emulated)");
  b.barrier_seen = true;
  const uint64_t mine = bar.gen;
  ++b.events;
  if (++bar.arrived >= bar.live) {
    bar.arrived = 0;
    ++bar.gen;
    return;
  }
  while (bar.gen == mine) yield();
}

// Launch sites whose kernel reached no barrier on its first run: their threads run as plain calls.
std::mutex g_sites_mu;
std::set<const void*> g_barrier_free;

// Direct mode: every thread of the block called in turn on this stack; a barrier is an error.
void run_block_direct(Block& b, const Config& c, dim3 bidx) {
  const int n = int(c.block.x * c.block.y * c.block.z);
  b.fibers.assign(1, Fiber{});
  b.current = 0;
  b.n = n, b.blocks = 1;
  b.direct = true;
  b.shared.resize(1);
  if (b.shared[0].size() != b.smem) b.shared[0].assign(b.smem, 0), poison(b.shared[0]);
  Ctx& x = b.fibers[0].ctx;
  x.block = bidx, x.bdim = c.block, x.gdim = c.grid;
  static const bool reverse = std::getenv("MLCN_EMU_REVERSE") != nullptr;
  for (int k = 0; k < n; ++k) {
    const int t = reverse ? n - 1 - k : k;
    x.thread = dim3(unsigned(t) % c.block.x, (unsigned(t) / c.block.x) % c.block.y, unsigned(t) / (c.block.x * c.block.y));
    (*b.body)();
  }
}

void run_grid(const Config& c, const void* site, const std::function<void()>& body) {
  std::lock_guard<std::mutex> lock(g_launch_mu);
  bool direct;
  {
    std::lock_guard<std::mutex> sites(g_sites_mu);
    direct = c.cluster == 1 && g_barrier_free.count(site) > 0;
  }
  Block b;
  b.body = &body;
  b.smem = c.smem;
  g_block = &b;
  static const bool reverse = std::getenv("MLCN_EMU_REVERSE") != nullptr;  // blocks (clusters) in reverse too
  const uint64_t blocks = uint64_t(c.grid.x) * c.grid.y * c.grid.z, per = c.cluster;
  std::vector<dim3> bidx(per);
  for (uint64_t k = 0; k < blocks / per && b.error.empty(); ++k) {
    const uint64_t first = (reverse ? blocks / per - 1 - k : k) * per;  // clusters are consecutive along x
    for (uint64_t r = 0; r < per; ++r) {
      const uint64_t i = first + r;
      bidx[r] = dim3(unsigned(i % c.grid.x), unsigned(i / c.grid.x % c.grid.y), unsigned(i / (uint64_t(c.grid.x) * c.grid.y)));
    }
    if (direct) run_block_direct(b, c, bidx[0]);
    else run_blocks(b, c, bidx);
  }
  g_block = nullptr;
  if (!b.error.empty()) throw std::runtime_error("CUDA emulator: " + b.error);
  if (!direct && !b.barrier_seen && c.cluster == 1) {
    std::lock_guard<std::mutex> sites(g_sites_mu);
    g_barrier_free.insert(site);
  }
}

}  // namespace

const Ctx& ctx() { return g_block->fibers[size_t(g_block->current)].ctx; }

void sync_block() { barrier(g_block->block_bar[size_t(g_block->block_of(g_block->current))]); }

float shuffle_xor(float x, int mask) {
  Block& b = *g_block;
  const int t = b.current, warp = b.warp_of(t), lane = (t % b.n) % kWarp;
  b.slots[size_t(warp * kWarp + lane)] = x;
  barrier(b.warp_bar[size_t(warp)]);
  const int src = lane ^ mask;
  const bool valid = (t % b.n) - lane + src < b.n;  // the source thread exists in this block
  const float y = valid ? b.slots[size_t(warp * kWarp + src)] : x;
  barrier(b.warp_bar[size_t(warp)]);
  return y;
}

void* dynamic_shared_memory() {
  Block& b = *g_block;
  return b.shared[size_t(b.direct ? 0 : b.block_of(b.current))].data();
}

unsigned cluster_rank() {
  Block& b = *g_block;
  return b.direct ? 0u : unsigned(b.block_of(b.current));
}

unsigned cluster_size() { return unsigned(g_block->blocks); }

void sync_cluster() { barrier(g_block->cluster_bar); }

void* map_shared_rank(const void* p, unsigned rank) {
  Block& b = *g_block;
  auto& mine = b.shared[size_t(cluster_rank())];
  const auto* q = static_cast<const unsigned char*>(p);
  if (rank >= unsigned(b.blocks) || q < mine.data() || q >= mine.data() + mine.size())
    throw std::logic_error("__cluster_map_shared_rank: not a dynamic shared memory address of this block, or rank " +
                           std::to_string(rank) + " outside the cluster of " + std::to_string(b.blocks));
  return b.shared[rank].data() + (q - mine.data());
}

cudaError_t launch_body(const Config& c, const void* site, std::function<void()> body) {
  const uint64_t threads = uint64_t(c.block.x) * c.block.y * c.block.z;
  if (c.grid.x == 0 || c.grid.y == 0 || c.grid.z == 0 || threads == 0 || threads > 1024 || c.grid.y > 65535 ||
      c.grid.z > 65535) {
    set_error(cudaErrorInvalidConfiguration);
    return cudaErrorInvalidConfiguration;
  }
  if (c.smem > kMaxShared) {
    set_error(cudaErrorInvalidValue);
    return cudaErrorInvalidValue;
  }
  // Clusters along x only (what the project launches), at most the portable 8 blocks, and a grid
  // made of whole clusters, as CUDA requires.
  if (c.cluster == 0 || c.cluster > kMaxCluster || c.grid.x % c.cluster != 0) {
    set_error(cudaErrorInvalidClusterSize);
    return cudaErrorInvalidClusterSize;
  }
  submit(c.stream, Work::Kernel, [c, site, body = std::move(body)] { run_grid(c, site, body); });
  return cudaSuccess;
}

}  // namespace mlcn_emu
