// The emulator's thread scheduler (tests/emu/emu.h): a launch runs block by block, each block's
// CUDA threads as ucontext fibers that switch only at __syncthreads and warp shuffles. Between
// barriers the threads run one after the other, in index order, or (threads and blocks) in
// reverse order when MLCN_EMU_REVERSE is set: a missing barrier (a race) shows up as a wrong
// result in at least one of the two orders. A barrier some threads skip or exit before, and a
// deadlock, are errors.
// A launch site whose kernel reached no barrier on its first launch runs its threads as plain
// calls afterwards (most elementwise kernels), which keeps the emulated tests fast.
#include <ucontext.h>

#include <cstdlib>
#include <cstring>
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

// The block being run. Barriers count arrivals per generation; a waiting fiber yields to the
// scheduler until its barrier's generation moves on.
struct Block {
  std::vector<Fiber> fibers;
  ucontext_t sched;
  int current = -1, live = 0;
  int arrived = 0;
  uint64_t gen = 0;
  std::vector<int> warp_arrived, warp_live;
  std::vector<uint64_t> warp_gen;
  std::vector<float> slots;  // (warps, 32) shuffle exchange
  std::vector<unsigned char> shared;
  const std::function<void()>* body = nullptr;
  uint64_t events = 0;  // arrivals, releases and exits: progress for the deadlock check
  bool barrier_seen = false, direct = false;
  std::string error;
};

Block* g_block = nullptr;
std::mutex g_launch_mu;
std::vector<char> g_stacks;

void yield() { swapcontext(&g_block->fibers[size_t(g_block->current)].uc, &g_block->sched); }

void fiber_main() {
  Block& b = *g_block;
  Fiber& f = b.fibers[size_t(b.current)];
  try {
    (*b.body)();
  } catch (const std::exception& e) {
    if (b.error.empty()) b.error = std::string("exception in a thread: ") + e.what();
  }
  f.done = true;
  --b.live;
  ++b.events;
  const int warp = b.current / kWarp;
  --b.warp_live[size_t(warp)];
  // A thread that leaves while others wait at a barrier: the barrier is divergent (undefined
  // behaviour in CUDA); reported, and the waiters are released so the launch can finish.
  if (b.arrived > 0 && b.error.empty()) b.error = "a thread exited while others waited at __syncthreads";
  if (b.warp_arrived[size_t(warp)] > 0 && b.error.empty())
    b.error = "a thread exited while its warp waited in a shuffle";
  if (b.arrived > 0 && b.arrived >= b.live) b.arrived = 0, ++b.gen;
  if (b.warp_arrived[size_t(warp)] > 0 && b.warp_arrived[size_t(warp)] >= b.warp_live[size_t(warp)])
    b.warp_arrived[size_t(warp)] = 0, ++b.warp_gen[size_t(warp)];
}

void run_block(Block& b, const Config& c, dim3 bidx) {
  const int n = int(c.block.x * c.block.y * c.block.z);
  b.fibers.assign(size_t(n), Fiber{});
  b.live = n;
  b.arrived = 0;
  const int warps = (n + kWarp - 1) / kWarp;
  b.warp_arrived.assign(size_t(warps), 0);
  b.warp_gen.assign(size_t(warps), 0);
  b.warp_live.assign(size_t(warps), 0);
  for (int t = 0; t < n; ++t) ++b.warp_live[size_t(t / kWarp)];
  b.slots.assign(size_t(warps * kWarp), 0.f);
  // Shared memory starts as NaN, so a kernel reading what it never wrote fails its test.
  const uint32_t poison = 0x7fc0dead;
  for (size_t i = 0; i + 4 <= b.shared.size(); i += 4) std::memcpy(&b.shared[i], &poison, 4);
  if (g_stacks.size() < size_t(n) * kStack) g_stacks.resize(size_t(n) * kStack);
  for (int t = 0; t < n; ++t) {
    Fiber& f = b.fibers[size_t(t)];
    f.ctx.thread = dim3(unsigned(t) % c.block.x, (unsigned(t) / c.block.x) % c.block.y,
                        unsigned(t) / (c.block.x * c.block.y));
    f.ctx.block = bidx;
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
    for (int k = 0; k < n; ++k) {
      const int t = reverse ? n - 1 - k : k;
      if (b.fibers[size_t(t)].done) continue;
      b.current = t;
      swapcontext(&b.sched, &b.fibers[size_t(t)].uc);
    }
    if (b.events == before && b.live > 0) {  // nobody moved: threads wait at different barriers
      b.error = "deadlock: the block's threads wait at barriers that cannot complete";
      return;  // the fibers are abandoned; their stacks are reused by the next launch
    }
  }
}

// Waits until `gen` moves past its value at arrival; `count` arrivals out of `live` release it.
void barrier(int& arrived, uint64_t& gen, int live) {
  Block& b = *g_block;
  if (b.direct)
    throw std::logic_error("a barrier in a kernel whose first launch from this site reached none (data-dependent "
                           "barriers are not emulated)");
  b.barrier_seen = true;
  const uint64_t mine = gen;
  ++b.events;
  if (++arrived >= live) {
    arrived = 0;
    ++gen;
    return;
  }
  while (gen == mine) yield();
}

// Launch sites whose kernel reached no barrier on its first run: their threads run as plain calls.
std::mutex g_sites_mu;
std::set<const void*> g_barrier_free;

// Direct mode: every thread of the block called in turn on this stack; a barrier is an error.
void run_block_direct(Block& b, const Config& c, dim3 bidx) {
  const int n = int(c.block.x * c.block.y * c.block.z);
  b.fibers.assign(1, Fiber{});
  b.current = 0;
  b.direct = true;
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
    direct = g_barrier_free.count(site) > 0;
  }
  Block b;
  b.body = &body;
  b.shared.assign(c.smem, 0);
  g_block = &b;
  static const bool reverse = std::getenv("MLCN_EMU_REVERSE") != nullptr;  // blocks in reverse too
  const uint64_t blocks = uint64_t(c.grid.x) * c.grid.y * c.grid.z;
  for (uint64_t k = 0; k < blocks && b.error.empty(); ++k) {
    const uint64_t i = reverse ? blocks - 1 - k : k;
    const dim3 bidx(unsigned(i % c.grid.x), unsigned(i / c.grid.x % c.grid.y), unsigned(i / (uint64_t(c.grid.x) * c.grid.y)));
    if (direct) run_block_direct(b, c, bidx);
    else run_block(b, c, bidx);
  }
  g_block = nullptr;
  if (!b.error.empty()) throw std::runtime_error("CUDA emulator: " + b.error);
  if (!direct && !b.barrier_seen) {
    std::lock_guard<std::mutex> sites(g_sites_mu);
    g_barrier_free.insert(site);
  }
}

}  // namespace

const Ctx& ctx() { return g_block->fibers[size_t(g_block->current)].ctx; }

void sync_block() { barrier(g_block->arrived, g_block->gen, g_block->live); }

float shuffle_xor(float x, int mask) {
  Block& b = *g_block;
  const int t = b.current, warp = t / kWarp, lane = t % kWarp;
  b.slots[size_t(t)] = x;
  barrier(b.warp_arrived[size_t(warp)], b.warp_gen[size_t(warp)], b.warp_live[size_t(warp)]);
  const int src = warp * kWarp + (lane ^ mask);
  const float y = src < int(b.fibers.size()) ? b.slots[size_t(src)] : x;
  barrier(b.warp_arrived[size_t(warp)], b.warp_gen[size_t(warp)], b.warp_live[size_t(warp)]);
  return y;
}

void* dynamic_shared_memory() { return g_block->shared.data(); }

void launch_body(const Config& c, const void* site, std::function<void()> body) {
  const uint64_t threads = uint64_t(c.block.x) * c.block.y * c.block.z;
  if (c.grid.x == 0 || c.grid.y == 0 || c.grid.z == 0 || threads == 0 || threads > 1024 || c.grid.y > 65535 ||
      c.grid.z > 65535) {
    set_error(cudaErrorInvalidConfiguration);
    return;
  }
  if (c.smem > kMaxShared) {
    set_error(cudaErrorInvalidValue);
    return;
  }
  submit(c.stream, Work::Kernel, [c, site, body = std::move(body)] { run_grid(c, site, body); });
}

}  // namespace mlcn_emu
