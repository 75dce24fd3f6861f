// Placement of lanes on devices: the problem (a time per lane per device, a memory need per
// lane, a capacity per device), the result, lower bounds, and the algorithms by name:
//   random       shuffle the lanes, lane i of the shuffle on device i mod G (spec §4.3 (b))
//   random-iid   every lane on a uniformly drawn device (spec §4.3 (a))
//   greedy       the paper's Algorithm 1: largest lane first into the least-loaded device
//   greedy-ect   largest lane first onto the device where it finishes earliest
//   kk           Karmarkar-Karp multiway differencing (identical devices), then memory repair
//   local-search best of greedy/greedy-ect/kk, improved by moves, swaps and exact two-device
//                re-partitions, with seeded perturbations; never worse than greedy
//   exact        branch and bound from local-search's answer; proves the optimum or, at the
//                time limit, returns the best found with the proven gap
// Every algorithm respects memory: a lane that fits no device is an error naming it; the
// constructive rules are list schedules that backtrack when memory leaves a lane no device,
// and random/kk placements that overflow a device are repaired by the same mechanism.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "sched/cost_model.h"  // defines: CostModel
#include "sched/devices.h"     // defines: DeviceSet
#include "sched/lane_model.h"  // defines: LaneDesc, MemoryModelParams

namespace mlcn {

struct PlacementProblem {
  std::vector<std::string> lane_names;    // (L) for messages, e.g. "lane 3 (mlcn1 w=2 d=3 ...)"
  std::vector<std::string> device_names;  // (G)
  std::vector<std::vector<double>> time;  // (L, G) time of lane l on device g
  std::vector<double> mem;                // (L) bytes lane l needs
  std::vector<double> capacity;           // (G) bytes; 0 = unlimited
  std::vector<double> speed;              // (G) relative speeds (weights of the volume bound)
  int lanes() const { return int(time.size()); }
  int devices() const { return int(speed.size()); }
};

// Related machines: time[l][g] = work[l] / speed[g]. capacity may be empty (unlimited).
PlacementProblem make_problem(const std::vector<double>& work, const std::vector<double>& speed,
                              const std::vector<double>& mem = {},
                              const std::vector<double>& capacity = {});
// From lane descriptions: times from the cost model, memory from the analytic bound.
PlacementProblem make_problem(const std::vector<LaneDesc>& lanes, const DeviceSet& devices,
                              const CostModel& model, const MemoryModelParams& memory = {});

// Throws mlcn::Error naming the first lane that fits no device alone, or saying that the
// lanes' total memory exceeds the total capacity; checks shapes and that times are >= 0.
void check_problem(const PlacementProblem& p);

struct Placement {
  std::string algo;
  std::vector<int> device;       // (L) device index of each lane
  std::vector<double> load;      // (G) summed lane time per device
  std::vector<double> mem_used;  // (G) summed lane memory per device
  double makespan = 0;
  double lower_bound = 0;        // best proven lower bound on the optimal makespan
  bool optimal = false;          // makespan proven optimal (exact, or makespan == bound)
  double seconds = 0;            // wall time of the algorithm
  int64_t nodes = 0;             // search nodes (exact)
};

// Loads, memory and makespan of an assignment; throws if a lane is unassigned or a device
// is over capacity (naming both).
Placement evaluate(const PlacementProblem& p, const std::vector<int>& device);

// max(volume bound, largest lane on its best device, preemptive bound for related speeds,
// pigeonhole bound for identical speeds, the two memory bounds below). Valid for every
// assignment.
double lower_bound(const PlacementProblem& p);
// When every device has a capacity: device g must hold at least (total need - the other
// devices' capacity) bytes, which takes at least the time of the fractional covering by
// the lanes of least time per byte on g; the largest such time over the devices (0 if none).
double memory_fill_bound(const PlacementProblem& p);
// When every device has a capacity: the lanes needing more than half the largest capacity
// need distinct devices; the least T at which they can be matched to distinct devices they
// fit, each taking at most T there (0 when fewer than two such lanes).
double memory_conflict_bound(const PlacementProblem& p);

struct PlaceOptions {
  uint64_t seed = 1;
  double time_limit_s = 10;   // exact only
  int kicks = 200;            // local-search perturbations
  int64_t search_nodes = 200000;  // local-search: exact's branch and bound from its best, nodes
};

std::vector<std::string> placement_algorithms();
Placement place(const PlacementProblem& p, const std::string& algo, const PlaceOptions& opt = {});

// Individual algorithms (place() dispatches to these and fills seconds/lower_bound).
std::vector<int> place_random(const PlacementProblem& p, uint64_t seed);
std::vector<int> place_random_iid(const PlacementProblem& p, uint64_t seed);
std::vector<int> place_greedy(const PlacementProblem& p);
std::vector<int> place_greedy_ect(const PlacementProblem& p);
std::vector<int> place_kk(const PlacementProblem& p);
std::vector<int> place_local_search(const PlacementProblem& p, const PlaceOptions& opt);
// Branch and bound starting from `start` (a feasible assignment). Fills optimal/nodes.
Placement place_exact(const PlacementProblem& p, const std::vector<int>& start,
                      const PlaceOptions& opt);

// Any placement that fits memory, by exact's complete search with no makespan target:
// 1 (found, *device filled), 0 (none exists), -1 (time limit reached first). At most 64 lanes.
int find_placement_exact(const PlacementProblem& p, std::vector<int>* device, double time_limit_s);
// exact's search from the feasible `start` within node_limit nodes in all: 8 probes that
// bisect between the lower bound and the best makespan found, each looking for any placement
// below the midpoint. Returns the best placement found (start when none is better).
// Deterministic.
std::vector<int> improve_exact(const PlacementProblem& p, const std::vector<int>& start,
                               int64_t node_limit);

// Lanes sorted by decreasing work (mean over devices of time * speed), ties by index.
std::vector<int> lanes_by_decreasing_work(const PlacementProblem& p);
// Depth-first search for any placement that fits memory (largest memory first, each lane onto
// the device with room where it finishes earliest). Returns 1 and fills *device when found,
// 0 when none exists (the search was complete), -1 when node_limit was reached first.
int find_memory_feasible(const PlacementProblem& p, std::vector<int>* device,
                         long node_limit = 2000000);
// Makes an assignment respect memory: lanes (largest memory first) keep their device when it
// has room, else take the device with room where they finish earliest, backtracking if
// needed; an assignment that fits is unchanged. Throws when no placement fits.
void repair_memory(const PlacementProblem& p, std::vector<int>* device);

}  // namespace mlcn
