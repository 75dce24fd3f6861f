// conv2d on cuDNN: NHWC tensors and NHWC filters (K, kh, kw, C/groups), which is exactly the
// engine's OHWI weight layout, so nothing is transposed; groups map to cuDNN's group count. Per
// shape (and device, TF32 setting and alignment) a plan holds the descriptors and, chosen on first
// use per direction, the fastest algorithm measured by cudnnFind*AlgorithmEx (heuristics if that
// fails, and heuristics only while the stream is capturing a graph, where a search may not run)
// with its workspace size. Fallback: NHWC float32 with FMA math has few algorithms on some GPUs
// (Hopper) and none for some shapes; a direction that finds none in NHWC runs with NCHW
// descriptors on transposed copies of its operands instead of failing, and only a shape with no
// algorithm in either layout is an error. Searches share one workspace per device, made once;
// executions take theirs from the caching allocator, so no cudaMalloc/cudaFree (a device-wide
// synchronisation) happens per shape. TF32 off: the descriptors ask for CUDNN_FMA_MATH.
// cuDNN pads symmetrically; Keras "same" padding with an odd total puts the extra row/column at
// the bottom/right, which cuDNN cannot express, so such shapes copy the input into an explicitly
// padded buffer first (and crop the input gradient back). Bias: the bias kernels of elementwise.cu.
// The first call per shape synchronises (algorithm search): run one step before timing.
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
enum Layout { kNhwc = 0, kNchw = 1 };

struct ConvPlan {
  // [layout]: x is the input as cuDNN sees it (padded if so), w the filter, y the output
  cudnnTensorDescriptor_t x[2] = {}, y[2] = {};
  cudnnFilterDescriptor_t w[2] = {};
  cudnnConvolutionDescriptor_t conv[3] = {};  // one per direction, each with its algorithm's math type
  int algo[3] = {-1, -1, -1};
  size_t ws[3] = {0, 0, 0};
  Layout layout[3] = {kNhwc, kNhwc, kNhwc};  // the layout each direction's algorithm runs in
  bool padded = false;
  int64_t Hin = 0, Win = 0;
  int64_t x_elems = 0, w_elems = 0, y_elems = 0;  // B*Hin*Win*C, K*kh*kw*C/groups, B*OH*OW*K
};

struct Choice {
  int algo = -1;
  size_t ws = 0;
  cudnnConvolutionDescriptor_t conv = nullptr;  // set by ensure()
  cudnnMathType_t math = CUDNN_FMA_MATH;        // set by pick(): the math type it was measured with
  Layout layout = kNhwc;
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
  p->y_elems = s.B * s.OH * s.OW * s.K;
  for (Layout l : {kNhwc, kNchw}) {
    const cudnnTensorFormat_t f = l == kNhwc ? CUDNN_TENSOR_NHWC : CUDNN_TENSOR_NCHW;
    MLCN_CUDNN_CHECK(cudnnCreateTensorDescriptor(&p->x[l]));
    MLCN_CUDNN_CHECK(cudnnCreateTensorDescriptor(&p->y[l]));
    MLCN_CUDNN_CHECK(cudnnCreateFilterDescriptor(&p->w[l]));
    MLCN_CUDNN_CHECK(cudnnSetTensor4dDescriptor(p->x[l], f, CUDNN_DATA_FLOAT, to_int(s.B, "B"), to_int(s.C, "C"),
                                                to_int(p->Hin, "H"), to_int(p->Win, "W")));
    MLCN_CUDNN_CHECK(cudnnSetTensor4dDescriptor(p->y[l], f, CUDNN_DATA_FLOAT, to_int(s.B, "B"), to_int(s.K, "K"),
                                                to_int(s.OH, "OH"), to_int(s.OW, "OW")));
    MLCN_CUDNN_CHECK(cudnnSetFilter4dDescriptor(p->w[l], CUDNN_DATA_FLOAT, f, to_int(s.K, "K"), to_int(c_group, "C"),
                                                to_int(s.kh, "kh"), to_int(s.kw, "kw")));
  }
  for (auto& cd : p->conv) {
    MLCN_CUDNN_CHECK(cudnnCreateConvolutionDescriptor(&cd));
    MLCN_CUDNN_CHECK(cudnnSetConvolution2dDescriptor(cd, ph, pw, to_int(s.stride, "stride"), to_int(s.stride, "stride"),
                                                     1, 1, CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
    MLCN_CUDNN_CHECK(cudnnSetConvolutionMathType(cd, tf32 ? CUDNN_DEFAULT_MATH : CUDNN_FMA_MATH));
    MLCN_CUDNN_CHECK(cudnnSetConvolutionGroupCount(cd, to_int(s.groups, "groups")));
  }
  int n = 0, c = 0, h = 0, w = 0;
  MLCN_CUDNN_CHECK(cudnnGetConvolution2dForwardOutputDim(p->conv[kFwd], p->x[kNhwc], p->w[kNhwc], &n, &c, &h, &w));
  MLCN_CHECK(n == s.B && c == s.K && h == s.OH && w == s.OW,
             "conv2d: cuDNN output " << n << "x" << h << "x" << w << "x" << c << " differs from the engine's " << s.B
                                     << "x" << s.OH << "x" << s.OW << "x" << s.K);
  ConvPlan* raw = p.get();
  plans().emplace(key, std::move(p));
  return raw;
}

// The algorithm searches' workspace, one per device: made by the first search there (256 MiB,
// halved until cudaMalloc succeeds) and kept. Searches are serialised by the plans mutex and
// cudnnFind*AlgorithmEx returns after its trials ran, so one buffer serves every stream, and only
// that first search pays cudaMalloc's device-wide synchronisation. Call with the mutex held.
struct SearchWorkspace {
  void* ptr = nullptr;
  size_t bytes = 0;
};
const SearchWorkspace& search_workspace(int device) {
  static auto* all = new std::map<int, SearchWorkspace>();  // kept until exit
  SearchWorkspace& w = (*all)[device];
  for (size_t b = size_t(256) << 20; !w.ptr && b >= (size_t(1) << 20); b /= 2) {
    if (cudaMalloc(&w.ptr, b) == cudaSuccess) {
      w.bytes = b;
    } else {
      (void)cudaGetLastError();
      w.ptr = nullptr;
    }
  }
  return w;
}

// The first measured result that succeeded within the workspace (when `measure`), else the
// heuristics' first usable one; algo -1 when there is none.
template <class Perf, class Find, class Get> Choice pick(Find find, Get get, size_t budget, bool tf32, bool measure) {
  constexpr int kMaxAlgos = 16;
  std::vector<Perf> perf(kMaxAlgos);
  int got = 0;
  auto usable = [&](const Perf& p) {
    return p.status == CUDNN_STATUS_SUCCESS &&
           (tf32 || (p.mathType != CUDNN_TENSOR_OP_MATH && p.mathType != CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION));
  };
  if (measure && find(kMaxAlgos, &got, perf.data()) == CUDNN_STATUS_SUCCESS)
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

// Chooses direction dir's algorithm in layout l (measured unless `measure` is false). The data
// pointers only time the candidates (a search reads them in either layout's order): x, w, dy are
// the call's inputs and y the forward's output (rewritten by the real call after the search); the
// backward outputs, which accumulate, are replaced by scratch buffers.
Choice choose(ConvPlan* p, Dir dir, Layout l, bool tf32, bool measure, cudnnHandle_t h, const void* x, const void* w,
              const void* dy, void* y, cudaStream_t st) {
  const SearchWorkspace ws = measure ? search_workspace(current_device()) : SearchWorkspace();
  cudnnConvolutionDescriptor_t cd = p->conv[dir];
  if (dir == kFwd)
    return pick<cudnnConvolutionFwdAlgoPerf_t>(
        [&](int n, int* got, cudnnConvolutionFwdAlgoPerf_t* r) {
          return cudnnFindConvolutionForwardAlgorithmEx(h, p->x[l], x, p->w[l], w, cd, p->y[l], y, n, got, r, ws.ptr,
                                                        ws.bytes);
        },
        [&](int n, int* got, cudnnConvolutionFwdAlgoPerf_t* r) {
          return cudnnGetConvolutionForwardAlgorithm_v7(h, p->x[l], p->w[l], cd, p->y[l], n, got, r);
        },
        ws.bytes, tf32, measure);
  if (dir == kData) {
    DeviceBuffer dx(measure ? size_t(p->x_elems) * sizeof(float) : 0, st);
    return pick<cudnnConvolutionBwdDataAlgoPerf_t>(
        [&](int n, int* got, cudnnConvolutionBwdDataAlgoPerf_t* r) {
          return cudnnFindConvolutionBackwardDataAlgorithmEx(h, p->w[l], w, p->y[l], dy, cd, p->x[l], dx.get(), n, got,
                                                             r, ws.ptr, ws.bytes);
        },
        [&](int n, int* got, cudnnConvolutionBwdDataAlgoPerf_t* r) {
          return cudnnGetConvolutionBackwardDataAlgorithm_v7(h, p->w[l], p->y[l], cd, p->x[l], n, got, r);
        },
        ws.bytes, tf32, measure);
  }
  DeviceBuffer dw(measure ? size_t(p->w_elems) * sizeof(float) : 0, st);
  return pick<cudnnConvolutionBwdFilterAlgoPerf_t>(
      [&](int n, int* got, cudnnConvolutionBwdFilterAlgoPerf_t* r) {
        return cudnnFindConvolutionBackwardFilterAlgorithmEx(h, p->x[l], x, p->y[l], dy, cd, p->w[l], dw.get(), n, got,
                                                             r, ws.ptr, ws.bytes);
      },
      [&](int n, int* got, cudnnConvolutionBwdFilterAlgoPerf_t* r) {
        return cudnnGetConvolutionBackwardFilterAlgorithm_v7(h, p->x[l], p->y[l], cd, p->w[l], n, got, r);
      },
      ws.bytes, tf32, measure);
}

// Chooses (once) and returns the algorithm of direction `dir`: NHWC first, NCHW if NHWC has none.
Choice ensure(ConvPlan* p, Dir dir, bool tf32, cudnnHandle_t h, const void* x, const void* w, const void* dy, void* y,
              cudaStream_t st) {
  std::lock_guard<std::mutex> lock(plans_mutex());
  if (p->algo[dir] < 0) {
    cudaStreamCaptureStatus capture = cudaStreamCaptureStatusNone;
    MLCN_CUDA_CHECK(cudaStreamIsCapturing(st, &capture));
    const bool measure = capture == cudaStreamCaptureStatusNone;  // a search's work may not enter a graph
    Choice c;
    for (Layout l : {kNhwc, kNchw}) {
      c = choose(p, dir, l, tf32, measure, h, x, w, dy, y, st);
      c.layout = l;
      if (c.algo >= 0) break;
    }
    static const char* const kDirName[3] = {"forward", "data gradient", "filter gradient"};
    MLCN_CHECK(c.algo >= 0, "conv2d: cuDNN has no float32 algorithm for the " << kDirName[dir] << " in NHWC or NCHW"
                                                                               << (tf32 ? "" : " without TF32"));
    // cuDNN runs an algorithm with the math type it was measured with; without TF32 the
    // descriptor keeps CUDNN_FMA_MATH.
    if (tf32) MLCN_CUDNN_CHECK(cudnnSetConvolutionMathType(p->conv[dir], c.math));
    p->algo[dir] = c.algo;
    p->ws[dir] = c.ws;
    p->layout[dir] = c.layout;
  }
  Choice chosen;
  chosen.algo = p->algo[dir], chosen.ws = p->ws[dir], chosen.conv = p->conv[dir], chosen.layout = p->layout[dir];
  return chosen;
}

// out (N, C, H, W) = in (N, H, W, C)
__global__ void nhwc_to_nchw_kernel(float* out, const float* in, int64_t N, int64_t H, int64_t W, int64_t C) {
  MLCN_GRID_STRIDE(e, N * C * H * W) {
    const int64_t w = e % W, h = (e / W) % H, c = (e / (W * H)) % C, n = e / (W * H * C);
    out[e] = in[((n * H + h) * W + w) * C + c];
  }
}

// out (N, H, W, C) = in (N, C, H, W), or += when accumulate
__global__ void nchw_to_nhwc_kernel(float* out, const float* in, int64_t N, int64_t H, int64_t W, int64_t C,
                                    bool accumulate) {
  MLCN_GRID_STRIDE(e, N * H * W * C) {
    const int64_t c = e % C, w = (e / C) % W, h = (e / (C * W)) % H, n = e / (C * W * H);
    const float v = in[((n * C + c) * H + h) * W + w];
    out[e] = accumulate ? out[e] + v : v;
  }
}

// A new (N, C, H, W) copy of in (N, H, W, C), for a direction that runs in NCHW.
DeviceBuffer to_nchw(const float* in, int64_t N, int64_t H, int64_t W, int64_t C, cudaStream_t st) {
  DeviceBuffer out(size_t(N * H * W * C) * sizeof(float), st);
  nhwc_to_nchw_kernel<<<grid_for(N * H * W * C), kThreads, 0, st>>>(out.as<float>(), in, N, H, W, C);
  MLCN_CUDA_LAUNCH_CHECK();
  return out;
}

void from_nchw(float* out, const float* in, int64_t N, int64_t H, int64_t W, int64_t C, bool accumulate,
               cudaStream_t st) {
  nchw_to_nhwc_kernel<<<grid_for(N * H * W * C), kThreads, 0, st>>>(out, in, N, H, W, C, accumulate);
  MLCN_CUDA_LAUNCH_CHECK();
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
  const Layout l = c.layout;
  if (l == kNhwc) {
    MLCN_CUDNN_CHECK(cudnnConvolutionForward(h, &one, p->x[l], x, p->w[l], w, c.conv, cudnnConvolutionFwdAlgo_t(c.algo),
                                             ws.get(), c.ws, &zero, p->y[l], out));
  } else {
    const DeviceBuffer xt = to_nchw(x, s.B, p->Hin, p->Win, s.C, st);
    const DeviceBuffer wt = to_nchw(w, s.K, s.kh, s.kw, s.C / s.groups, st);
    DeviceBuffer yt(size_t(p->y_elems) * sizeof(float), st);
    MLCN_CUDNN_CHECK(cudnnConvolutionForward(h, &one, p->x[l], xt.get(), p->w[l], wt.get(), c.conv,
                                             cudnnConvolutionFwdAlgo_t(c.algo), ws.get(), c.ws, &zero, p->y[l],
                                             yt.get()));
    from_nchw(out, yt.as<float>(), s.B, s.OH, s.OW, s.K, false, st);
  }
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
  const int64_t c_group = s.C / s.groups;
  DeviceBuffer dout_t;  // dout in NCHW, made once for the directions that run in NCHW
  auto dout_nchw = [&]() -> const float* {
    if (!dout_t.get()) dout_t = to_nchw(dout, s.B, s.OH, s.OW, s.K, st);
    return dout_t.as<float>();
  };
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
    const Layout l = c.layout;
    if (l == kNhwc) {
      MLCN_CUDNN_CHECK(cudnnConvolutionBackwardFilter(h, &one, p->x[l], x, p->y[l], dout, c.conv,
                                                      cudnnConvolutionBwdFilterAlgo_t(c.algo), ws.get(), c.ws, &one,
                                                      p->w[l], dw));
    } else {
      const DeviceBuffer xt = to_nchw(x, s.B, p->Hin, p->Win, s.C, st);
      DeviceBuffer dwt(size_t(p->w_elems) * sizeof(float), st);
      MLCN_CUDNN_CHECK(cudnnConvolutionBackwardFilter(h, &one, p->x[l], xt.get(), p->y[l], dout_nchw(), c.conv,
                                                      cudnnConvolutionBwdFilterAlgo_t(c.algo), ws.get(), c.ws, &zero,
                                                      p->w[l], dwt.get()));
      from_nchw(dw, dwt.as<float>(), s.K, s.kh, s.kw, c_group, true, st);
    }
  }
  if (din) {
    const Choice c = ensure(p, kData, tf32, h, in, w, dout, nullptr, st);
    DeviceBuffer ws(c.ws, st);
    const Layout l = c.layout;
    if (l == kNhwc && !p->padded) {
      MLCN_CUDNN_CHECK(cudnnConvolutionBackwardData(h, &one, p->w[l], w, p->y[l], dout, c.conv,
                                                    cudnnConvolutionBwdDataAlgo_t(c.algo), ws.get(), c.ws, &one,
                                                    p->x[l], din));
      return;
    }
    // The gradient of the (padded) input cuDNN saw, NHWC: added into din directly or cropped.
    DeviceBuffer dxp(size_t(p->x_elems) * sizeof(float), st);
    if (l == kNhwc) {
      MLCN_CUDNN_CHECK(cudnnConvolutionBackwardData(h, &one, p->w[l], w, p->y[l], dout, c.conv,
                                                    cudnnConvolutionBwdDataAlgo_t(c.algo), ws.get(), c.ws, &zero,
                                                    p->x[l], dxp.get()));
    } else {
      const DeviceBuffer wt = to_nchw(w, s.K, s.kh, s.kw, c_group, st);
      DeviceBuffer dxt(size_t(p->x_elems) * sizeof(float), st);
      MLCN_CUDNN_CHECK(cudnnConvolutionBackwardData(h, &one, p->w[l], wt.get(), p->y[l], dout_nchw(), c.conv,
                                                    cudnnConvolutionBwdDataAlgo_t(c.algo), ws.get(), c.ws, &zero,
                                                    p->x[l], dxt.get()));
      if (!p->padded) {
        from_nchw(din, dxt.as<float>(), s.B, s.H, s.W, s.C, true, st);
        return;
      }
      from_nchw(dxp.as<float>(), dxt.as<float>(), s.B, p->Hin, p->Win, s.C, false, st);
    }
    crop_add_kernel<<<grid_for(s.B * s.H * s.W * s.C), kThreads, 0, st>>>(din, dxp.as<float>(), s, p->Hin, p->Win);
    MLCN_CUDA_LAUNCH_CHECK();
  }
}

size_t conv_plans_cached() {
  std::lock_guard<std::mutex> lock(plans_mutex());
  return plans().size();
}

}  // namespace mlcn::kernels
