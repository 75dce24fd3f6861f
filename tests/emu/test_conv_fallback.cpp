// conv.cu's fallback, on the emulator (whose cuDNN can be told to have no algorithm for a
// direction in a layout): a direction with no NHWC float32 algorithm, as happens with FMA math on
// Hopper, runs with NCHW descriptors on transposed operands and still matches the CPU twin, for
// every direction alone and all three together, with the explicit padding copy and with groups;
// a direction with no algorithm in either layout is one clear error naming it.
#include <catch2/catch.hpp>

#include "conv_parity.h"
#include "tests/emu/emu_internal.h"

using namespace mlcn;
using namespace mlcn::test;

namespace {

// Sets the emulated cuDNN's unsupported directions for one scope.
struct Unsupported {
  Unsupported(int nhwc, int nchw) { mlcn_emu::set_cudnn_unsupported(nhwc, nchw); }
  ~Unsupported() { mlcn_emu::set_cudnn_unsupported(0, 0); }
};

}  // namespace

TEST_CASE("conv2d runs a direction without an NHWC algorithm in NCHW and matches the CPU", "[cuda][conv][fallback]") {
  // Plans are kept per shape, so each setting uses its own batch size (shapes no other test uses).
  const struct {
    const char* what;
    int nhwc_unsupported;
    int64_t B;
  } settings[] = {{"all three directions", 7, 5}, {"forward", 1, 6}, {"data gradient", 2, 7}, {"filter gradient", 4, 9}};
  for (const auto& st : settings) {
    INFO("no NHWC algorithm for: " << st.what);
    Unsupported u(st.nhwc_unsupported, 0);
    const ConvCase cases[] = {
        {"valid s1 + bias", st.B, 7, 6, 3, 4, 3, 2, 1, false, true, true},
        {"same 2x2, asymmetric padding (explicit pad copy)", st.B, 6, 5, 3, 4, 2, 2, 1, true, true, true},
        {"grouped, 2 groups, valid s2", st.B, 9, 8, 4, 6, 3, 3, 2, false, true, true, 2},
        {"grouped, 2 groups, same 2x2 (explicit pad copy)", st.B, 6, 5, 4, 6, 2, 2, 1, true, false, true, 2},
    };
    for (const ConvCase& c : cases) check_conv_parity(c);
  }
}

TEST_CASE("conv2d with no algorithm in either layout names the direction", "[cuda][conv][fallback]") {
  Unsupported u(4, 4);
  const ConvShape s = make_conv_shape(11, 7, 6, 3, 4, 3, 2, 1, false);
  const size_t nin = size_t(s.B * s.H * s.W * s.C), nw = size_t(s.K * s.kh * s.kw * s.C);
  const size_t nout = size_t(s.B * s.OH * s.OW * s.K);
  Guarded d_in(rand_vec(nin, 301)), d_w(rand_vec(nw, 302)), d_out(nout), d_dout(rand_vec(nout, 303));
  Guarded d_dw(rand_vec(nw, 304));
  cuda().conv2d_forward(kS0, d_out.get(), d_in.get(), d_w.get(), nullptr, s);  // the forward has one
  CHECK_THROWS_WITH(cuda().conv2d_backward(kS0, nullptr, d_dw.get(), nullptr, d_dout.get(), d_in.get(), d_w.get(), s),
                    Catch::Contains("no float32 algorithm for the filter gradient in NHWC or NCHW"));
}
