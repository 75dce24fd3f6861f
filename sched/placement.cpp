// Placement problems (construction and checks), evaluation of an assignment, the lower
// bounds, and the dispatch of place() to the algorithms.
#include "sched/placement.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <iomanip>
#include <numeric>
#include <sstream>

#include "base/check.h"  // defines: MLCN_CHECK, MLCN_FAIL
#include "sched/place_common.h"  // defines: fits, loads_of, identical_devices

namespace mlcn {

using place_detail::fits;

namespace {

std::string gib(double bytes) {
  std::ostringstream os;
  os << std::fixed << std::setprecision(2);
  if (bytes >= 1024.0 * 1024.0 * 1024.0) os << bytes / (1024.0 * 1024.0 * 1024.0) << " GiB";
  else if (bytes >= 1024.0 * 1024.0) os << bytes / (1024.0 * 1024.0) << " MiB";
  else os << std::setprecision(0) << bytes << " bytes";
  return os.str();
}

std::string lane_name(const PlacementProblem& p, int l) {
  return l < int(p.lane_names.size()) ? p.lane_names[l] : "lane " + std::to_string(l);
}

std::string device_name(const PlacementProblem& p, int g) {
  return g < int(p.device_names.size()) ? p.device_names[g] : "device " + std::to_string(g);
}

// time[l][g] * speed[g] is the same for every g (within 1e-9).
bool related_speeds(const PlacementProblem& p) {
  for (int l = 0; l < p.lanes(); ++l) {
    double w0 = p.time[l][0] * p.speed[0];
    for (int g = 1; g < p.devices(); ++g)
      if (std::fabs(p.time[l][g] * p.speed[g] - w0) > 1e-9 * std::max(1.0, std::fabs(w0)))
        return false;
  }
  return true;
}

}  // namespace

PlacementProblem make_problem(const std::vector<double>& work, const std::vector<double>& speed,
                              const std::vector<double>& mem, const std::vector<double>& capacity) {
  PlacementProblem p;
  p.speed = speed;
  for (size_t l = 0; l < work.size(); ++l) {
    std::vector<double> row;
    for (double s : speed) row.push_back(work[l] / s);
    p.time.push_back(row);
    p.lane_names.push_back("lane " + std::to_string(l));
  }
  for (size_t g = 0; g < speed.size(); ++g) p.device_names.push_back("device " + std::to_string(g));
  p.mem = mem.empty() ? std::vector<double>(work.size(), 0.0) : mem;
  p.capacity = capacity.empty() ? std::vector<double>(speed.size(), 0.0) : capacity;
  check_problem(p);
  return p;
}

PlacementProblem make_problem(const std::vector<LaneDesc>& lanes, const DeviceSet& ds,
                              const CostModel& model, const MemoryModelParams& memory) {
  PlacementProblem p;
  for (const auto& d : ds.devices) {
    p.device_names.push_back(d.name);
    p.speed.push_back(d.speed);
    p.capacity.push_back(d.memory_bytes);
  }
  for (size_t l = 0; l < lanes.size(); ++l) {
    std::string name = "lane " + std::to_string(l) + " (" + lane_label(lanes[l]) + ")";
    check_lane(lanes[l], "lane " + std::to_string(l));
    p.lane_names.push_back(name);
    std::vector<double> row;
    for (const auto& d : ds.devices) row.push_back(model.lane_time(lanes[l], d));
    p.time.push_back(row);
    p.mem.push_back(lane_memory_bytes(lanes[l], memory));
  }
  check_problem(p);
  return p;
}

void check_problem(const PlacementProblem& p) {
  const int L = p.lanes(), G = p.devices();
  MLCN_CHECK(L >= 1, "placement: no lanes to place");
  MLCN_CHECK(G >= 1, "placement: no devices to place lanes on");
  MLCN_CHECK(int(p.mem.size()) == L && int(p.capacity.size()) == G,
             "placement: " << L << " lanes and " << G << " devices but " << p.mem.size()
                           << " memory needs and " << p.capacity.size() << " capacities");
  for (int g = 0; g < G; ++g)
    MLCN_CHECK(p.speed[g] > 0 && std::isfinite(p.speed[g]),
               "placement: " << device_name(p, g) << " has speed " << p.speed[g]);
  double total_mem = 0, total_cap = 0;
  bool all_limited = true;
  for (int g = 0; g < G; ++g) {
    if (p.capacity[g] <= 0) all_limited = false;
    total_cap += p.capacity[g];
  }
  for (int l = 0; l < L; ++l) {
    MLCN_CHECK(int(p.time[l].size()) == G, "placement: " << lane_name(p, l) << " has "
                                                         << p.time[l].size() << " times for " << G
                                                         << " devices");
    for (int g = 0; g < G; ++g)
      MLCN_CHECK(p.time[l][g] >= 0 && std::isfinite(p.time[l][g]),
                 "placement: " << lane_name(p, l) << " has time " << p.time[l][g] << " on "
                               << device_name(p, g));
    bool fits_one = false;
    int biggest = 0;
    for (int g = 0; g < G; ++g) {
      if (fits(0, p.mem[l], p.capacity[g])) fits_one = true;
      if (p.capacity[g] > p.capacity[biggest]) biggest = g;
    }
    MLCN_CHECK(fits_one, lane_name(p, l) << " needs " << gib(p.mem[l])
                                         << " of memory but the largest device ("
                                         << device_name(p, biggest) << ") has "
                                         << gib(p.capacity[biggest]));
    total_mem += p.mem[l];
  }
  MLCN_CHECK(!all_limited || total_mem <= total_cap * (1 + 1e-12),
             "placement: the lanes need " << gib(total_mem) << " in total but the devices hold only "
                                          << gib(total_cap));
}

Placement evaluate(const PlacementProblem& p, const std::vector<int>& device) {
  MLCN_CHECK(int(device.size()) == p.lanes(),
             "placement has " << device.size() << " entries for " << p.lanes() << " lanes");
  Placement r;
  r.device = device;
  r.load.assign(p.devices(), 0.0);
  r.mem_used.assign(p.devices(), 0.0);
  for (int l = 0; l < p.lanes(); ++l) {
    int g = device[l];
    MLCN_CHECK(g >= 0 && g < p.devices(), lane_name(p, l) << " is placed on device index " << g
                                                          << ", not in 0.." << p.devices() - 1);
    r.load[g] += p.time[l][g];
    r.mem_used[g] += p.mem[l];
  }
  for (int g = 0; g < p.devices(); ++g)
    MLCN_CHECK(fits(0, r.mem_used[g], p.capacity[g]),
               device_name(p, g) << " is over capacity: its lanes need " << gib(r.mem_used[g])
                                 << " but it has " << gib(p.capacity[g]));
  r.makespan = *std::max_element(r.load.begin(), r.load.end());
  return r;
}

double lower_bound(const PlacementProblem& p) {
  const int L = p.lanes(), G = p.devices();
  double speed_sum = std::accumulate(p.speed.begin(), p.speed.end(), 0.0);
  double volume = 0, single = 0;
  for (int l = 0; l < L; ++l) {
    // Any positive device weights give a valid volume bound; the speeds make it tight.
    double w = INFINITY, t = INFINITY;
    for (int g = 0; g < G; ++g)
      if (fits(0, p.mem[l], p.capacity[g])) {
        w = std::min(w, p.time[l][g] * p.speed[g]);
        t = std::min(t, p.time[l][g]);
      }
    volume += w;
    single = std::max(single, t);
  }
  double lb = std::max(volume / speed_sum, single);
  lb = std::max(lb, memory_fill_bound(p));
  lb = std::max(lb, memory_conflict_bound(p));
  if (related_speeds(p)) {
    // Preemptive optimum of Q|pmtn|Cmax: the k largest lanes need the k fastest devices.
    std::vector<double> work(L), speed = p.speed;
    for (int l = 0; l < L; ++l) work[l] = p.time[l][0] * p.speed[0];
    std::sort(work.rbegin(), work.rend());
    std::sort(speed.rbegin(), speed.rend());
    double pw = 0, ps = 0;
    for (int k = 0; k < std::min(L, G); ++k) {
      pw += work[k];
      ps += speed[k];
      lb = std::max(lb, pw / ps);
    }
    // Pigeonhole on identical speeds: two of the G+1 largest lanes share a device.
    if (L > G && speed.front() == speed.back()) lb = std::max(lb, (work[G - 1] + work[G]) / speed[0]);
  }
  return lb;
}

double memory_fill_bound(const PlacementProblem& p) {
  double total_mem = 0, total_cap = 0;
  for (double m : p.mem) total_mem += m;
  for (double c : p.capacity) {
    if (c <= 0) return 0;  // an unlimited device can take any surplus
    total_cap += c;
  }
  double lb = 0;
  std::vector<std::pair<double, int>> by_density;
  for (int g = 0; g < p.devices(); ++g) {
    // Device g holds at least what the others cannot: total need - their capacity.
    double need = total_mem - (total_cap - p.capacity[g]);
    if (need <= 0) continue;
    by_density.clear();
    for (int l = 0; l < p.lanes(); ++l)
      if (p.mem[l] > 0 && fits(0, p.mem[l], p.capacity[g]))
        by_density.emplace_back(p.time[l][g] / p.mem[l], l);
    std::sort(by_density.begin(), by_density.end());
    // Fractional covering: the least time per byte first (a lower bound on any integral one).
    double t = 0;
    for (const auto& [ratio, l] : by_density) {
      const double take = std::min(need, p.mem[l]);
      t += ratio * take;
      need -= take;
      if (need <= 0) break;
    }
    lb = std::max(lb, t);
  }
  return lb;
}

namespace {

// Kuhn's augmenting path for lane i of `big` among devices allowed by ok(i, g).
template <class Ok>
bool augment(int i, const Ok& ok, int G, std::vector<int>* owner, std::vector<char>* seen) {
  for (int g = 0; g < G; ++g) {
    if (!ok(i, g) || (*seen)[g]) continue;
    (*seen)[g] = 1;
    if ((*owner)[g] < 0 || augment((*owner)[g], ok, G, owner, seen)) {
      (*owner)[g] = i;
      return true;
    }
  }
  return false;
}

}  // namespace

double memory_conflict_bound(const PlacementProblem& p) {
  const int G = p.devices();
  double max_cap = 0;
  for (double c : p.capacity) {
    if (c <= 0) return 0;
    max_cap = std::max(max_cap, c);
  }
  std::vector<int> big;  // no two of these fit one device together
  for (int l = 0; l < p.lanes(); ++l)
    if (p.mem[l] > max_cap / 2 * (1 + 1e-12)) big.push_back(l);
  if (big.size() < 2 || int(big.size()) > G) return 0;
  std::vector<double> cand;
  for (int l : big)
    for (int g = 0; g < G; ++g)
      if (fits(0, p.mem[l], p.capacity[g])) cand.push_back(p.time[l][g]);
  std::sort(cand.begin(), cand.end());
  cand.erase(std::unique(cand.begin(), cand.end()), cand.end());
  // The least threshold T at which the big lanes can sit on distinct devices, each taking at
  // most T there (bottleneck matching by bisection over the candidate times).
  auto matches = [&](double T) {
    auto ok = [&](int i, int g) {
      return fits(0, p.mem[big[i]], p.capacity[g]) && p.time[big[i]][g] <= T;
    };
    std::vector<int> owner(G, -1);
    for (int i = 0; i < int(big.size()); ++i) {
      std::vector<char> seen(G, 0);
      if (!augment(i, ok, G, &owner, &seen)) return false;
    }
    return true;
  };
  size_t lo = 0, hi = cand.size();
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (matches(cand[mid])) hi = mid;
    else lo = mid + 1;
  }
  return lo < cand.size() ? cand[lo] : 0;
}

std::vector<int> lanes_by_decreasing_work(const PlacementProblem& p) {
  std::vector<double> work(p.lanes(), 0.0);
  for (int l = 0; l < p.lanes(); ++l) {
    for (int g = 0; g < p.devices(); ++g) work[l] += p.time[l][g] * p.speed[g];
    work[l] /= p.devices();
  }
  std::vector<int> order(p.lanes());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return work[a] > work[b]; });
  return order;
}

std::vector<std::string> placement_algorithms() {
  return {"random", "random-iid", "greedy", "greedy-ect", "kk", "local-search", "exact"};
}

Placement place(const PlacementProblem& p, const std::string& algo, const PlaceOptions& opt) {
  check_problem(p);
  auto t0 = std::chrono::steady_clock::now();
  Placement r;
  if (algo == "exact") {
    std::vector<int> start;
    try {
      start = place_local_search(p, opt);
    } catch (const Error&) {
      // No heuristic found room for every lane: settle feasibility by a memory-only search
      // (largest memory first), which proves infeasibility far faster than the bin search.
      int status = find_memory_feasible(p, &start);
      if (status == 0) {
        int big = int(std::max_element(p.mem.begin(), p.mem.end()) - p.mem.begin());
        MLCN_FAIL("exact: no placement fits all lanes in memory; " << lane_name(p, big)
                                                                    << " (the largest) cannot fit together with the others");
      }
      if (status < 0) start.clear();
    }
    r = place_exact(p, start, opt);
  } else {
    std::vector<int> dev;
    if (algo == "random") dev = place_random(p, opt.seed);
    else if (algo == "random-iid") dev = place_random_iid(p, opt.seed);
    else if (algo == "greedy") dev = place_greedy(p);
    else if (algo == "greedy-ect") dev = place_greedy_ect(p);
    else if (algo == "kk") dev = place_kk(p);
    else if (algo == "local-search") dev = place_local_search(p, opt);
    else {
      std::string all;
      for (const auto& a : placement_algorithms()) all += (all.empty() ? "" : ", ") + a;
      MLCN_FAIL("unknown placement algorithm '" << algo << "' (expected one of: " << all << ")");
    }
    r = evaluate(p, dev);
    r.lower_bound = lower_bound(p);
    r.optimal = r.makespan <= r.lower_bound * (1 + 1e-9);
  }
  r.algo = algo;
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

}  // namespace mlcn
