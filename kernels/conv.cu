// conv2d on cuDNN: NHWC tensors and NHWC filters (K, kh, kw, C/groups), which is exactly the
// engine's OHWI weight layout, so nothing is transposed; groups map to cuDNN's group count. Per shape (and device and TF32 setting) a plan
// holds the descriptors and, chosen on first use per direction, the fastest algorithm measured by
// cudnnFind*AlgorithmEx (heuristics if that fails) with its workspace size; executions take
// their workspace from the caching allocator. TF32 off: the descriptors ask for CUDNN_FMA_MATH.
// cuDNN pads symmetrically; Keras "same" padding with an odd total puts the extra row/column at
// the bottom/right, which cuDNN cannot express, so such shapes copy the input into an explicitly
// padded buffer first (and crop the input gradient back). Bias: the bias kernels of elementwise.cu.
// The first call per shape synchronises (algorithm search): run one step before graph capture.
#include "kernels/cuda_context.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "kernels/allocator.h"
#include "kernels/conv.cuh"
#include "kernels/device_math.cuh"
#include "kernels/elementwise.cuh"

namespace mlcn::kernels {
namespace {

enum Dir { kFwd = 0, kData = 1, kFilter = 2 };

struct ConvPlan {
  cudnnTensorDescriptor_t x = nullptr, y = nullptr;  // x: the input as cuDNN sees it (padded if so)
  cudnnFilterDescriptor_t w = nullptr;
  cudnnConvolutionDescriptor_t conv[3] = {};  // one per direction, each with its algorithm's math type
  int algo[3] = {-1, -1, -1};
  size_t ws[3] = {0, 0, 0};
  bool padded = false;
  int64_t Hin = 0, Win = 0;
  int64_t x_elems = 0, w_elems = 0;  // B*Hin*Win*C and K*kh*kw*C/groups
};

struct Choice {
  int algo = -1;
  size_t ws = 0;
  cudnnConvolutionDescriptor_t conv = nullptr;  // set by ensure()
  cudnnMathType_t math = CUDNN_FMA_MATH;        // set by pick(): the math type it was measured with
};

using PlanKey = std::array<int64_t, 16>;

std::mutex& plans_mutex() {
  static std::mutex* m = new std::mutex();
  return *m;
}
std::map<PlanKey, std::unique_ptr<ConvPlan>>& plans() {
  static auto* p = new std::map<PlanKey, std::unique_ptr<ConvPlan>>();  // descriptors live until exit
  return *p;
}

int to_int(int64_t v, const char* what) {
  MLCN_CHECK(v >= 0 && v < (int64_t(1) << 31), "conv2d: " << what << " = " << v << " does not fit cuDNN's int");
  return int(v);
}

// True when every non-null pointer is 16-byte aligned. Algorithms measured on aligned buffers
// may require it, so plans (and their chosen algorithms) are kept per alignment class.
bool aligned16(std::initializer_list<const void*> ptrs) {
  for (const void* p : ptrs)
    if (p && reinterpret_cast<uintptr_t>(p) % 16 != 0) return false;
  return true;
}

ConvPlan* get_plan(const ConvShape& s, bool tf32, bool aligned) {
  const PlanKey key{current_device(), tf32, s.B, s.H, s.W, s.C, s.K, s.kh, s.kw, s.stride, s.pad_h, s.pad_w, s.OH, s.OW,
                    s.groups, aligned};
  std::lock_guard<std::mutex> lock(plans_mutex());
  auto it = plans().find(key);
  if (it != plans().end()) return it->second.get();
  auto p = std::make_unique<ConvPlan>();
  // Keras "same" pads (o-1)*stride + k - n in total, the odd one at the bottom/right; cuDNN
  // pads symmetrically, so an odd total needs the explicit copy.
  auto total_pad = [&](int64_t n, int64_t o, int64_t k) { return std::max<int64_t>(0, (o - 1) * s.stride + k - n); };
  p->padded = 2 * s.pad_h != total_pad(s.H, s.OH, s.kh) || 2 * s.pad_w != total_pad(s.W, s.OW, s.kw);
  p->Hin = p->padded ? (s.OH - 1) * s.stride + s.kh : s.H;
  p->Win = p->padded ? (s.OW - 1) * s.stride + s.kw : s.W;
  p->x_elems = s.B * p->Hin * p->Win * s.C;
  MLCN_CHECK(s.groups >= 1 && s.C % s.groups == 0 && s.K % s.groups == 0,
             "conv2d: " << s.groups << " groups do not divide " << s.C << " and " << s.K << " channels");
  const int64_t c_group = s.C / s.groups;
  p->w_elems = s.K * s.kh * s.kw * c_group;
  const int ph = p->padded ? 0 : to_int(s.pad_h, "pad"), pw = p->padded ? 0 : to_int(s.pad_w, "pad");
  MLCN_CUDNN_CHECK(cudnnCreateTensorDescriptor(&p->x));
  MLCN_CUDNN_CHECK(cudnnCreateTensorDescriptor(&p->y));
  MLCN_CUDNN_CHECK(cudnnCreateFilterDescriptor(&p->w));
  MLCN_CUDNN_CHECK(cudnnSetTensor4dDescriptor(p->x, CUDNN_TENSOR_NHWC, CUDNN_DATA_FLOAT, to_int(s.B, "B"),
                                              to_int(s.C, "C"), to_int(p->Hin, "H"), to_int(p->Win, "W")));
  MLCN_CUDNN_CHECK(cudnnSetTensor4dDescriptor(p->y, CUDNN_TENSOR_NHWC, CUDNN_DATA_FLOAT, to_int(s.B, "B"),
                                              to_int(s.K, "K"), to_int(s.OH, "OH"), to_int(s.OW, "OW")));
  MLCN_CUDNN_CHECK(cudnnSetFilter4dDescriptor(p->w, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NHWC, to_int(s.K, "K"),
                                              to_int(c_group, "C"), to_int(s.kh, "kh"), to_int(s.kw, "kw")));
  for (auto& cd : p->conv) {
    MLCN_CUDNN_CHECK(cudnnCreateConvolutionDescriptor(&cd));
    MLCN_CUDNN_CHECK(cudnnSetConvolution2dDescriptor(cd, ph, pw, to_int(s.stride, "stride"), to_int(s.stride, "stride"),
                                                     1, 1, CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
    MLCN_CUDNN_CHECK(cudnnSetConvolutionMathType(cd, tf32 ? CUDNN_DEFAULT_MATH : CUDNN_FMA_MATH));
    MLCN_CUDNN_CHECK(cudnnSetConvolutionGroupCount(cd, to_int(s.groups, "groups")));
  }
  int n = 0, c = 0, h = 0, w = 0;
  MLCN_CUDNN_CHECK(cudnnGetConvolution2dForwardOutputDim(p->conv[kFwd], p->x, p->w, &n, &c, &h, &w));
  MLCN_CHECK(n == s.B && c == s.K && h == s.OH && w == s.OW,
             "conv2d: cuDNN output " << n << "x" << h << "x" << w << "x" << c << " differs from the engine's " << s.B
                                     << "x" << s.OH << "x" << s.OW << "x" << s.K);
  ConvPlan* raw = p.get();
  plans().emplace(key, std::move(p));
  return raw;
}

// Workspace for the algorithm search, straight from cudaMalloc (a one-off per shape that should
// not stay in the allocator's cache): 512 MiB, halved until it fits.
struct SearchWorkspace {
  void* ptr = nullptr;
  size_t bytes = 0;
  SearchWorkspace() {
    for (size_t b = size_t(512) << 20; b >= (size_t(1) << 20); b /= 2)
      if (cudaMalloc(&ptr, b) == cudaSuccess) {
        bytes = b;
        return;
      }
    (void)cudaGetLastError();
    ptr = nullptr;
  }
  ~SearchWorkspace() {
    if (ptr) (void)cudaFree(ptr);
  }
};

// The first measured result that succeeded within the workspace, else the heuristics' first.
template <class Perf, class Find, class Get> Choice pick(Find find, Get get, size_t budget, bool tf32) {
  constexpr int kMaxAlgos = 16;
  std::vector<Perf> perf(kMaxAlgos);
  int got = 0;
  auto usable = [&](const Perf& p) {
    return p.status == CUDNN_STATUS_SUCCESS &&
           (tf32 || (p.mathType != CUDNN_TENSOR_OP_MATH && p.mathType != CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION));
  };
  if (find(kMaxAlgos, &got, perf.data()) == CUDNN_STATUS_SUCCESS)
    for (int i = 0; i < got; ++i)
      if (usable(perf[i]) && perf[i].memory <= budget)
        return {int(perf[i].algo), perf[i].memory, nullptr, perf[i].mathType};
  (void)cudaGetLastError();
  got = 0;
  if (get(kMaxAlgos, &got, perf.data()) == CUDNN_STATUS_SUCCESS)
    for (int i = 0; i < got; ++i)
      if (usable(perf[i])) return {int(perf[i].algo), perf[i].memory, nullptr, perf[i].mathType};
  return {};
}

// Chooses (once) and returns the algorithm of direction `dir`. x, w, dy are the call's inputs and
// y the forward's output (rewritten by the real call after the search); the backward outputs,
// which accumulate, are replaced by scratch buffers during the search.
Choice ensure(ConvPlan* p, Dir dir, bool tf32, cudnnHandle_t h, const void* x, const void* w, const void* dy, void* y,
              cudaStream_t st) {
  std::lock_guard<std::mutex> lock(plans_mutex());
  if (p->algo[dir] < 0) {
    SearchWorkspace ws;
    cudnnConvolutionDescriptor_t cd = p->conv[dir];
    Choice c;
    if (dir == kFwd) {
      c = pick<cudnnConvolutionFwdAlgoPerf_t>(
          [&](int n, int* got, cudnnConvolutionFwdAlgoPerf_t* r) {
            return cudnnFindConvolutionForwardAlgorithmEx(h, p->x, x, p->w, w, cd, p->y, y, n, got, r, ws.ptr,
                                                          ws.bytes);
          },
          [&](int n, int* got, cudnnConvolutionFwdAlgoPerf_t* r) {
            return cudnnGetConvolutionForwardAlgorithm_v7(h, p->x, p->w, cd, p->y, n, got, r);
          },
          ws.bytes, tf32);
    } else if (dir == kData) {
      DeviceBuffer dx(size_t(p->x_elems) * sizeof(float), st);
      c = pick<cudnnConvolutionBwdDataAlgoPerf_t>(
          [&](int n, int* got, cudnnConvolutionBwdDataAlgoPerf_t* r) {
            return cudnnFindConvolutionBackwardDataAlgorithmEx(h, p->w, w, p->y, dy, cd, p->x, dx.get(), n, got, r,
                                                               ws.ptr, ws.bytes);
          },
          [&](int n, int* got, cudnnConvolutionBwdDataAlgoPerf_t* r) {
            return cudnnGetConvolutionBackwardDataAlgorithm_v7(h, p->w, p->y, cd, p->x, n, got, r);
          },
          ws.bytes, tf32);
    } else {
      DeviceBuffer dw(size_t(p->w_elems) * sizeof(float), st);
      c = pick<cudnnConvolutionBwdFilterAlgoPerf_t>(
          [&](int n, int* got, cudnnConvolutionBwdFilterAlgoPerf_t* r) {
            return cudnnFindConvolutionBackwardFilterAlgorithmEx(h, p->x, x, p->y, dy, cd, p->w, dw.get(), n, got, r,
                                                                 ws.ptr, ws.bytes);
          },
          [&](int n, int* got, cudnnConvolutionBwdFilterAlgoPerf_t* r) {
            return cudnnGetConvolutionBackwardFilterAlgorithm_v7(h, p->x, p->y, cd, p->w, n, got, r);
          },
          ws.bytes, tf32);
    }
    MLCN_CHECK(c.algo >= 0, "conv2d: cuDNN has no float32 NHWC algorithm for direction " << int(dir)
                                                                                          << (tf32 ? "" : " without TF32"));
    // cuDNN runs an algorithm with the math type it was measured with; without TF32 the
    // descriptor keeps CUDNN_FMA_MATH.
    if (tf32) MLCN_CUDNN_CHECK(cudnnSetConvolutionMathType(cd, c.math));
    p->algo[dir] = c.algo;
    p->ws[dir] = c.ws;
  }
  Choice chosen;
  chosen.algo = p->algo[dir], chosen.ws = p->ws[dir], chosen.conv = p->conv[dir];
  return chosen;
}

// xp (B, Hin, Win, C) = x (B, H, W, C) shifted by the top/left pads, zero elsewhere.
__global__ void pad_input_kernel(float* xp, const float* x, ConvShape s, int64_t Hin, int64_t Win) {
  MLCN_GRID_STRIDE(e, s.B * Hin * Win * s.C) {
    const int64_t c = e % s.C, xw = (e / s.C) % Win, yh = (e / (s.C * Win)) % Hin, b = e / (s.C * Win * Hin);
    const int64_t y = yh - s.pad_h, xx = xw - s.pad_w;
    xp[e] = (y >= 0 && y < s.H && xx >= 0 && xx < s.W) ? x[((b * s.H + y) * s.W + xx) * s.C + c] : 0.f;
  }
}

// dx (B, H, W, C) += the matching entries of dxp (B, Hin, Win, C).
__global__ void crop_add_kernel(float* dx, const float* dxp, ConvShape s, int64_t Hin, int64_t Win) {
  MLCN_GRID_STRIDE(e, s.B * s.H * s.W * s.C) {
    const int64_t c = e % s.C, xx = (e / s.C) % s.W, y = (e / (s.C * s.W)) % s.H, b = e / (s.C * s.W * s.H);
    const int64_t yp = y + s.pad_h, xp = xx + s.pad_w;
    if (yp < Hin && xp < Win) dx[e] += dxp[((b * Hin + yp) * Win + xp) * s.C + c];
  }
}

}  // namespace

void conv2d_forward_cuda(float* out, const float* in, const float* w, const float* b, const ConvShape& s,
                         cudaStream_t st) {
  if (s.B <= 0 || s.K <= 0 || s.OH <= 0 || s.OW <= 0) return;
  const bool tf32 = allow_tf32();
  cudnnHandle_t h = cudnn_handle(st);
  ConvPlan* p = get_plan(s, tf32, aligned16({in, w, out}));
  const float* x = in;
  DeviceBuffer xpad;
  if (p->padded) {
    xpad = DeviceBuffer(size_t(p->x_elems) * sizeof(float), st);
    pad_input_kernel<<<grid_for(p->x_elems), kThreads, 0, st>>>(xpad.as<float>(), in, s, p->Hin, p->Win);
    MLCN_CUDA_LAUNCH_CHECK();
    x = xpad.as<float>();
  }
  const Choice c = ensure(p, kFwd, tf32, h, x, w, nullptr, out, st);
  DeviceBuffer ws(c.ws, st);
  const float one = 1.f, zero = 0.f;
  MLCN_CUDNN_CHECK(cudnnConvolutionForward(h, &one, p->x, x, p->w, w, c.conv, cudnnConvolutionFwdAlgo_t(c.algo),
                                           ws.get(), c.ws, &zero, p->y, out));
  if (b) bias_add_cuda(out, b, s.B * s.OH * s.OW, s.K, st);
}

void conv2d_backward_cuda(float* din, float* dw, float* db, const float* dout, const float* in, const float* w,
                          const ConvShape& s, cudaStream_t st) {
  if (s.B <= 0 || s.K <= 0 || s.OH <= 0 || s.OW <= 0) return;
  if (db) bias_backward_cuda(db, dout, s.B * s.OH * s.OW, s.K, st);
  if (!din && !dw) return;
  const bool tf32 = allow_tf32();
  cudnnHandle_t h = cudnn_handle(st);
  ConvPlan* p = get_plan(s, tf32, aligned16({din, dw, dout, in, w}));
  const float one = 1.f, zero = 0.f;
  if (dw) {
    const float* x = in;
    DeviceBuffer xpad;
    if (p->padded) {
      xpad = DeviceBuffer(size_t(p->x_elems) * sizeof(float), st);
      pad_input_kernel<<<grid_for(p->x_elems), kThreads, 0, st>>>(xpad.as<float>(), in, s, p->Hin, p->Win);
      MLCN_CUDA_LAUNCH_CHECK();
      x = xpad.as<float>();
    }
    const Choice c = ensure(p, kFilter, tf32, h, x, w, dout, nullptr, st);
    DeviceBuffer ws(c.ws, st);
    MLCN_CUDNN_CHECK(cudnnConvolutionBackwardFilter(h, &one, p->x, x, p->y, dout, c.conv,
                                                    cudnnConvolutionBwdFilterAlgo_t(c.algo), ws.get(), c.ws, &one,
                                                    p->w, dw));
  }
  if (din) {
    const Choice c = ensure(p, kData, tf32, h, in, w, dout, nullptr, st);
    DeviceBuffer ws(c.ws, st);
    if (!p->padded) {
      MLCN_CUDNN_CHECK(cudnnConvolutionBackwardData(h, &one, p->w, w, p->y, dout, c.conv,
                                                    cudnnConvolutionBwdDataAlgo_t(c.algo), ws.get(), c.ws, &one, p->x,
                                                    din));
      return;
    }
    DeviceBuffer dxp(size_t(p->x_elems) * sizeof(float), st);
    MLCN_CUDNN_CHECK(cudnnConvolutionBackwardData(h, &one, p->w, w, p->y, dout, c.conv,
                                                  cudnnConvolutionBwdDataAlgo_t(c.algo), ws.get(), c.ws, &zero, p->x,
                                                  dxp.get()));
    crop_add_kernel<<<grid_for(s.B * s.H * s.W * s.C), kThreads, 0, st>>>(din, dxp.as<float>(), s, p->Hin, p->Win);
    MLCN_CUDA_LAUNCH_CHECK();
  }
}

size_t conv_plans_cached() {
  std::lock_guard<std::mutex> lock(plans_mutex());
  return plans().size();
}

}  // namespace mlcn::kernels
