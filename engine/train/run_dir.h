// Run-directory safety for `mlcn train`: one writer at a time (a lock file holding the owner's
// pid, taken with flock so a dead owner's lock is stale and taken over), removal of the temp
// files of killed atomic writes, log rows trimmed back to the checkpoint a run resumes from, and
// SIGTERM/SIGINT turned into a request to stop after the current step (a second signal kills).
#pragma once
#include <cstdint>
#include <string>

namespace mlcn {

// Holds DIR/.lock (created, with this process's pid) for its lifetime. Throws naming the
// directory and the owner's pid when another live process holds it.
class RunLock {
 public:
  explicit RunLock(const std::string& dir);
  ~RunLock();
  RunLock(const RunLock&) = delete;
  RunLock& operator=(const RunLock&) = delete;

 private:
  std::string path_;
  int fd_ = -1;
};

// Removes `*.tmp.<pid>` files (left by killed write_file_atomic calls) in `dir`; returns how
// many. Call while holding the RunLock: no live writer of this directory can own them then.
int remove_stale_temp_files(const std::string& dir);

// Keeps the header of DIR/metrics.csv and the rows of epochs <= epochs_done, and the lines of
// DIR/events.jsonl whose "epoch" is <= epochs_done (rewritten atomically). Returns the last
// kept "best" event: the epoch chosen on the validation split so far and its accuracy.
struct BestEpoch {
  double validation_accuracy = -1;  // -1: none yet
  int64_t epoch = 0;                // 0: none yet
};
BestEpoch trim_run_logs(const std::string& dir, int64_t epochs_done);

// Removes the files a run writes (logs, summary, checkpoints) from `dir`, for --overwrite.
void remove_run_files(const std::string& dir);

// "epoch-E.safetensors": the per-epoch checkpoint kept by train.keep_checkpoints.
std::string epoch_checkpoint_name(int64_t epoch);
// Removes epoch-E.safetensors files of `dir` except the `keep` highest E; returns how many.
int prune_epoch_checkpoints(const std::string& dir, int keep);

// While alive, the first SIGTERM/SIGINT sets a flag (stop_signal() returns it) and the second
// restores the default action and re-raises, ending the process at once.
class StopSignals {
 public:
  StopSignals();
  ~StopSignals();
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;
  // 0, or the signal number that asked to stop.
  static int stop_signal();
  // Test hook: behave as if `sig` had arrived.
  static void request_stop(int sig);
};

}  // namespace mlcn
