// The logs of a training run (docs/cli.md, "The run directory"):
//   metrics.csv   one row per epoch: wall-clock time, total and partial losses, train /
//                 validation / test accuracy and loss, whether the epoch is the best so far, throughput, train and eval seconds,
//                 peak process RSS and allocator peaks;
//   steps.csv     one row every train.log_every steps: loss parts, lr, images/s;
//   events.jsonl  what happened, one JSON object a line: start, resume, evaluation, epoch
//                 (its test accuracy, which resume and the NAS read), checkpoint, best, finish;
//   the progress line on stderr: elapsed time and the ETA of the whole run (evaluations
//   included), the evaluation while it runs, cut to the terminal's width on a terminal.
// A resumed run drops rows past the checkpoint's epoch (written after it by a killed process).
#pragma once
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace mlcn {

// One epoch's row of metrics.csv. NaN prints as an empty cell: no validation split, or a test
// accuracy not measured (with a validation split the test set is evaluated after the last
// epoch only). best: this epoch's model is the best on the validation split so far.
struct EpochRecord {
  int64_t epoch = 0;
  double lr = 0, loss = 0, margin_loss = 0, recon_loss = 0, train_acc = 0;
  double val_acc = 0.0 / 0.0, val_loss = 0.0 / 0.0;
  bool best = false;
  double test_acc = 0.0 / 0.0, test_loss = 0.0 / 0.0;
  double images_per_s = 0, train_seconds = 0, eval_seconds = 0;
  double peak_alloc_mb = 0;
  std::string gpu_peak_mb, gpu_free_mb;  // empty on the CPU
};

class RunLog {
 public:
  // dir: the run directory. start_epoch: epochs already done (resume), 0 for a fresh run,
  // which replaces old logs. steps_per_epoch, epochs, log_every: from the config.
  RunLog(const std::string& dir, int64_t start_epoch, int epochs, int64_t steps_per_epoch, int log_every);
  // Appends {"event": ..., "time": UTC, ...fields} to events.jsonl.
  void event(const std::string& name, nlohmann::json fields = nlohmann::json::object());
  // After training step `step` (0-based) of epoch `epoch` (0-based); running means so far.
  void step(int64_t epoch, int64_t step, double loss, double margin, double recon, double acc, double lr,
            double images_per_s);
  // During the evaluation after epoch `epoch` (0-based): `done` of `total` images.
  void eval_progress(int64_t epoch, int64_t done, int64_t total);
  // Writes the metrics.csv row and the end-of-epoch line.
  void epoch_end(const EpochRecord& r);
  // Seconds since this RunLog started, and over the whole run (earlier sessions included).
  double session_seconds() const;
  double run_seconds() const;

 private:
  void progress(const std::string& line, bool final_line);
  std::string eta() const;  // the rest of the run: its training steps and evaluations
  std::string dir_;
  int64_t start_epoch_, steps_per_epoch_;
  int epochs_, log_every_;
  double t0_, t_mark_ = 0, previous_seconds_ = 0, train_seconds_ = 0, last_eval_seconds_ = -1;
  int64_t steps_done_ = 0, evals_done_ = 0;  // in this session
  bool tty_;
};

// Peak resident set size of this process (VmHWM), in MiB.
double peak_rss_mb();
// "2026-12-01T05:30:00Z".
std::string utc_now();
// Version and commit of the program, written into summary.json and the start event; the CLI
// sets it (cli/cli.h version_line()), the engine alone leaves it empty.
void set_build_info(const nlohmann::json& info);
const nlohmann::json& build_info();

}  // namespace mlcn
