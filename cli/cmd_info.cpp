// `mlcn info`: version and build options, the devices this process sees and, with --config,
// the model's parameters per lane (with sched's analytic FLOP count beside the engine's).
#include <thread>

#include "cli/cli.h"                 // defines: version_line
#include "cli/commands.h"
#include "cli/run_config.h"          // defines: load_run_config, lane_descs
#include "engine/comm/comm.h"         // defines: world
#include "engine/core/backend.h"     // defines: cuda, cuda_compiled, cuda_device_count
#include "engine/train/dist_setup.h"  // defines: gather_to_rank0
#include "sched/lane_model.h"        // defines: lane_stats

namespace mlcn::cli {

int cmd_info(const Args& a, std::ostream& out) {
  if (a.has("--set") && !a.has("--config")) throw UsageError("--set needs --config FILE");
  nlohmann::json j;
  j["build"] = {{"version", version_line()},
                {"cuda_compiled", cuda_compiled()},
                {"versions", cuda_compiled() ? cuda().versions() : std::string("built without CUDA")}};
  j["devices"] = {{{"type", "cpu"}, {"threads", std::thread::hardware_concurrency()}}};
  const int gpus = cuda_device_count();
  for (int d = 0; d < gpus; ++d) {
    kernels::MemoryInfo m = cuda().memory_info(d);
    j["devices"].push_back({{"type", "cuda"}, {"index", d}, {"name", cuda().device_name(d)}, {"memory_bytes", m.total}});
  }
  j["ranks"] = gather_to_rank0(j["devices"]);  // under mpirun: every rank's devices, on rank 0
  if (world().rank() != 0) return 0;
  if (a.has("--config")) {
    const Config cfg = load_run_config(a.get("--config"), "", a.all("--set"));
    Model model(model_spec(cfg));
    const std::vector<LaneDesc> descs = lane_descs(cfg);
    nlohmann::json lanes = nlohmann::json::array();
    for (size_t l = 0; l < model.num_lanes(); ++l) {
      nlohmann::json e = {{"parameters", model.lane(l).num_params()}};
      if (l < descs.size()) {  // the analytic model of sched/ (its parameter count equals the engine's)
        LaneDesc d = descs[l];
        d.batch = 1;
        e.update({{"type", d.type}, {"width", d.width}, {"depth", d.depth},
                  {"forward_flops_per_image", lane_stats(d).fwd_flops}});
      }
      lanes.push_back(e);
    }
    j["model"] = {{"type", cfg.model_type}, {"lanes", lanes}, {"parameters", model.num_params()}};
  }
  out << j.dump(2) << "\n";
  return 0;
}

}  // namespace mlcn::cli
