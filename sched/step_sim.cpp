// Step-time simulator: makespan + head + serialised exchange, and distributed steps (see step_sim.h).
#include "sched/step_sim.h"

#include <algorithm>
#include <set>

#include "base/check.h"  // defines: MLCN_CHECK

namespace mlcn {

StepTime simulate_step(const PlacementProblem& p, const std::vector<int>& device,
                       const StepTimeParams& sp) {
  MLCN_CHECK(sp.head_device >= 0 && sp.head_device < p.devices(),
             "step simulator: head device " << sp.head_device << " is not in 0.." << p.devices() - 1);
  Placement r = evaluate(p, device);
  StepTime st;
  st.lanes = r.makespan;
  st.head = sp.head_seconds;
  std::set<int> remote;
  for (int l = 0; l < p.lanes(); ++l)
    if (device[l] != sp.head_device) {
      st.comm_bytes += 2.0 * sp.batch * sp.classes * 4;
      remote.insert(device[l]);
    }
  st.comm_bytes += double(remote.size()) * sp.batch * sp.input_floats_per_sample * 4;
  if (sp.link_bytes_per_s > 0) st.comm = st.comm_bytes / sp.link_bytes_per_s;
  st.total = st.lanes + st.head + st.comm;
  return st;
}

double ring_allreduce_seconds(double bytes, int n, const Link& link) {
  if (n <= 1) return 0;
  const double msg = bytes / n;
  return 2.0 * (n - 1) * (link.latency_s + (link.bytes_per_s > 0 ? msg / link.bytes_per_s : 0));
}

double ring_allgather_seconds(double bytes_per_rank, int n, const Link& link) {
  if (n <= 1) return 0;
  return (n - 1) * (link.latency_s + (link.bytes_per_s > 0 ? bytes_per_rank / link.bytes_per_s : 0));
}

DistStepTime simulate_model_parallel(const std::vector<double>& lane_seconds, const std::vector<double>& out_bytes,
                                     double head_seconds, int n, const Link& link) {
  MLCN_CHECK(n >= 1 && lane_seconds.size() == out_bytes.size(), "model-parallel simulation: bad arguments");
  std::vector<size_t> order(lane_seconds.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return lane_seconds[a] > lane_seconds[b]; });
  std::vector<double> load(n, 0), bytes(n, 0);
  for (size_t l : order) {
    const int d = static_cast<int>(std::min_element(load.begin(), load.end()) - load.begin());
    load[d] += lane_seconds[l];
    bytes[d] += out_bytes[l];
  }
  DistStepTime t;
  t.compute = *std::max_element(load.begin(), load.end()) + head_seconds;
  const double per_rank = *std::max_element(bytes.begin(), bytes.end());  // the all-gather pads to the largest
  t.comm = ring_allgather_seconds(per_rank, n, link);
  t.comm_bytes = n > 1 ? (n - 1) * per_rank : 0;
  t.total = t.compute + t.comm;
  return t;
}

DistStepTime simulate_data_parallel(double fixed_seconds, double per_sample_seconds, int batch, double param_bytes, int n,
                                    const Link& link) {
  MLCN_CHECK(n >= 1 && batch >= n, "data-parallel simulation: batch " << batch << " on " << n << " devices");
  DistStepTime t;
  t.compute = fixed_seconds + per_sample_seconds * double((batch + n - 1) / n);
  t.comm = ring_allreduce_seconds(param_bytes, n, link);
  t.comm_bytes = n > 1 ? 2.0 * (n - 1) * param_bytes / n : 0;
  t.total = t.compute + t.comm;
  return t;
}

}  // namespace mlcn
