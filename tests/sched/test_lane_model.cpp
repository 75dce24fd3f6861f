// Analytic lane model against the spec tables (mlcn-spec.md §1.3, §1.4, §1.7, §1.12):
// capsules per level, exact parameter counts of every (w, d) for both datasets, forward MACs,
// decoder parameters, validity errors, and the memory bound's monotonicity.
#include <catch2/catch.hpp>

#include "base/check.h"
#include "sched/lane_model.h"

using namespace mlcn;

namespace {

struct Row {
  int w, d;
  std::vector<int> caps;
  long long params;
  double macs_m;  // lane fwd MACs/sample in millions, as printed (3 significant digits)
};

LaneDesc fmnist(int w, int d, const std::string& type = "mlcn1") {
  LaneDesc l;
  l.type = type;
  l.width = w;
  l.depth = d;
  return l;
}

LaneDesc cifar(int w, int d, const std::string& type = "mlcn1") {
  LaneDesc l = fmnist(w, d, type);
  l.H = l.W = 32;
  l.C = 3;
  return l;
}

// The routing MACs (r weighted sums + r-1 agreements) are not in the spec table's column.
double table_macs(const LaneDesc& l) {
  double m = 0;
  for (const auto& c : lane_layers(l))
    if (c.name != "routing") m += c.macs;
  return m;
}

void check_rows(const std::vector<Row>& rows, LaneDesc (*make)(int, int, const std::string&)) {
  for (const auto& r : rows) {
    LaneDesc l = make(r.w, r.d, "mlcn1");
    INFO(lane_label(l));
    CHECK(capsules_per_level(l) == r.caps);
    CHECK(lane_params(l) == r.params);
    CHECK(lane_stats(l).params == r.params);
    double m = table_macs(l);
    // Printed values have 3 significant digits.
    CHECK(std::abs(m / 1e6 - r.macs_m) <= 0.006 * r.macs_m);
  }
}

}  // namespace

TEST_CASE("FMNIST mlcn1 table of spec 1.12", "[sched][lane_model]") {
  std::vector<Row> rows = {
      {1, 1, {128}, 40256, 1.72},
      {1, 2, {128, 78}, 72512, 3.69},
      {1, 3, {128, 78, 44}, 99328, 4.83},
      {1, 4, {128, 78, 44, 22}, 122624, 5.41},
      {1, 5, {128, 78, 44, 22, 6}, 143360, 5.61},
      {2, 1, {256}, 117376, 5.80},
      {2, 2, {256, 324}, 245632, 16.96},
      {2, 3, {256, 324, 416}, 388608, 31.25},
      {2, 4, {256, 324, 416, 540}, 551424, 49.75},
      {2, 5, {256, 324, 416, 540, 704}, 740480, 73.87},
      {3, 1, {384}, 231360, 12.23},
      {3, 2, {384, 744}, 520320, 44.62},
      {3, 3, {384, 744, 1464}, 924480, 108.22},
      {3, 4, {384, 744, 1464, 2904}, 1559040, 234.26},
      {3, 5, {384, 744, 1464, 2904, 5784}, 2654400, 485.18},
      {4, 1, {512}, 382208, 21.03},
      {4, 2, {512, 1336}, 896256, 91.40},
      {4, 3, {512, 1336, 3528}, 1761024, 277.09},
      {4, 4, {512, 1336, 3528, 9376}, 3561472, 770.21},
      {4, 5, {512, 1336, 3528, 9376, 24968}, 7856640, 2080},
      {5, 1, {640}, 569920, 32.19},
      {5, 2, {640, 2090}, 1371840, 161.59},
      {5, 3, {640, 2090, 6930}, 2948160, 589.96},
      {5, 4, {640, 2090, 6930, 23060}, 7105280, 2020},
      {5, 5, {640, 2090, 6930, 23060, 76830}, 19865600, 6760},
  };
  check_rows(rows, fmnist);
  // Conv + PC activations per sample (last column), a few rows.
  CHECK(lane_stats(fmnist(1, 1)).activation_floats_per_sample == 8448);
  CHECK(std::abs(lane_stats(fmnist(5, 5)).activation_floats_per_sample - 22.71e6) < 0.01e6);
}

TEST_CASE("CIFAR-10 mlcn1 table of spec 1.12", "[sched][lane_model]") {
  std::vector<Row> rows = {
      {1, 1, {200}, 54368, 4.11},
      {1, 2, {200, 126}, 94304, 7.29},
      {1, 3, {200, 126, 76}, 126240, 9.22},
      {1, 4, {200, 126, 76, 42}, 152736, 10.32},
      {1, 5, {200, 126, 76, 42, 20}, 175712, 10.86},
      {1, 6, {200, 126, 76, 42, 20, 6}, 196448, 11.04},
      {2, 1, {400}, 145600, 11.92},
      {2, 2, {400, 516}, 304576, 29.64},
      {2, 3, {400, 516, 672}, 488512, 52.67},
      {2, 4, {400, 516, 672, 880}, 705728, 82.80},
      {2, 5, {400, 516, 672, 880, 1156}, 967104, 122.37},
      {3, 1, {600}, 273696, 23.40},
      {3, 2, {600, 1176}, 631776, 74.52},
      {3, 3, {600, 1176, 2328}, 1174176, 175.59},
      {3, 4, {600, 1176, 2328, 4632}, 2085216, 376.55},
      {3, 5, {600, 1176, 2328, 4632, 9240}, 3733536, 777.32},
      {4, 1, {800}, 438656, 38.58},
      {4, 2, {800, 2104}, 1075584, 149.32},
      {4, 3, {800, 2104, 5576}, 2268032, 442.69},
      {4, 4, {800, 2104, 5576, 14840}, 4942720, 1220},
      {4, 5, {800, 2104, 5576, 14840, 39544}, 11570048, 3300},
      {5, 1, {1000}, 640480, 57.44},
      {5, 2, {1000, 3290}, 1634400, 260.99},
      {5, 3, {1000, 3290, 10930}, 3850720, 936.53},
      {5, 4, {1000, 3290, 10930, 36390}, 10140640, 3190},
      {5, 5, {1000, 3290, 10930, 36390, 121260}, 30009760, 10680},
  };
  check_rows(rows, cifar);
}

TEST_CASE("closed forms and the worked example of spec 1.3", "[sched][lane_model]") {
  for (int w = 1; w <= 5; ++w) {
    CHECK(lane_params(fmnist(w, 1)) == 18432LL * w * w + 21824LL * w);
    CHECK(lane_params(cifar(w, 1)) == 18432LL * w * w + 35936LL * w);
  }
  auto s = lane_stats(fmnist(2, 3));
  CHECK(s.n_caps == 996);
  CHECK(s.caps_per_level == std::vector<int>{256, 324, 416});
  // A training step costs forward + backward + Adam, and backward is close to 2x forward.
  CHECK(s.train_flops == Approx(s.fwd_flops + s.bwd_flops + s.optimizer_flops));
  CHECK(s.bwd_flops > 1.7 * s.fwd_flops);
  CHECK(s.bwd_flops < 2.1 * s.fwd_flops);
  CHECK(s.fwd_flops == Approx(2 * 100 * s.fwd_macs_per_sample).epsilon(0.01));
}

TEST_CASE("mlcn2 parameters of spec 1.4", "[sched][lane_model]") {
  std::vector<long long> fm = {52224, 155648, 310272, 516096, 773120};
  std::vector<long long> cf = {65056, 181312, 348768, 567424, 837280};
  std::vector<double> fm_macs = {5.6, 21.8, 48.6, 85.9, 133.8};
  std::vector<double> cf_macs = {8.0, 30.8, 68.6, 121.3, 188.9};
  for (int w = 1; w <= 5; ++w) {
    INFO("w=" << w);
    CHECK(lane_params(fmnist(w, 1, "mlcn2")) == fm[w - 1]);
    CHECK(lane_params(cifar(w, 1, "mlcn2")) == cf[w - 1]);
    CHECK(capsules_per_level(fmnist(w, 1, "mlcn2")) == std::vector<int>{162 * w});
    CHECK(capsules_per_level(cifar(w, 1, "mlcn2")) == std::vector<int>{242 * w});
    CHECK(std::abs(table_macs(fmnist(w, 1, "mlcn2")) / 1e6 - fm_macs[w - 1]) <= 0.01 * fm_macs[w - 1]);
    CHECK(std::abs(table_macs(cifar(w, 1, "mlcn2")) / 1e6 - cf_macs[w - 1]) <= 0.01 * cf_macs[w - 1]);
  }
  CHECK_THROWS_WITH(check_lane(fmnist(1, 2, "mlcn2"), "lane 4"),
                    Catch::Contains("lane 4") && Catch::Contains("mlcn2 lanes have depth 1 only"));
}

TEST_CASE("decoder parameters D(L) of spec 1.7", "[sched][lane_model]") {
  for (int L : {1, 2, 4, 16, 32}) {
    CHECK(head_params(fmnist(1, 1), L) == 5120LL * L + 1329424);
    CHECK(head_params(cifar(1, 1), L) == 5120LL * L + 3674624);
  }
  auto h = head_stats(fmnist(1, 1), 4);
  CHECK(h.train_flops > 0);
  CHECK(head_memory_bytes(fmnist(1, 1), 4) > 4.0 * 4 * head_params(fmnist(1, 1), 4));
}

TEST_CASE("invalid depths name the lane and the level", "[sched][lane_model]") {
  CHECK(lane_is_valid(fmnist(1, 5)));
  CHECK_FALSE(lane_is_valid(fmnist(1, 6)));
  CHECK(lane_is_valid(cifar(1, 6)));
  CHECK_FALSE(lane_is_valid(cifar(1, 7)));
  CHECK_THROWS_WITH(check_lane(fmnist(1, 6), "lane 7"),
                    Catch::Contains("lane 7") && Catch::Contains("w=1 d=6") &&
                        Catch::Contains("N_5 = 6 < 14"));
  CHECK_THROWS_AS(lane_params(fmnist(0, 1)), Error);
  LaneDesc bad = fmnist(1, 1, "mlcn3");
  CHECK_THROWS_WITH(check_lane(bad), Catch::Contains("unknown lane type 'mlcn3'"));
  // Wide lanes grow, so every depth up to 5 is valid for w >= 2 on both datasets.
  for (int w = 2; w <= 5; ++w)
    for (int d = 1; d <= 5; ++d) CHECK(lane_is_valid(fmnist(w, d)));
}

TEST_CASE("memory bound grows with width, depth and batch and counts Adam state", "[sched][lane_model]") {
  double small = lane_memory_bytes(fmnist(1, 1));
  CHECK(lane_memory_bytes(fmnist(2, 1)) > small);
  CHECK(lane_memory_bytes(fmnist(1, 2)) > small);
  LaneDesc big_batch = fmnist(1, 1);
  big_batch.batch = 300;
  CHECK(lane_memory_bytes(big_batch) > small);
  // At least weights + grads + m + v + the activations of the spec column.
  LaneDesc l = fmnist(3, 3);
  auto s = lane_stats(l);
  CHECK(lane_memory_bytes(l) > 4.0 * (4 * s.params + 100 * s.activation_floats_per_sample));
  MemoryModelParams mp;
  mp.overhead_bytes = 1e6;
  CHECK(lane_memory_bytes(l, mp) == Approx(lane_memory_bytes(l) + 1e6));
  mp.tf1_tiled_w = true;
  CHECK(lane_memory_bytes(l, mp) == Approx(lane_memory_bytes(l) + 1e6 + 4.0 * 100 * 2592 * 160));
  CHECK(paper_cost(fmnist(3, 2)) == 18);
}
