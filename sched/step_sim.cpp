// Step-time simulator: makespan + head + serialised exchange (see step_sim.h).
#include "sched/step_sim.h"

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

}  // namespace mlcn
