// `mlcn place`: parse the arguments, build the placement problem from the lanes, devices and
// cost model, run the algorithm and the step-time simulator, and report one JSON object.
#include "sched/place_command.h"

#include <cmath>
#include <cstdlib>

#include "base/check.h"  // defines: MLCN_CHECK, MLCN_FAIL
#include "sched/calibration.h"  // defines: load_calibration
#include "sched/cost_model.h"   // defines: CostModel
#include "sched/lane_io.h"      // defines: load_lanes_file, load_lanes_from_config
#include "sched/placement.h"    // defines: place, make_problem
#include "sched/step_sim.h"     // defines: simulate_step

namespace mlcn {

namespace {

struct PlaceArgs {
  std::string lanes, config, devices, algo, model = "paper", calibration;
  uint64_t seed = 1;
  double time_limit = 10;
};

uint64_t parse_seed(const std::string& s) {
  char* end = nullptr;
  unsigned long long v = std::strtoull(s.c_str(), &end, 10);
  MLCN_CHECK(!s.empty() && *end == '\0' && s[0] != '-', "place: --seed must be a non-negative integer, got '" << s << "'");
  return v;
}

double parse_seconds(const std::string& s) {
  char* end = nullptr;
  double v = std::strtod(s.c_str(), &end);
  MLCN_CHECK(!s.empty() && *end == '\0' && std::isfinite(v) && v > 0,
             "place: --time-limit must be a positive number of seconds, got '" << s << "'");
  return v;
}

PlaceArgs parse(const std::vector<std::string>& args) {
  PlaceArgs a;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& k = args[i];
    MLCN_CHECK(i + 1 < args.size(), "place: option '" << k << "' needs a value\n" << place_usage());
    const std::string& v = args[++i];
    if (k == "--lanes") a.lanes = v;
    else if (k == "--config") a.config = v;
    else if (k == "--devices") a.devices = v;
    else if (k == "--algo") a.algo = v;
    else if (k == "--model") a.model = v;
    else if (k == "--calibration") a.calibration = v;
    else if (k == "--seed") a.seed = parse_seed(v);
    else if (k == "--time-limit") a.time_limit = parse_seconds(v);
    else MLCN_FAIL("place: unknown option '" << k << "'\n" << place_usage());
  }
  MLCN_CHECK(a.lanes.empty() != a.config.empty(),
             "place: give exactly one of --lanes FILE or --config FILE\n" << place_usage());
  MLCN_CHECK(!a.devices.empty(), "place: --devices FILE is required\n" << place_usage());
  MLCN_CHECK(!a.algo.empty(), "place: --algo NAME is required\n" << place_usage());
  return a;
}

}  // namespace

std::string place_usage() {
  return "usage: mlcn place --lanes FILE|--config FILE --devices FILE --algo NAME "
         "[--seed N] [--time-limit S] [--model paper|flops|calibrated] [--calibration FILE]\n"
         "  algorithms: random, random-iid, greedy, greedy-ect, kk, local-search, exact";
}

nlohmann::ordered_json run_place_command(const std::vector<std::string>& args) {
  PlaceArgs a = parse(args);
  std::vector<LaneDesc> lanes =
      a.lanes.empty() ? load_lanes_from_config(a.config) : load_lanes_file(a.lanes);
  DeviceSet ds = load_device_set(a.devices);
  Calibration cal;
  if (!a.calibration.empty()) cal = load_calibration(a.calibration);
  MemoryModelParams mem = a.calibration.empty() ? MemoryModelParams{} : cal.memory;
  CostModel model = CostModel::by_name(a.model, ds, a.calibration.empty() ? nullptr : &cal);
  PlacementProblem prob = make_problem(lanes, ds, model, mem);

  PlaceOptions opt;
  opt.seed = a.seed;
  opt.time_limit_s = a.time_limit;
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
