// Unfused dynamic routing, the reference variant: the host walks the iterations and launches
// one kernel per stage (grid = one block per image), with b, c, s, v and the gradients in a
// global workspace from the caching allocator. The stages are the block functions of
// routing_blocks.cuh that the fused kernels chain, with the same block size where it matters
// (the sums over i), so both variants give identical bits.
#include "kernels/cuda_context.h"

#include "kernels/allocator.h"
#include "kernels/routing.cuh"
#include "kernels/routing_blocks.cuh"

namespace mlcn::kernels {
namespace {

// One image's slice of a batched array: p + blockIdx.x * stride (p may be null: "absent").
struct Slab {
  float* p = nullptr;
  int64_t stride = 0;
  __device__ float* at() const { return p ? p + blockIdx.x * stride : nullptr; }
};
struct CSlab {
  const float* p = nullptr;
  int64_t stride = 0;
  __device__ const float* at() const { return p ? p + blockIdx.x * stride : nullptr; }
};

__global__ void routing_softmax_kernel(Slab c, CSlab b, int N, int J) { blk_softmax(c.at(), b.at(), N, J); }

__global__ void __launch_bounds__(kRoutingThreads)
    routing_wsum_kernel(Slab out, CSlab w, float wc, CSlab uh, int N, int J, int D) {
  __shared__ float part[kRoutingThreads];
  blk_weighted_sum(out.at(), w.at(), wc, uh.at(), N, J, D, part);
}

__global__ void routing_squash_kernel(Slab v, CSlab s, int J, int D) { blk_squash(v.at(), s.at(), J, D); }

__global__ void routing_squash_backward_kernel(Slab ds, CSlab dv, CSlab s, int J, int D) {
  blk_squash_backward(ds.at(), dv.at(), s.at(), J, D);
}

__global__ void routing_dot_kernel(Slab out, CSlab uh, CSlab x, int N, int J, int D, bool accumulate) {
  blk_dot(out.at(), uh.at(), x.at(), N, J, D, accumulate);
}

__global__ void routing_grad_update_kernel(Slab g, CSlab db, CSlab v, CSlab c, float cc, CSlab ds, int N, int J,
                                           int D) {
  blk_grad_update(g.at(), db.at(), v.at(), c.at(), cc, ds.at(), N, J, D);
}

__global__ void routing_softmax_backward_kernel(Slab db, CSlab c, float cc, CSlab dc, int N, int J) {
  blk_softmax_backward(db.at(), c.at(), cc, dc.at(), N, J);
}

CSlab cs(const Slab& s) { return {s.p, s.stride}; }
Slab offset(const Slab& s, int64_t off) { return {s.p + off, s.stride}; }

// Launch helpers: the grid is one block per image for every stage.
struct Stages {
  unsigned B;
  int N, J, D;
  cudaStream_t s;
  void softmax(Slab c, CSlab b) const {
    routing_softmax_kernel<<<B, kThreads, 0, s>>>(c, b, N, J);
    MLCN_CUDA_LAUNCH_CHECK();
  }
  void wsum(Slab out, CSlab w, float wc, CSlab uh) const {
    routing_wsum_kernel<<<B, kRoutingThreads, 0, s>>>(out, w, wc, uh, N, J, D);
    MLCN_CUDA_LAUNCH_CHECK();
  }
  void squash(Slab v, CSlab sv) const {
    routing_squash_kernel<<<B, 32, 0, s>>>(v, sv, J, D);
    MLCN_CUDA_LAUNCH_CHECK();
  }
  void squash_backward(Slab ds, CSlab dv, CSlab sv) const {
    routing_squash_backward_kernel<<<B, 32, 0, s>>>(ds, dv, sv, J, D);
    MLCN_CUDA_LAUNCH_CHECK();
  }
  void dot(Slab out, CSlab uh, CSlab x, bool accumulate) const {
    routing_dot_kernel<<<B, kThreads, 0, s>>>(out, uh, x, N, J, D, accumulate);
    MLCN_CUDA_LAUNCH_CHECK();
  }
  void grad_update(Slab g, CSlab db, CSlab v, CSlab c, float cc, CSlab ds) const {
    routing_grad_update_kernel<<<B, kThreads, 0, s>>>(g, db, v, c, cc, ds, N, J, D);
    MLCN_CUDA_LAUNCH_CHECK();
  }
  void softmax_backward(Slab db, CSlab c, float cc, CSlab dc) const {
    routing_softmax_backward_kernel<<<B, kThreads, 0, s>>>(db, c, cc, dc, N, J);
    MLCN_CUDA_LAUNCH_CHECK();
  }
};

void check_shape(int64_t B, int64_t N, int64_t J, int64_t D, int iters) {
  MLCN_CHECK(B < (int64_t(1) << 31) && N > 0 && J > 0 && D > 0 && N * J * D <= (int64_t(1) << 31) - 1 - kRoutingThreads && iters >= 1,
             "routing: unsupported shape B=" << B << " N=" << N << " J=" << J << " D=" << D << " iters=" << iters);
}

}  // namespace

void routing_unfused_forward_cuda(float* v, const float* uhat, int64_t B, int64_t N, int64_t J, int64_t D, int iters,
                                  cudaStream_t s) {
  if (B <= 0) return;
  check_shape(B, N, J, D, iters);
  const int64_t NJ = N * J, JD = J * D;
  DeviceBuffer ws(size_t(B * (2 * NJ + 2 * JD)) * sizeof(float), s);
  Slab bl{ws.as<float>(), NJ}, c{bl.p + B * NJ, NJ}, sv{c.p + B * NJ, JD}, vt{sv.p + B * JD, JD};
  const Stages st{unsigned(B), int(N), int(J), int(D), s};
  const CSlab uh{uhat, NJ * D};
  const float c0 = 1.f / float(J);
  for (int t = 0; t < iters; ++t) {
    if (t > 0) st.softmax(c, cs(bl));
    st.wsum(sv, t > 0 ? cs(c) : CSlab{}, c0, uh);
    const bool last = t + 1 == iters;
    st.squash(last ? Slab{v, JD} : vt, cs(sv));
    if (!last) st.dot(bl, uh, cs(vt), t > 0);
  }
}

void routing_unfused_backward_cuda(float* duhat, const float* dv, const float* uhat, int64_t B, int64_t N, int64_t J,
                                   int64_t D, int iters, bool stop_grad, cudaStream_t s) {
  if (B <= 0) return;
  check_shape(B, N, J, D, iters);
  const int64_t NJ = N * J, JD = J * D, T = iters;
  DeviceBuffer ws(size_t(B * ((T + 1) * NJ + 2 * (T + 1) * JD)) * sizeof(float), s);
  // Per image: cs (T-1, N, J), bd (N, J), dc (N, J), s_all (T, J, D), v_all (T, J, D), dvt, ds (J, D).
  float* base = ws.as<float>();
  const Slab c_all{base, (T - 1) * NJ};
  const Slab bd{base + B * (T - 1) * NJ, NJ}, dc{bd.p + B * NJ, NJ};
  const Slab s_all{dc.p + B * NJ, T * JD}, v_all{s_all.p + B * T * JD, T * JD};
  const Slab dvt{v_all.p + B * T * JD, JD}, ds{dvt.p + B * JD, JD};
  const Stages st{unsigned(B), int(N), int(J), int(D), s};
  const CSlab uh{uhat, NJ * D};
  const Slab g{duhat, NJ * D};
  const float c0 = 1.f / float(J);
  auto c_at = [&](int t) { return t > 0 ? offset(c_all, (t - 1) * NJ) : Slab{}; };
  for (int t = 0; t < iters; ++t) {
    if (t > 0) st.softmax(c_at(t), cs(bd));
    st.wsum(offset(s_all, t * JD), cs(c_at(t)), c0, uh);
    st.squash(offset(v_all, t * JD), cs(offset(s_all, t * JD)));
    if (t + 1 < iters) st.dot(bd, uh, cs(offset(v_all, t * JD)), t > 0);
  }
  MLCN_CUDA_CHECK(cudaMemsetAsync(bd.p, 0, size_t(B * NJ) * sizeof(float), s));
  for (int t = iters - 1; t >= 0; --t) {
    const bool later = t + 1 < iters;
    if (later) st.wsum(dvt, cs(bd), 0.f, uh);
    st.squash_backward(ds, later ? cs(dvt) : CSlab{dv, JD}, cs(offset(s_all, t * JD)));
    st.grad_update(g, later ? cs(bd) : CSlab{}, cs(offset(v_all, t * JD)), cs(c_at(t)), c0, cs(ds));
    if (stop_grad || t == 0) break;
    st.dot(dc, uh, cs(ds), false);
    st.softmax_backward(bd, cs(c_at(t)), c0, cs(dc));
  }
}

}  // namespace mlcn::kernels
