// Distributed training setup; see dist_setup.h.
#include "engine/train/dist_setup.h"

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include "base/json_io.h"  // defines: parse_json_text
#include "engine/train/trainer.h"

namespace mlcn {

DistOptions dist_options(const Config& cfg, int group_devices) {
  DistOptions d;
  d.mode = cfg.mode;
  d.replicas = cfg.replicas;
  d.clip_norm = cfg.clip_norm;
  if (!cfg.placement.is_array()) return d;
  for (const auto& v : cfg.placement) {
    MLCN_CHECK(v.is_number_integer(), "runtime.placement: " << v.dump() << " is not a device index");
    d.placement.push_back(v.get<int>());
  }
  for (int p : d.placement)
    if (p < 0 || p >= group_devices) {
      if (world().rank() == 0)
        std::fprintf(stderr, "runtime.placement names device %d, but a replica group has %d: placing round-robin\n", p,
                     group_devices);
      d.placement.clear();
      break;
    }
  return d;
}

RuntimeOptions rank_runtime_options(const Config& cfg, size_t lanes) {
  nlohmann::json j = cfg.json;
  j["runtime"]["placement"] = "round-robin";
  if (world().size() > 1 && cfg.threads == 0) {
    const char* local = std::getenv("OMPI_COMM_WORLD_LOCAL_SIZE");
    if (!local) local = std::getenv("SLURM_NTASKS_PER_NODE");
    const int here = local ? std::max(1, std::atoi(local)) : world().size();
    j["runtime"]["threads"] = std::max(1, static_cast<int>(std::thread::hardware_concurrency()) / here);
  }
  RuntimeOptions o = runtime_options(config_from_json(j, "runtime"), lanes);
  // Several ranks on one machine with GPUs: rank k of the machine takes GPU k (mod the count).
  const char* local_rank = std::getenv("OMPI_COMM_WORLD_LOCAL_RANK");
  if (!local_rank) local_rank = std::getenv("SLURM_LOCALID");
  const char* local_size = std::getenv("OMPI_COMM_WORLD_LOCAL_SIZE");
  if (!local_size) local_size = std::getenv("SLURM_NTASKS_PER_NODE");
  if (world().size() > 1 && local_rank && local_size && std::atoi(local_size) > 1 && !o.devices.empty() &&
      o.devices[0].is_cuda()) {
    const Device mine = o.devices[std::atoi(local_rank) % o.devices.size()];
    o.devices = {mine};
  }
  return o;
}

int group_device_count(const Config& cfg, int local_devices) {
  Comm& w = world();
  const int R = replica_groups(cfg.mode, cfg.replicas, w.size());
  std::vector<int64_t> all = w.allgather_int(local_devices);
  const int G = w.size() / R, first = (w.rank() / G) * G;
  int64_t n = 0;
  for (int r = first; r < first + G; ++r) n += all[r];
  return static_cast<int>(n);
}

nlohmann::json gather_to_rank0(const nlohmann::json& mine) {
  Comm& w = world();
  nlohmann::json out = nlohmann::json::array();
  for (int r = 0; r < w.size(); ++r) {
    std::string bytes = w.rank() == r ? mine.dump() : std::string();
    w.broadcast_bytes(bytes, r);
    out.push_back(parse_json_text(bytes, "rank " + std::to_string(r) + "'s report"));
  }
  return w.rank() == 0 ? out : nlohmann::json();
}

void fault_point(int64_t step) {
  static const char* spec = std::getenv("MLCN_FAULT");
  if (!spec) return;
  char kind[16] = {0};
  int rank = -1;
  long long at = -1;
  if (std::sscanf(spec, "%15[a-z]:%d:%lld", kind, &rank, &at) != 3 || rank != world().rank() || at != step) return;
  if (std::string(kind) == "kill") std::raise(SIGKILL);
  MLCN_FAIL("injected failure (MLCN_FAULT=" << spec << ") at step " << step);
}

}  // namespace mlcn
