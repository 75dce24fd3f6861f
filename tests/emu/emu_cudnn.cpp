// The cuDNN calls of kernels/conv.cu, emulated from cuDNN's documented definitions so that the
// project's descriptor set-up, padding path, group count and beta handling run in CI: 4-D NHWC
// or NCHW tensors and filters (filter (K, R, S, C/groups) or (K, C/groups, R, S)), 2-D
// cross-correlation with symmetric zero padding, stride and dilation, y = alpha conv(x, w) + beta
// y (y not read when beta = 0), the data and filter gradients likewise. Sums are in double. The
// algorithm searches report one algorithm without running anything, or, for the directions a
// test marked with set_cudnn_unsupported (emu_internal.h), one with CUDNN_STATUS_NOT_SUPPORTED,
// as cuDNN does for a layout it has no kernel for. Work goes to the handle's stream (captured
// like kernels).
#include <cudnn.h>

#include <vector>

#include "tests/emu/emu_internal.h"

struct cudnnContext {
  cudaStream_t stream = nullptr;
};
struct cudnnTensorStruct {
  int n = 0, c = 0, h = 0, w = 0;
  bool nhwc = true;
};
struct cudnnFilterStruct {
  int k = 0, c = 0, r = 0, s = 0;
  bool nhwc = true;
};
struct cudnnConvolutionStruct {
  int pad_h = 0, pad_w = 0, u = 1, v = 1, dil_h = 1, dil_w = 1, groups = 1;
  cudnnMathType_t math = CUDNN_DEFAULT_MATH;
};

namespace {

// The index arithmetic of one convolution, shared by the three directions.
struct Geometry {
  int N, H, W, C, K, R, S, Cg, Kg, OH, OW;
  int ph, pw, u, v, dh, dw;
  bool x_nhwc, y_nhwc, f_nhwc;
  size_t x(int n, int h, int w, int c) const {
    return x_nhwc ? ((size_t(n) * H + h) * W + w) * C + c : ((size_t(n) * C + c) * H + h) * W + w;
  }
  size_t y(int n, int h, int w, int k) const {
    return y_nhwc ? ((size_t(n) * OH + h) * OW + w) * K + k : ((size_t(n) * K + k) * OH + h) * OW + w;
  }
  size_t f(int k, int r, int s, int c) const {
    return f_nhwc ? ((size_t(k) * R + r) * S + s) * Cg + c : ((size_t(k) * Cg + c) * R + r) * S + s;
  }
};

bool geometry(const cudnnTensorStruct* xd, const cudnnFilterStruct* wd, const cudnnConvolutionStruct* cd,
              const cudnnTensorStruct* yd, Geometry& g) {
  if (cd->groups < 1 || xd->c % cd->groups || wd->k % cd->groups || wd->c * cd->groups != xd->c || yd->c != wd->k ||
      yd->n != xd->n)
    return false;
  g = {xd->n, xd->h, xd->w, xd->c, wd->k, wd->r, wd->s, wd->c, wd->k / cd->groups, yd->h, yd->w,
       cd->pad_h, cd->pad_w, cd->u, cd->v, cd->dil_h, cd->dil_w, xd->nhwc, yd->nhwc, wd->nhwc};
  const int oh = (g.H + 2 * g.ph - g.dh * (g.R - 1) - 1) / g.u + 1, ow = (g.W + 2 * g.pw - g.dw * (g.S - 1) - 1) / g.v + 1;
  return oh == g.OH && ow == g.OW;
}

// Calls fn(n, oh, ow, k, r, s, c, input h, input w) for every term of the sum that is inside the image.
template <class Fn> void for_each_term(const Geometry& g, Fn fn) {
  for (int n = 0; n < g.N; ++n)
    for (int oh = 0; oh < g.OH; ++oh)
      for (int ow = 0; ow < g.OW; ++ow)
        for (int k = 0; k < g.K; ++k)
          for (int r = 0; r < g.R; ++r) {
            const int ih = oh * g.u - g.ph + r * g.dh;
            if (ih < 0 || ih >= g.H) continue;
            for (int s = 0; s < g.S; ++s) {
              const int iw = ow * g.v - g.pw + s * g.dw;
              if (iw < 0 || iw >= g.W) continue;
              for (int c = 0; c < g.Cg; ++c) fn(n, oh, ow, k, r, s, c, ih, iw);
            }
          }
}

// out[i] = alpha acc[i] + beta out[i] (out not read when beta = 0)
void blend(float* out, const std::vector<double>& acc, const void* alpha, const void* beta) {
  const float a = *static_cast<const float*>(alpha), b = *static_cast<const float*>(beta);
  for (size_t i = 0; i < acc.size(); ++i) out[i] = float(a * acc[i] + (b == 0.f ? 0.0 : double(b) * out[i]));
}

int g_unsupported[2] = {0, 0};  // [0: NHWC, 1: NCHW]: bit d set, direction d has no algorithm

template <class Perf>
cudnnStatus_t one_algorithm(int requested, int* returned, Perf* perf, cudnnMathType_t math, int dir, bool nhwc) {
  if (requested < 1) return CUDNN_STATUS_BAD_PARAM;
  perf[0] = Perf{};
  perf[0].status = (g_unsupported[nhwc ? 0 : 1] >> dir) & 1 ? CUDNN_STATUS_NOT_SUPPORTED : CUDNN_STATUS_SUCCESS;
  perf[0].time = 0.1f;
  perf[0].memory = 0;
  perf[0].determinism = CUDNN_DETERMINISTIC;
  perf[0].mathType = math;
  *returned = 1;
  return CUDNN_STATUS_SUCCESS;
}

}  // namespace

void mlcn_emu::set_cudnn_unsupported(int nhwc_directions, int nchw_directions) {
  g_unsupported[0] = nhwc_directions;
  g_unsupported[1] = nchw_directions;
}

extern "C" {

size_t cudnnGetVersion(void) { return CUDNN_VERSION; }
const char* cudnnGetErrorString(cudnnStatus_t s) {
  return s == CUDNN_STATUS_SUCCESS ? "CUDNN_STATUS_SUCCESS" : s == CUDNN_STATUS_BAD_PARAM ? "CUDNN_STATUS_BAD_PARAM"
                                                                                          : "emulated cuDNN error";
}
cudnnStatus_t cudnnCreate(cudnnHandle_t* h) {
  *h = new cudnnContext;
  return CUDNN_STATUS_SUCCESS;
}
cudnnStatus_t cudnnSetStream(cudnnHandle_t h, cudaStream_t s) {
  h->stream = s;
  return CUDNN_STATUS_SUCCESS;
}
cudnnStatus_t cudnnCreateTensorDescriptor(cudnnTensorDescriptor_t* d) {
  *d = new cudnnTensorStruct;
  return CUDNN_STATUS_SUCCESS;
}
cudnnStatus_t cudnnSetTensor4dDescriptor(cudnnTensorDescriptor_t d, cudnnTensorFormat_t f, cudnnDataType_t t, int n,
                                         int c, int h, int w) {
  if (t != CUDNN_DATA_FLOAT || n < 1 || c < 1 || h < 1 || w < 1) return CUDNN_STATUS_BAD_PARAM;
  *d = {n, c, h, w, f == CUDNN_TENSOR_NHWC};
  return CUDNN_STATUS_SUCCESS;
}
cudnnStatus_t cudnnCreateFilterDescriptor(cudnnFilterDescriptor_t* d) {
  *d = new cudnnFilterStruct;
  return CUDNN_STATUS_SUCCESS;
}
cudnnStatus_t cudnnSetFilter4dDescriptor(cudnnFilterDescriptor_t d, cudnnDataType_t t, cudnnTensorFormat_t f, int k,
                                         int c, int h, int w) {
  if (t != CUDNN_DATA_FLOAT || k < 1 || c < 1 || h < 1 || w < 1) return CUDNN_STATUS_BAD_PARAM;
  *d = {k, c, h, w, f == CUDNN_TENSOR_NHWC};
  return CUDNN_STATUS_SUCCESS;
}
cudnnStatus_t cudnnCreateConvolutionDescriptor(cudnnConvolutionDescriptor_t* d) {
  *d = new cudnnConvolutionStruct;
  return CUDNN_STATUS_SUCCESS;
}
cudnnStatus_t cudnnSetConvolution2dDescriptor(cudnnConvolutionDescriptor_t d, int ph, int pw, int u, int v, int dh,
                                              int dw, cudnnConvolutionMode_t mode, cudnnDataType_t t) {
  if (ph < 0 || pw < 0 || u < 1 || v < 1 || dh < 1 || dw < 1 || mode != CUDNN_CROSS_CORRELATION ||
      t != CUDNN_DATA_FLOAT)
    return CUDNN_STATUS_BAD_PARAM;
  d->pad_h = ph, d->pad_w = pw, d->u = u, d->v = v, d->dil_h = dh, d->dil_w = dw;
  return CUDNN_STATUS_SUCCESS;
}
cudnnStatus_t cudnnSetConvolutionMathType(cudnnConvolutionDescriptor_t d, cudnnMathType_t m) {
  d->math = m;
  return CUDNN_STATUS_SUCCESS;
}
cudnnStatus_t cudnnSetConvolutionGroupCount(cudnnConvolutionDescriptor_t d, int groups) {
  if (groups < 1) return CUDNN_STATUS_BAD_PARAM;
  d->groups = groups;
  return CUDNN_STATUS_SUCCESS;
}
cudnnStatus_t cudnnGetConvolution2dForwardOutputDim(const cudnnConvolutionDescriptor_t cd,
                                                    const cudnnTensorDescriptor_t xd,
                                                    const cudnnFilterDescriptor_t wd, int* n, int* c, int* h, int* w) {
  const int eh = cd->dil_h * (wd->r - 1) + 1, ew = cd->dil_w * (wd->s - 1) + 1;
  if (xd->h + 2 * cd->pad_h < eh || xd->w + 2 * cd->pad_w < ew || wd->c * cd->groups != xd->c)
    return CUDNN_STATUS_BAD_PARAM;
  *n = xd->n, *c = wd->k;
  *h = (xd->h + 2 * cd->pad_h - eh) / cd->u + 1;
  *w = (xd->w + 2 * cd->pad_w - ew) / cd->v + 1;
  return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnFindConvolutionForwardAlgorithmEx(cudnnHandle_t, const cudnnTensorDescriptor_t xd, const void*,
                                                     const cudnnFilterDescriptor_t, const void*,
                                                     const cudnnConvolutionDescriptor_t cd,
                                                     const cudnnTensorDescriptor_t, void*, const int requested,
                                                     int* returned, cudnnConvolutionFwdAlgoPerf_t* perf, void*, size_t) {
  return one_algorithm(requested, returned, perf, cd->math, 0, xd->nhwc);
}
cudnnStatus_t cudnnGetConvolutionForwardAlgorithm_v7(cudnnHandle_t, const cudnnTensorDescriptor_t xd,
                                                     const cudnnFilterDescriptor_t,
                                                     const cudnnConvolutionDescriptor_t cd,
                                                     const cudnnTensorDescriptor_t, const int requested, int* returned,
                                                     cudnnConvolutionFwdAlgoPerf_t* perf) {
  return one_algorithm(requested, returned, perf, cd->math, 0, xd->nhwc);
}
cudnnStatus_t cudnnFindConvolutionBackwardDataAlgorithmEx(cudnnHandle_t, const cudnnFilterDescriptor_t wd, const void*,
                                                          const cudnnTensorDescriptor_t, const void*,
                                                          const cudnnConvolutionDescriptor_t cd,
                                                          const cudnnTensorDescriptor_t, void*, const int requested,
                                                          int* returned, cudnnConvolutionBwdDataAlgoPerf_t* perf,
                                                          void*, size_t) {
  return one_algorithm(requested, returned, perf, cd->math, 1, wd->nhwc);
}
cudnnStatus_t cudnnGetConvolutionBackwardDataAlgorithm_v7(cudnnHandle_t, const cudnnFilterDescriptor_t wd,
                                                          const cudnnTensorDescriptor_t,
                                                          const cudnnConvolutionDescriptor_t cd,
                                                          const cudnnTensorDescriptor_t, const int requested,
                                                          int* returned, cudnnConvolutionBwdDataAlgoPerf_t* perf) {
  return one_algorithm(requested, returned, perf, cd->math, 1, wd->nhwc);
}
cudnnStatus_t cudnnFindConvolutionBackwardFilterAlgorithmEx(cudnnHandle_t, const cudnnTensorDescriptor_t xd, const void*,
                                                            const cudnnTensorDescriptor_t, const void*,
                                                            const cudnnConvolutionDescriptor_t cd,
                                                            const cudnnFilterDescriptor_t, void*, const int requested,
                                                            int* returned, cudnnConvolutionBwdFilterAlgoPerf_t* perf,
                                                            void*, size_t) {
  return one_algorithm(requested, returned, perf, cd->math, 2, xd->nhwc);
}
cudnnStatus_t cudnnGetConvolutionBackwardFilterAlgorithm_v7(cudnnHandle_t, const cudnnTensorDescriptor_t xd,
                                                            const cudnnTensorDescriptor_t,
                                                            const cudnnConvolutionDescriptor_t cd,
                                                            const cudnnFilterDescriptor_t, const int requested,
                                                            int* returned, cudnnConvolutionBwdFilterAlgoPerf_t* perf) {
  return one_algorithm(requested, returned, perf, cd->math, 2, xd->nhwc);
}

cudnnStatus_t cudnnConvolutionForward(cudnnHandle_t h, const void* alpha, const cudnnTensorDescriptor_t xd,
                                      const void* x, const cudnnFilterDescriptor_t wd, const void* w,
                                      const cudnnConvolutionDescriptor_t cd, cudnnConvolutionFwdAlgo_t, void*, size_t,
                                      const void* beta, const cudnnTensorDescriptor_t yd, void* y) {
  Geometry g;
  if (!geometry(xd, wd, cd, yd, g)) return CUDNN_STATUS_BAD_PARAM;
  const float a = *static_cast<const float*>(alpha), b = *static_cast<const float*>(beta);
  mlcn_emu::submit(h->stream, mlcn_emu::Work::Library, [=] {
    const float* X = static_cast<const float*>(x);
    const float* F = static_cast<const float*>(w);
    std::vector<double> acc(size_t(g.N) * g.OH * g.OW * g.K, 0.0);
    for_each_term(g, [&](int n, int oh, int ow, int k, int r, int s, int c, int ih, int iw) {
      acc[g.y(n, oh, ow, k)] += double(X[g.x(n, ih, iw, (k / g.Kg) * g.Cg + c)]) * F[g.f(k, r, s, c)];
    });
    blend(static_cast<float*>(y), acc, &a, &b);
  });
  return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnConvolutionBackwardData(cudnnHandle_t h, const void* alpha, const cudnnFilterDescriptor_t wd,
                                           const void* w, const cudnnTensorDescriptor_t dyd, const void* dy,
                                           const cudnnConvolutionDescriptor_t cd, cudnnConvolutionBwdDataAlgo_t, void*,
                                           size_t, const void* beta, const cudnnTensorDescriptor_t dxd, void* dx) {
  Geometry g;
  if (!geometry(dxd, wd, cd, dyd, g)) return CUDNN_STATUS_BAD_PARAM;
  const float a = *static_cast<const float*>(alpha), b = *static_cast<const float*>(beta);
  mlcn_emu::submit(h->stream, mlcn_emu::Work::Library, [=] {
    const float* DY = static_cast<const float*>(dy);
    const float* F = static_cast<const float*>(w);
    std::vector<double> acc(size_t(g.N) * g.H * g.W * g.C, 0.0);
    for_each_term(g, [&](int n, int oh, int ow, int k, int r, int s, int c, int ih, int iw) {
      acc[g.x(n, ih, iw, (k / g.Kg) * g.Cg + c)] += double(DY[g.y(n, oh, ow, k)]) * F[g.f(k, r, s, c)];
    });
    blend(static_cast<float*>(dx), acc, &a, &b);
  });
  return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnConvolutionBackwardFilter(cudnnHandle_t h, const void* alpha, const cudnnTensorDescriptor_t xd,
                                             const void* x, const cudnnTensorDescriptor_t dyd, const void* dy,
                                             const cudnnConvolutionDescriptor_t cd, cudnnConvolutionBwdFilterAlgo_t,
                                             void*, size_t, const void* beta, const cudnnFilterDescriptor_t dwd,
                                             void* dw) {
  Geometry g;
  if (!geometry(xd, dwd, cd, dyd, g)) return CUDNN_STATUS_BAD_PARAM;
  const float a = *static_cast<const float*>(alpha), b = *static_cast<const float*>(beta);
  mlcn_emu::submit(h->stream, mlcn_emu::Work::Library, [=] {
    const float* X = static_cast<const float*>(x);
    const float* DY = static_cast<const float*>(dy);
    std::vector<double> acc(size_t(g.K) * g.R * g.S * g.Cg, 0.0);
    for_each_term(g, [&](int n, int oh, int ow, int k, int r, int s, int c, int ih, int iw) {
      acc[g.f(k, r, s, c)] += double(X[g.x(n, ih, iw, (k / g.Kg) * g.Cg + c)]) * DY[g.y(n, oh, ow, k)];
    });
    blend(static_cast<float*>(dw), acc, &a, &b);
  });
  return CUDNN_STATUS_SUCCESS;
}

}  // extern "C"
