// sched's analytic lane model and the engine's built lanes agree on the parameter count of
// every valid lane with (w, d) in 1..5, mlcn1 and mlcn2, on both datasets.
#include <catch2/catch.hpp>

#include "engine/models/lanes.h"
#include "sched/lane_model.h"

TEST_CASE("analytic parameter counts equal the engine's", "[sched][models]") {
  int compared = 0;
  for (const char* ds : {"fashion-mnist", "cifar10"})
    for (const char* type : {"mlcn1", "mlcn2"})
      for (int w = 1; w <= 5; ++w)
        for (int d = 1; d <= 5; ++d) {
          mlcn::LaneDesc l;
          l.type = type, l.width = w, l.depth = d;
          mlcn::set_lane_input(l, ds);
          if (!mlcn::lane_is_valid(l)) continue;
          mlcn::InputShape in{l.H, l.W, l.C, 10};
          auto lane = mlcn::make_lane({type, w, d}, in, mlcn::LaneOptions{}, "");
          INFO(ds << " " << type << " w" << w << " d" << d);
          CHECK(lane->num_params() == mlcn::lane_params(l));
          ++compared;
        }
  CHECK(compared > 40);
}
