// Unfused dynamic routing, the reference variant: the host walks the iterations and launches
// one kernel per stage, with b, c, s, v and the gradients in a global workspace from the caching
// allocator. The stages are the block functions of routing_blocks.cuh that the fused kernels
// chain, with the same block size where it matters (the sums over i), so with one slice both
// variants give identical bits.
// Slices (the Split variant): the grid is (images, slices) and block (b, p) handles the p-th
// contiguous range of image b's N input capsules in every stage that works row by row (softmax,
// agreement, gradient update, softmax backward). A sum over i runs in two phases: each block
// writes its range's partial (J, D) sum, then one block per image adds the slices' partials in
// slice order (deterministic, but not the one-slice order: agreement with it is to rounding).
// Squash stages work per image. One slice is the plain unfused variant.
#include "kernels/cuda_context.h"

#include <algorithm>

#include "kernels/allocator.h"
#include "kernels/routing.cuh"
#include "kernels/routing_blocks.cuh"

namespace mlcn::kernels {
namespace {

// One image's slice of a batched array: p + blockIdx.x * stride (p may be null: "absent"); row(r,
// w) moves r rows of w floats further in, keeping null null.
struct Slab {
  float* p = nullptr;
  int64_t stride = 0;
  __device__ float* at() const { return p ? p + blockIdx.x * stride : nullptr; }
  __device__ float* row(int r, int w) const { return p ? at() + int64_t(r) * w : nullptr; }
};
struct CSlab {
  const float* p = nullptr;
  int64_t stride = 0;
  __device__ const float* at() const { return p ? p + blockIdx.x * stride : nullptr; }
  __device__ const float* row(int r, int w) const { return p ? at() + int64_t(r) * w : nullptr; }
};

// This block's range [i0, i0 + n) of the N input capsules: slice blockIdx.y of gridDim.y.
struct Rows {
  int i0, n;
};
__device__ Rows my_rows(int N) {
  const int per = (N + int(gridDim.y) - 1) / int(gridDim.y), i0 = int(blockIdx.y) * per;
  return {i0, i0 < N ? min(per, N - i0) : 0};
}

__global__ void routing_softmax_kernel(Slab c, CSlab b, int N, int J) {
  const Rows r = my_rows(N);
  blk_softmax(c.row(r.i0, J), b.row(r.i0, J), r.n, J);
}

// One slice: out (J, D) = the sum. Several: part (slices, J, D) per image gets this slice's sum.
__global__ void __launch_bounds__(kRoutingThreads)
    routing_wsum_kernel(Slab out, Slab part_out, CSlab w, float wc, CSlab uh, int N, int J, int D) {
  __shared__ float part[kRoutingThreads];
  const Rows r = my_rows(N);
  float* dst = gridDim.y == 1 ? out.at() : part_out.row(int(blockIdx.y), J * D);
  blk_weighted_sum(dst, w.row(r.i0, J), wc, uh.row(r.i0, J * D), r.n, J, D, part);
}

// out (J, D) = sum over the slices of part (slices, J, D), in slice order.
__global__ void routing_wsum_reduce_kernel(Slab out, CSlab part, int slices, int JD) {
  for (int e = threadIdx.x; e < JD; e += blockDim.x) {
    float acc = 0.f;
    for (int k = 0; k < slices; ++k) acc += part.at()[int64_t(k) * JD + e];
    out.at()[e] = acc;
  }
}

__global__ void routing_squash_kernel(Slab v, CSlab s, int J, int D) { blk_squash(v.at(), s.at(), J, D); }

__global__ void routing_squash_backward_kernel(Slab ds, CSlab dv, CSlab s, int J, int D) {
  blk_squash_backward(ds.at(), dv.at(), s.at(), J, D);
}

__global__ void routing_dot_kernel(Slab out, CSlab uh, CSlab x, int N, int J, int D, bool accumulate) {
  const Rows r = my_rows(N);
  blk_dot(out.row(r.i0, J), uh.row(r.i0, J * D), x.at(), r.n, J, D, accumulate);
}

__global__ void routing_grad_update_kernel(Slab g, CSlab db, CSlab v, CSlab c, float cc, CSlab ds, int N, int J,
                                           int D) {
  const Rows r = my_rows(N);
  blk_grad_update(g.row(r.i0, J * D), db.row(r.i0, J), v.at(), c.row(r.i0, J), cc, ds.at(), r.n, J, D);
}

__global__ void routing_softmax_backward_kernel(Slab db, CSlab c, float cc, CSlab dc, int N, int J) {
  const Rows r = my_rows(N);
  blk_softmax_backward(db.row(r.i0, J), c.row(r.i0, J), cc, dc.row(r.i0, J), r.n, J);
}

CSlab cs(const Slab& s) { return {s.p, s.stride}; }
Slab offset(const Slab& s, int64_t off) { return {s.p + off, s.stride}; }

// Launch helpers: grid (images, slices) for the row stages, one block per image for the rest.
// part: (B, slices, J, D) scratch for the two-phase sums (unused with one slice).
struct Stages {
  unsigned B;
  int N, J, D;
  unsigned P;  // slices per image
  Slab part;
  cudaStream_t s;
  dim3 rows() const { return dim3(B, P); }
  void softmax(Slab c, CSlab b) const {
    routing_softmax_kernel<<<rows(), kThreads, 0, s>>>(c, b, N, J);
    MLCN_CUDA_LAUNCH_CHECK();
  }
  void wsum(Slab out, CSlab w, float wc, CSlab uh) const {
    routing_wsum_kernel<<<rows(), kRoutingThreads, 0, s>>>(out, part, w, wc, uh, N, J, D);
    MLCN_CUDA_LAUNCH_CHECK();
    if (P == 1) return;
    routing_wsum_reduce_kernel<<<B, kThreads, 0, s>>>(out, cs(part), int(P), J * D);
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
    routing_dot_kernel<<<rows(), kThreads, 0, s>>>(out, uh, x, N, J, D, accumulate);
    MLCN_CUDA_LAUNCH_CHECK();
  }
  void grad_update(Slab g, CSlab db, CSlab v, CSlab c, float cc, CSlab ds) const {
    routing_grad_update_kernel<<<rows(), kThreads, 0, s>>>(g, db, v, c, cc, ds, N, J, D);
    MLCN_CUDA_LAUNCH_CHECK();
  }
  void softmax_backward(Slab db, CSlab c, float cc, CSlab dc) const {
    routing_softmax_backward_kernel<<<rows(), kThreads, 0, s>>>(db, c, cc, dc, N, J);
    MLCN_CUDA_LAUNCH_CHECK();
  }
};

// Slices no larger than needed: at most N (every slice keeps at least one capsule) and 65535.
unsigned clamp_slices(int slices, int64_t N) {
  MLCN_CHECK(slices >= 1, "routing: " << slices << " slices per image");
  return unsigned(std::min<int64_t>({int64_t(slices), N, 65535}));
}

void check_shape(int64_t B, int64_t N, int64_t J, int64_t D, int iters) {
  MLCN_CHECK(B < (int64_t(1) << 31) && N > 0 && J > 0 && D > 0 && N * J * D <= (int64_t(1) << 31) - 1 - kRoutingThreads && iters >= 1,
             "routing: unsupported shape B=" << B << " N=" << N << " J=" << J << " D=" << D << " iters=" << iters);
}

}  // namespace

void routing_unfused_forward_cuda(float* v, const float* uhat, int64_t B, int64_t N, int64_t J, int64_t D, int iters,
                                  cudaStream_t s, int slices) {
  if (B <= 0) return;
  check_shape(B, N, J, D, iters);
  const int64_t NJ = N * J, JD = J * D;
  const unsigned P = clamp_slices(slices, N);
  const int64_t part = P > 1 ? P * JD : 0;  // per image
  DeviceBuffer ws(size_t(B * (2 * NJ + 2 * JD + part)) * sizeof(float), s);
  Slab bl{ws.as<float>(), NJ}, c{bl.p + B * NJ, NJ}, sv{c.p + B * NJ, JD}, vt{sv.p + B * JD, JD};
  const Stages st{unsigned(B), int(N), int(J), int(D), P, Slab{part ? vt.p + B * JD : nullptr, part}, s};
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
                                   int64_t D, int iters, bool stop_grad, cudaStream_t s, int slices) {
  if (B <= 0) return;
  check_shape(B, N, J, D, iters);
  const int64_t NJ = N * J, JD = J * D, T = iters;
  const unsigned P = clamp_slices(slices, N);
  const int64_t part = P > 1 ? P * JD : 0;  // per image
  DeviceBuffer ws(size_t(B * ((T + 1) * NJ + 2 * (T + 1) * JD + part)) * sizeof(float), s);
  // Per image: cs (T-1, N, J), bd (N, J), dc (N, J), s_all (T, J, D), v_all (T, J, D), dvt, ds (J, D).
  float* base = ws.as<float>();
  const Slab c_all{base, (T - 1) * NJ};
  const Slab bd{base + B * (T - 1) * NJ, NJ}, dc{bd.p + B * NJ, NJ};
  const Slab s_all{dc.p + B * NJ, T * JD}, v_all{s_all.p + B * T * JD, T * JD};
  const Slab dvt{v_all.p + B * T * JD, JD}, ds{dvt.p + B * JD, JD};
  const Stages st{unsigned(B), int(N), int(J), int(D), P, Slab{part ? ds.p + B * JD : nullptr, part}, s};
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
