// `mlcn place` end to end through the CLI library: lanes file and training config inputs, the
// JSON report's keys and consistency, and the errors (and exit statuses) for bad input.
#include <catch2/catch.hpp>

#include <fstream>

#include "base/check.h"
#include "sched/devices.h"
#include "sched/lane_io.h"
#include "cli/run_config.h"
#include "engine/train/config.h"
#include "sched/place_report.h"

#include "cli_run.h"

using namespace mlcn;

namespace {

std::string write_file(const std::string& name, const std::string& text) {
  std::string path = std::string(MLCN_BINARY_DIR) + "/test_sched_" + name;
  std::ofstream(path) << text;
  return path;
}

const char* kLanes = R"({"dataset": "fashion-mnist", "lanes": [
  {"type": "mlcn1", "width": 2, "depth": 3}, {"type": "mlcn1", "width": 1, "depth": 1},
  {"type": "mlcn1", "width": 3, "depth": 2}, {"type": "mlcn2", "width": 2},
  {"type": "mlcn1", "width": 1, "depth": 5}, {"type": "mlcn1", "width": 2, "depth": 2}]})";

const char* kDevices = R"({"devices": [
  {"name": "K80", "speed": 1, "memory_gib": 12}, {"name": "M40", "speed": 3.1, "memory_gib": 24},
  {"name": "P100", "speed": 4.2, "memory_gib": 16}, {"name": "V100", "speed": 6, "memory_gib": 16}],
  "head": 0, "link_bytes_per_s": 1.25e9})";

// The report of a successful `mlcn place ARGS`.
nlohmann::ordered_json place_json(std::vector<std::string> args) {
  args.insert(args.begin(), "place");
  CliRun r = run_cli(args);
  INFO(r.err);
  REQUIRE(r.status == 0);
  return nlohmann::ordered_json::parse(r.out);
}

// The stderr of a failing `mlcn place ARGS`, which must exit with `status`.
std::string place_error(std::vector<std::string> args, int status = 1) {
  args.insert(args.begin(), "place");
  CliRun r = run_cli(args);
  CHECK(r.status == status);
  return r.err;
}

}  // namespace

TEST_CASE("place prints placement, loads, makespan, bound and optimality", "[cli]") {
  std::string lanes = write_file("lanes.json", kLanes), devs = write_file("devices.json", kDevices);
  for (std::string algo : {"greedy", "greedy-ect", "local-search", "exact", "random"}) {
    auto out =
        place_json({"--lanes", lanes, "--devices", devs, "--algo", algo, "--seed", "3"});
    INFO(out.dump());
    CHECK(out["algo"] == algo);
    CHECK(out["model"] == "paper");
    REQUIRE(out["placement"].size() == 6);
    REQUIRE(out["load"].size() == 4);
    double max_load = 0;
    for (double x : out["load"]) max_load = std::max(max_load, x);
    CHECK(out["makespan"].get<double>() == Approx(max_load));
    CHECK(out["lower_bound"].get<double>() <= out["makespan"].get<double>() * (1 + 1e-12));
    CHECK(out["step_time"]["total"].get<double>() >= out["makespan"].get<double>());
    if (algo == "exact") CHECK(out["optimal"] == true);
    // Paper costs have no time unit: no head or exchange term.
    CHECK(out["step_time"]["comm"].get<double>() == 0);
    CHECK(out.begin().key() == "placement");
  }
  // Paper costs d*w^2 = 12, 1, 18, 4, 5, 8 (sum 48) on speeds summing to 14.3.
  auto ex = place_json({"--lanes", lanes, "--devices", devs, "--algo", "exact"});
  CHECK(ex["lower_bound"].get<double>() >= 48 / 14.3);
  auto fl = place_json(
      {"--lanes", lanes, "--devices", devs, "--algo", "exact", "--model", "flops"});
  CHECK(fl["model"] == "flops");
  CHECK(fl["step_time"]["head"].get<double>() > 0);
  CHECK(fl["step_time"]["comm"].get<double>() >= 0);
}

TEST_CASE("place reads lanes from a training config", "[cli]") {
  std::string cfg = write_file("config.json", R"({
    "model": {"lanes": [{"type": "mlcn1", "width": 2, "depth": 1},
                        {"type": "mlcn1", "width": 1, "depth": 6}], "routings": 3},
    "data": {"dataset": "cifar10"}, "train": {"batch_size": 50, "epochs": 3}})");
  auto lanes = mlcn::cli::lane_descs(load_config(cfg));
  REQUIRE(lanes.size() == 2);
  CHECK(lanes[1].H == 32);
  CHECK(lanes[1].C == 3);
  CHECK(lanes[0].batch == 50);
  std::string devs = write_file("devices2.json", R"({"devices": [{"name": "a", "speed": 1},
                                                                  {"name": "b", "speed": 1}]})");
  auto out = place_json({"--config", cfg, "--devices", devs, "--algo", "exact"});
  CHECK(out["placement"].size() == 2);
  CHECK(out["optimal"] == true);
  CHECK(out["makespan"].get<double>() == 6);  // d*w^2: 4 and 6 on two devices
}

TEST_CASE("place rejects bad input with one clear line", "[cli]") {
  std::string lanes = write_file("lanes.json", kLanes), devs = write_file("devices.json", kDevices);
  CHECK_THAT(place_error({"--lanes", "/nonexistent/l.json", "--devices", devs, "--algo", "greedy"}),
                    Catch::Contains("/nonexistent/l.json: cannot open"));
  std::string bad = write_file("bad.json", "{\"lanes\": [");
  CHECK_THAT(place_error({"--lanes", bad, "--devices", devs, "--algo", "greedy"}),
                    Catch::Contains("bad.json") && Catch::Contains("invalid JSON"));
  CHECK_THAT(place_error({"--lanes", lanes, "--devices", devs, "--algo", "best"}),
                    Catch::Contains("unknown placement algorithm 'best'"));
  CHECK_THAT(place_error({"--lanes", lanes, "--algo", "greedy"}, 2),
                    Catch::Contains("--devices FILE is required"));
  CHECK_THAT(place_error({"--lanes", lanes, "--config", lanes, "--devices", devs, "--algo", "greedy"}, 2),
                    Catch::Contains("exactly one of --lanes"));
  CHECK_THAT(place_error({"--lanes", lanes, "--devices", devs, "--algo", "greedy", "--seed", "x"}, 2),
                    Catch::Contains("--seed"));
  CHECK_THAT(place_error({"--lanes", lanes, "--devices", devs, "--algo", "greedy", "--model", "magic"}),
                    Catch::Contains("unknown cost model 'magic'"));
  std::string invalid = write_file("invalid.json", R"({"lanes": [{"type": "mlcn1", "width": 1, "depth": 6}]})");
  CHECK_THAT(place_error({"--lanes", invalid, "--devices", devs, "--algo", "greedy"}),
                    Catch::Contains("lanes[0]") && Catch::Contains("invalid depth 6"));
  std::string big = write_file("big.json", R"({"lanes": [{"width": 1, "depth": 1}, {"width": 5, "depth": 5}]})");
  CHECK_THAT(place_error({"--lanes", big, "--devices", devs, "--algo", "exact"}),
                    Catch::Contains("lane 1 (mlcn1 w=5 d=5 28x28x1) needs"));
  std::string baddev = write_file("baddev.json", R"({"devices": [{"name": "a", "sped": 1}]})");
  CHECK_THAT(place_error({"--lanes", lanes, "--devices", baddev, "--algo", "greedy"}),
                    Catch::Contains("baddev.json") && Catch::Contains("unknown key 'sped'"));
}

TEST_CASE("device sets round-trip and the paper's GPUs", "[cli]") {
  DeviceSet ds = paper_gpus(true);
  CHECK(ds.devices.size() == 4);
  CHECK(ds.devices[3].speed == 6);
  DeviceSet back = device_set_from_json(device_set_to_json(ds), "x");
  REQUIRE(back.devices.size() == 4);
  for (size_t i = 0; i < 4; ++i) {
    CHECK(back.devices[i].name == ds.devices[i].name);
    CHECK(back.devices[i].speed == ds.devices[i].speed);
    CHECK(back.devices[i].memory_bytes == ds.devices[i].memory_bytes);
  }
}

TEST_CASE("runtime.placement: explicit indices or an algorithm name", "[cli]") {
  std::vector<LaneDesc> lanes = lanes_from_json(nlohmann::json::parse(kLanes), "lanes");
  DeviceSet ds = paper_gpus(true);
  auto ex = resolve_placement("exact", lanes, ds);
  CHECK(ex.size() == 6);
  CHECK(resolve_placement(nlohmann::json(ex), lanes, ds) == ex);
  CHECK_THROWS_WITH(resolve_placement(nlohmann::json::array({0, 1}), lanes, ds),
                    Catch::Contains("2 entries for 6 lanes"));
  CHECK_THROWS_WITH(resolve_placement(nlohmann::json::array({0, 1, 2, 3, 4, 0}), lanes, ds),
                    Catch::Contains("device index 4"));
  CHECK_THROWS_WITH(resolve_placement(nlohmann::json(7), lanes, ds), Catch::Contains("runtime.placement"));
  CHECK_THROWS_WITH(resolve_placement("fastest", lanes, ds), Catch::Contains("unknown placement algorithm"));
}
