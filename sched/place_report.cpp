// place_report: build the placement problem from the lanes, devices and cost model, run the
// algorithm and the step-time simulator, and report one JSON object; resolve_placement.
#include "sched/place_report.h"

#include <cmath>
#include <cstdlib>

#include "base/check.h"  // defines: MLCN_CHECK, MLCN_FAIL
#include "sched/calibration.h"  // defines: load_calibration
#include "sched/cost_model.h"   // defines: CostModel
#include "sched/placement.h"    // defines: place, make_problem
#include "sched/step_sim.h"     // defines: simulate_step

namespace mlcn {

nlohmann::ordered_json place_report(const PlaceRequest& a) {
  const std::vector<LaneDesc>& lanes = a.lanes;
  MLCN_CHECK(!lanes.empty(), "place: no lanes to place");
  const DeviceSet& ds = a.devices;
  Calibration cal;
  if (!a.calibration.empty()) cal = load_calibration(a.calibration);
  MemoryModelParams mem = a.calibration.empty() ? MemoryModelParams{} : cal.memory;
  CostModel model = CostModel::by_name(a.model, ds, a.calibration.empty() ? nullptr : &cal);
  PlacementProblem prob = make_problem(lanes, ds, model, mem);

  PlaceOptions opt;
  opt.seed = a.seed;
  opt.time_limit_s = a.time_limit_s;
  Placement r = place(prob, a.algo, opt);

  StepTimeParams sp;
  sp.head_device = ds.head;
  sp.head_seconds = model.head_time(lanes[0], int(lanes.size()), ds.devices[ds.head]);
  sp.link_bytes_per_s = model.kind() == CostModelKind::paper ? 0 : ds.link_bytes_per_s;
  sp.batch = lanes[0].batch;
  sp.classes = lanes[0].classes;
  sp.input_floats_per_sample = double(lanes[0].H) * lanes[0].W * lanes[0].C;
  StepTime st = simulate_step(prob, r.device, sp);

  nlohmann::ordered_json out;
  out["placement"] = r.device;
  out["algo"] = r.algo;
  out["model"] = model.name();
  out["seed"] = a.seed;
  out["devices"] = prob.device_names;
  out["load"] = r.load;
  out["memory_bytes"] = r.mem_used;
  out["makespan"] = r.makespan;
  out["lower_bound"] = r.lower_bound;
  out["gap"] = r.lower_bound > 0 ? r.makespan / r.lower_bound - 1 : 0.0;
  out["optimal"] = r.optimal;
  out["step_time"] = {{"lanes", st.lanes}, {"head", st.head}, {"comm", st.comm}, {"total", st.total}};
  out["seconds"] = r.seconds;
  out["nodes"] = r.nodes;
  return out;
}

std::vector<int> resolve_placement(const nlohmann::json& value, const std::vector<LaneDesc>& lanes,
                                   const DeviceSet& devices, const std::string& model, uint64_t seed) {
  PlacementProblem prob = make_problem(lanes, devices, CostModel::by_name(model, devices));
  if (value.is_string()) {
    PlaceOptions opt;
    opt.seed = seed;
    return place(prob, value.get<std::string>(), opt).device;
  }
  MLCN_CHECK(value.is_array(), "runtime.placement must be an algorithm name or an array of device "
                               "indices, got " << value.dump());
  MLCN_CHECK(value.size() == lanes.size(), "runtime.placement has " << value.size() << " entries for "
                                                                   << lanes.size() << " lanes");
  std::vector<int> device;
  for (const auto& v : value) {
    MLCN_CHECK(v.is_number_integer(), "runtime.placement entries must be device indices, got " << v.dump());
    device.push_back(v.get<int>());
  }
  evaluate(prob, device);
  return device;
}

}  // namespace mlcn
