// The shared oneDNN helpers of dnnl_util.h: per-thread context and scratchpad, descriptors,
// forward primitive descriptors, filter staging and summing reorders.
#include "engine/cpu/dnnl_util.h"

namespace mlcn::cpu::dnnl_util {

Ctx& ctx() {
  thread_local Ctx c;
  return c;
}

memory Ctx::scratchpad(const memory::desc& d) {
  if (scratch.size() < d.get_size()) scratch.resize(d.get_size());
  return memory(d, eng, scratch.data());
}

dnnl::primitive_attr user_scratchpad() {
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  return attr;
}

Descs::Descs(const ConvShape& s, bool bias_term) {
  src = memory::desc({s.B, s.C, s.H, s.W}, f32, tag::nhwc);
  dst = memory::desc({s.B, s.K, s.OH, s.OW}, f32, tag::nhwc);
  wei_user = memory::desc({s.K, s.C, s.kh, s.kw}, f32, tag::ohwi);
  wei_any = memory::desc({s.K, s.C, s.kh, s.kw}, f32, tag::any);
  if (bias_term) bias = memory::desc({s.K}, f32, tag::x);
  strides = {s.stride, s.stride};
  pad_l = {s.pad_h, s.pad_w};
  // Right padding so that (H + pad_l + pad_r - kh) / stride + 1 == OH exactly (may be negative
  // when the stride leaves input rows unused, e.g. 8 rows, 6x6 filter, stride 3).
  pad_r = {(s.OH - 1) * s.stride + s.kh - s.H - s.pad_h, (s.OW - 1) * s.stride + s.kw - s.W - s.pad_w};
}

Key key_of(const ConvShape& s, int flags) {
  return {s.B, s.H, s.W, s.C, s.K, s.kh, s.kw, s.stride, s.pad_h, s.pad_w, flags, omp_get_max_threads()};
}

dnnl::convolution_forward::primitive_desc forward_pd(const Descs& d, bool relu, dnnl::algorithm alg, Ctx& c) {
  dnnl::convolution_forward::desc fd(dnnl::prop_kind::forward_training, alg, d.src, d.wei_any, d.bias, d.dst,
                                     d.strides, d.pad_l, d.pad_r);
  dnnl::primitive_attr attr = user_scratchpad();
  if (relu) {
    dnnl::post_ops po;
    po.append_eltwise(1.f, dnnl::algorithm::eltwise_relu, 0.f, 0.f);
    attr.set_post_ops(po);
  }
  return {fd, attr, c.eng};
}

InputIn::InputIn(const memory::desc& user_desc, const memory::desc& want, Ctx& c) : user(user_desc, c.eng, nullptr) {
  if (want == user_desc) {
    mem = user;
  } else {
    mem = memory(want, c.eng);
    reorder = std::make_unique<dnnl::reorder>(user, mem);
  }
}

const memory& InputIn::load(const float* data, Ctx& c) {
  user.set_data_handle(const_cast<float*>(data));
  if (reorder) reorder->execute(c.strm, user, mem);
  return mem;
}

dnnl::reorder add_reorder(const memory& src, const memory& dst) {
  dnnl::post_ops po;
  po.append_sum(1.f);
  dnnl::primitive_attr attr;
  attr.set_post_ops(po);
  return dnnl::reorder(dnnl::reorder::primitive_desc(src, dst, attr));
}

}  // namespace mlcn::cpu::dnnl_util
