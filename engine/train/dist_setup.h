// What training needs from the distributed runtime beyond the step: the options a config asks
// for, this rank's devices, the device count sched places over, `mlcn info` across ranks, and
// the fault injection the failure tests use (MLCN_FAULT, docs/distributed.md).
#pragma once
#include <nlohmann/json.hpp>

#include "engine/runtime/dist_runtime.h"
#include "engine/train/config.h"

namespace mlcn {

// runtime.mode / replicas / placement of the config. A placement list that names devices the
// group does not have (a checkpoint resumed on fewer ranks) is replaced by round-robin.
DistOptions dist_options(const Config& cfg, int group_devices);
// This rank's devices and threads (runtime.threads 0 on several ranks of one machine: the cores
// divided by the ranks there; with GPUs, local rank k takes GPU k). Its placement is left to
// DistRuntime.
RuntimeOptions rank_runtime_options(const Config& cfg, size_t lanes);
// Devices of one replica group of the world (collective): what sched places the lanes over.
int group_device_count(const Config& cfg, int local_devices);
// Every rank's `mine` on rank 0 (a list, rank order); other ranks get null (collective).
nlohmann::json gather_to_rank0(const nlohmann::json& mine);
// MLCN_FAULT=kill:R:S or error:R:S makes rank R die by SIGKILL (or throw) at training step S.
void fault_point(int64_t step);

}  // namespace mlcn
