// engine/core/tensor: shapes, shared storage and views, deep copies, dtype conversion, fills,
// and the errors of misuse.
#include <catch2/catch.hpp>

#include "base/check.h"
#include "engine/core/tensor.h"

using namespace mlcn;

TEST_CASE("tensor: shape, numel, negative dims, zeros and full", "[tensor]") {
  Tensor t = Tensor::zeros({2, 3, 4});
  CHECK(t.ndim() == 3);
  CHECK(t.numel() == 24);
  CHECK(t.nbytes() == 24 * sizeof(float));
  CHECK(t.dim(-1) == 4);
  CHECK(t.dim(0) == 2);
  for (int64_t i = 0; i < t.numel(); ++i) CHECK(t.item(i) == 0.0);
  Tensor f = Tensor::full({5}, 2.5, DType::F64);
  CHECK(f.dtype() == DType::F64);
  CHECK(f.item(4) == 2.5);
  CHECK(shape_numel({3, 0, 2}) == 0);
  CHECK_FALSE(Tensor().defined());
}

TEST_CASE("tensor: copies alias, reshape is a view, clone is deep", "[tensor]") {
  Tensor a = Tensor::zeros({2, 3});
  Tensor alias = a;
  Tensor view = a.reshape({3, -1});
  CHECK(view.dim(1) == 2);
  Tensor deep = a.clone();
  a.set(5, 7.0);
  CHECK(alias.item(5) == 7.0);
  CHECK(view.item(5) == 7.0);
  CHECK(deep.item(5) == 0.0);
  CHECK_THROWS_WITH(a.reshape({4, 2}), Catch::Contains("reshape"));
}

TEST_CASE("tensor: dtype conversion, fill, zero, copy_from", "[tensor]") {
  Tensor a = Tensor::empty({4}, DType::F32);
  for (int i = 0; i < 4; ++i) a.set(i, 0.1 * (i + 1));
  Tensor d = a.to(DType::F64);
  CHECK(d.dtype() == DType::F64);
  CHECK(d.item(2) == Approx(0.3f).epsilon(0));  // the float value, widened exactly
  Tensor b = Tensor::empty({4});
  b.copy_from(a);
  CHECK(b.item(3) == a.item(3));
  b.fill_(-1.5);
  CHECK(b.item(0) == -1.5);
  b.zero_();
  CHECK(b.item(1) == 0.0);
  CHECK_THROWS(b.copy_from(Tensor::empty({5})));
}

TEST_CASE("tensor: a CUDA tensor in a process without a GPU is a clear error", "[tensor]") {
  CHECK_THROWS_AS(Tensor::zeros({2}, DType::F32, Device::cuda(0)), Error);
}
