// The training loop; see trainer.h.
#include "engine/train/trainer.h"

#include <omp.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <fstream>
#include <thread>

#include "data/batcher.h"
#include "data/dataset.h"
#include "data/split.h"  // defines: split_validation, validation_count
#include "base/atomic_write.h"  // defines: write_file_atomic
#include "engine/io/safetensors.h"
#include "engine/core/backend.h"
#include "engine/train/checkpoint.h"
#include "engine/train/dist_setup.h"    // defines: dist_options, rank_runtime_options, fault_point
#include "engine/train/finite_guard.h"  // defines: check_step_finite
#include "engine/train/run_dir.h"       // defines: RunLock, StopSignals, trim_run_logs
#include "engine/train/run_log.h"       // defines: RunLog, EpochRecord, peak_rss_mb, build_info
#include "engine/train/weights.h"       // defines: load_weights
#include "engine/optim/lr_schedule.h"   // defines: LrSchedule

namespace mlcn {
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

RuntimeOptions runtime_options(const Config& cfg, size_t lanes) {
  const bool gpu = cfg.device == "cuda" || (cfg.device == "auto" && cuda_available());
  MLCN_CHECK(!gpu || cuda_available(), "runtime.device = cuda, but "
                                           << (cuda_compiled() ? "no usable GPU was found" : "this build has no CUDA backend"));
  RuntimeOptions o;
  o.group_lanes = cfg.group_lanes;
  o.cuda_graphs = cfg.cuda_graphs;
  int threads = cfg.threads > 0 ? cfg.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  if (gpu) {
    cuda().set_allow_tf32(cfg.allow_tf32);
    cuda().set_routing_variant(routing_variant_named(cfg.routing_variant));
    cuda().set_predict_variant(predict_variant_named(cfg.predict_variant));
    for (int d = 0; d < cuda_device_count(); ++d) o.devices.push_back(Device::cuda(d));
    o.threads_per_device = 1;  // host threads only launch work
  } else {
    o.cpu_devices = cfg.cpu_devices > 0 ? cfg.cpu_devices : auto_cpu_devices(threads, lanes);
    o.threads_per_device = std::max(1, threads / o.cpu_devices);
    for (int d = 0; d < o.cpu_devices; ++d) o.devices.push_back(Device::cpu(d));
  }
  const int n = static_cast<int>(o.devices.size());
  if (cfg.placement.is_array()) {
    for (const auto& d : cfg.placement) {
      MLCN_CHECK(d.is_number_integer() && d.get<int>() >= 0 && d.get<int>() < n,
                 "runtime.placement: " << d.dump() << " is not a device index in [0, " << n << ")");
      o.placement.push_back(d.get<int>());
    }
  } else {
    MLCN_CHECK(cfg.placement == "round-robin", "runtime.placement '" << cfg.placement.get<std::string>()
                                                   << "': the engine takes round-robin or a list; the mlcn CLI resolves algorithm names");
    for (size_t l = 0; l < lanes; ++l) o.placement.push_back(static_cast<int>(l % n));
  }
  return o;
}

std::string describe_devices(const RuntimeOptions& o) {
  std::string s;
  for (const Device& d : o.devices) {
    if (!s.empty()) s += ", ";
    s += d.str() + (d.is_cuda() ? " (" + cuda().device_name(d.index) + ")" : " (" + std::to_string(o.threads_per_device) + " threads)");
  }
  return s;
}

namespace {

template <class Runtime>
EvalResult evaluate_with(Runtime& rt, const Config& cfg, const Dataset& test, const EvalProgress& progress) {
  BatchOptions bo;
  bo.batch_size = cfg.batch_size;
  bo.shuffle = false;
  Batcher batcher(test, bo);
  EvalResult r;
  double loss_sum = 0;
  if (progress) progress(0, test.n);
  for (int64_t s = 0; s < batcher.steps_per_epoch(); ++s) {
    Batch b = batcher.next();
    Tensor x = Tensor::empty({b.size, test.H, test.W, test.C});  // (B, H, W, C)
    std::copy(b.images, b.images + x.numel(), x.data<float>());
    std::vector<int32_t> labels(b.labels, b.labels + b.size);
    StepResult sr = rt.step(x, labels, StepMode::Eval, 0, nullptr);
    r.images += b.size;
    loss_sum += sr.loss * double(b.size);
    r.accuracy += double(sr.correct);
    if (progress) progress(r.images, test.n);
  }
  r.accuracy /= double(std::max<int64_t>(r.images, 1));
  r.loss = loss_sum / double(std::max<int64_t>(r.images, 1));
  return r;
}

Dataset test_split(const Config& cfg) { return load_dataset(cfg.dataset, cfg.data_path, "test", cfg.test_limit); }

}  // namespace

EvalResult evaluate(LaneRuntime& rt, const Config& cfg, const EvalProgress& progress) {
  return evaluate_with(rt, cfg, test_split(cfg), progress);
}
EvalResult evaluate(LaneRuntime& rt, const Config& cfg, const Dataset& test, const EvalProgress& progress) {
  return evaluate_with(rt, cfg, test, progress);
}
EvalResult evaluate(DistRuntime& rt, const Config& cfg, const EvalProgress& progress) {
  return evaluate_with(rt, cfg, test_split(cfg), progress);
}
EvalResult evaluate(DistRuntime& rt, const Config& cfg, const Dataset& test, const EvalProgress& progress) {
  return evaluate_with(rt, cfg, test, progress);
}

namespace {

std::string fmt(double v, int prec) {
  char b[64];
  std::snprintf(b, sizeof b, "%.*f", prec, v);
  return b;
}

// The summary of a finished run, if it has one.
nlohmann::json read_summary(const fs::path& dir) {
  std::ifstream f(dir / "summary.json");
  auto j = nlohmann::json::parse(f, nullptr, false);
  return j.is_object() ? j : nlohmann::json::object();
}

// What every rank does after this step, agreed across ranks (one small all-gather per step under
// mpirun, so a signal that reaches the ranks at different steps never splits them): > 0, stop
// for that signal; -1, save a step checkpoint and go on; 0, go on.
int agreed_stop(int signal, bool checkpoint_due) {
  const int64_t mine = signal > 0 ? signal : (checkpoint_due ? -1 : 0);
  if (world().size() == 1) return int(mine);
  int64_t agreed = 0;
  for (int64_t v : world().allgather_int(mine)) agreed = v > 0 ? std::max(agreed, v) : (agreed == 0 ? v : agreed);
  return int(agreed);
}

// After SIGTERM/SIGINT: last.safetensors holds (epoch, step); summary.json says so (rank 0).
nlohmann::json stopped_summary(const fs::path& out, int sig, int64_t epoch, int64_t step, Model& model,
                               const RuntimeOptions& ro, Clock::time_point t_run, bool writer) {
  nlohmann::json summary = {{"interrupted", true}, {"signal", sig}, {"epochs_done", epoch}, {"step", step},
                            {"seconds", std::chrono::duration<double>(Clock::now() - t_run).count()},
                            {"parameters", model.num_params()}, {"devices", describe_devices(ro)},
                            {"peak_rss_mb", peak_rss_mb()}, {"build", build_info()}};
  if (!writer) return summary;
  const std::string text = summary.dump(2) + "\n";
  write_file_atomic((out / "summary.json").string(), text.data(), text.size());
  std::fprintf(stderr, "stopped by signal %d after epoch %lld step %lld; checkpoint %s; continue with: mlcn train --resume %s\n",
               sig, (long long)epoch, (long long)step, (out / "last.safetensors").c_str(), out.c_str());
  return summary;
}

}  // namespace

namespace {
// For the length of a run, the host thread's own OpenMP regions (the finite guard's scan of the
// parameters, batch assembly) run on one thread: the runtime's workers hold every core during a
// step, and a second OpenMP team on the host thread competed with them for the cores (the main
// job trained 13% faster with it gone: docs/results.md).
class HostThreadWidth {
 public:
  HostThreadWidth() : saved_(omp_get_max_threads()) { omp_set_num_threads(1); }
  ~HostThreadWidth() { omp_set_num_threads(saved_); }
  HostThreadWidth(const HostThreadWidth&) = delete;
  HostThreadWidth& operator=(const HostThreadWidth&) = delete;

 private:
  int saved_;
};
}  // namespace

nlohmann::json train_run(const Config& cfg_in, const std::string& out_dir, const std::string& resume_dir) {
  const HostThreadWidth host_width;
  Config cfg = cfg_in;
  fs::create_directories(out_dir);
  const fs::path out(out_dir);
  // One writer per run directory: under mpirun that is rank 0, which alone takes the lock.
  std::unique_ptr<RunLock> lock;
  if (world().rank() == 0) lock = std::make_unique<RunLock>(out_dir);
  // Nothing in out_dir changes until the model, the checkpoint and both data splits have loaded.
  Model model(model_spec(cfg));
  model.init(cfg.seed);
  if (!cfg.init.empty() && resume_dir.empty()) load_weights(cfg.init, model);
  const RuntimeOptions ro = rank_runtime_options(cfg, model.num_lanes());
  const int group_devices = group_device_count(cfg, static_cast<int>(ro.devices.size()));
  DistRuntime rt(model, ro, dist_options(cfg, group_devices), world());
  const bool writer = rt.writer();  // rank 0 alone writes the run directory and the progress
  const bool gpu = ro.devices[0].is_cuda();
  TrainPosition pos;
  const std::string resume_file = (fs::path(resume_dir) / "last.safetensors").string();
  if (!resume_dir.empty()) pos = load_checkpoint(resume_file, model, rt.optimizers()).pos;
  const int64_t start_epoch = pos.epoch;
  const nlohmann::json previous = resume_dir.empty() ? nlohmann::json::object() : read_summary(resume_dir);
  const bool stopped_early = pos.step == 0 &&
                             (previous.value("early_stopped", false) || previous.value("time_limited", false)) &&
                             previous.value("epochs_done", int64_t(-1)) == start_epoch;
  if (!resume_dir.empty() && (start_epoch >= cfg.epochs || stopped_early) && pos.step == 0) {  // finished: report, change nothing
    nlohmann::json s = previous;
    s["already_finished"] = true;
    s["epochs_done"] = start_epoch;
    return s;
  }
  const Dataset all_train = load_dataset(cfg.dataset, cfg.data_path, "train", cfg.train_limit);
  TrainValidation split = split_validation(all_train, validation_count(cfg.validation, all_train.n, "data.validation"));
  const Dataset& train = split.train;
  const Dataset& val = split.validation;
  const bool has_val = val.n > 0;
  const Dataset test = test_split(cfg);
  BatchOptions bo;
  bo.batch_size = cfg.batch_size;
  bo.shift_fraction = cfg.shift_fraction;
  bo.crop_padding = cfg.crop_padding;
  bo.flip = cfg.flip;
  bo.seed = cfg.seed;
  bo.prefetch = cfg.prefetch;
  Batcher batcher(train, bo);
  LrSchedule schedule;
  schedule.kind = cfg.lr_schedule, schedule.lr = cfg.lr, schedule.decay = cfg.lr_decay;
  schedule.step_epochs = cfg.lr_step_epochs, schedule.lr_min = cfg.lr_min, schedule.warmup_epochs = cfg.warmup_epochs;
  schedule.steps_per_epoch = batcher.steps_per_epoch(), schedule.epochs = cfg.epochs;
  for (Adam* o : rt.optimizers()) o->set_weight_decay(cfg.weight_decay);
  MLCN_CHECK(pos.step < std::max<int64_t>(batcher.steps_per_epoch(), 1),
             resume_file << ": saved at step " << pos.step << " of an epoch, but an epoch now has "
                         << batcher.steps_per_epoch() << " steps (train.batch_size or data.train_limit changed)");
  batcher.seek(start_epoch, pos.step);

  // Everything is loaded: from here on the run directory changes (rank 0 alone).
  BestEpoch best;  // chosen on the validation split; every rank keeps it (early stopping)
  std::unique_ptr<RunLog> log;
  if (writer) {
    remove_stale_temp_files(out_dir);
    if (resume_dir.empty()) {
      remove_run_files(out_dir);  // --overwrite: the old run goes only now
    } else {
      best = trim_run_logs(out_dir, start_epoch);  // rows past the checkpoint are replayed
      std::fprintf(stderr, "resumed from %s after epoch %lld step %lld\n", resume_dir.c_str(), (long long)start_epoch,
                   (long long)pos.step);
    }
    const std::string cfg_text = cfg.json.dump(2) + "\n";
    write_file_atomic((out / "config.json").string(), cfg_text.data(), cfg_text.size());
    fs::remove(out / "summary.json");  // written again, true, when this session ends
    if (world().size() > 1)
      std::fprintf(stderr, "%d ranks (%s): %d replica group(s) of %d rank(s), lanes on devices [%s] of each group\n",
                   world().size(), world().kind().c_str(), rt.replicas(), rt.group_size(),
                   nlohmann::json(rt.placement()).dump().c_str());
    std::fprintf(stderr, "devices: %s; model %s, %zu lane(s) in %zu unit(s)%s, %lld parameters\n",
                 describe_devices(ro).c_str(), cfg.model_type.c_str(), model.num_lanes(), rt.local().units().size(),
                 ro.cuda_graphs && !ro.devices.empty() && ro.devices[0].is_cuda() ? ", CUDA graphs" : "",
                 (long long)model.num_params());
    log = std::make_unique<RunLog>(out_dir, start_epoch, cfg.epochs, batcher.steps_per_epoch(), cfg.log_every);
    nlohmann::json start = {{"devices", describe_devices(ro)}, {"parameters", model.num_params()},
                            {"epochs", cfg.epochs}, {"train_images", train.n}, {"validation_images", val.n},
                            {"test_images", test.n}, {"build", build_info()},
                            {"ranks", world().size()}};
    if (!resume_dir.empty()) start["resumed_after_epoch"] = start_epoch, start["resumed_at_step"] = pos.step;
    if (!cfg.init.empty() && resume_dir.empty()) start["init"] = cfg.init;
    log->event(resume_dir.empty() ? "start" : "resume", start);
  }
  if (world().size() > 1) {  // every rank knows the best epoch so far (early stopping is decided alike)
    int64_t bits = 0;
    std::memcpy(&bits, &best.validation_accuracy, sizeof bits);
    best.epoch = world().allgather_int(best.epoch)[0];
    bits = world().allgather_int(bits)[0];
    std::memcpy(&best.validation_accuracy, &bits, sizeof bits);
  }
  const StopSignals signals;
  const auto t_run = Clock::now();
  auto last_save = t_run;
  EvalResult final_test;
  double last_val = 0.0 / 0.0;
  double last_ips = 0, lr = schedule.at(start_epoch * batcher.steps_per_epoch() + pos.step);
  int64_t epochs_done = start_epoch;
  bool early_stopped = false, time_limited = false;
  for (int64_t e = start_epoch; e < cfg.epochs && !early_stopped && !time_limited; ++e) {
    // Everything random in an epoch derives from (seed, epoch), so a run resumed at an epoch
    // boundary replays exactly what the uninterrupted run would have done.
    Rng dropout_rng = Rng(cfg.seed).fork(0xD509 + static_cast<uint64_t>(e));
    const auto t0 = Clock::now();
    double margin = 0, recon = 0, secs_before = 0;
    int64_t seen = 0, correct = 0, s0 = 0;
    if (e == start_epoch && pos.step > 0) {  // a mid-epoch checkpoint: continue inside the epoch
      dropout_rng.set_state(pos.dropout_rng);
      margin = pos.margin, recon = pos.recon, seen = pos.seen, correct = pos.correct;
      secs_before = pos.seconds, s0 = pos.step;
    }
    const int64_t steps = batcher.steps_per_epoch();
    cpu_reset_peak();
    if (gpu)
      for (const Device& d : ro.devices) cuda().reset_peak(d.index);
    for (int64_t s = s0; s < steps; ++s) {
      Batch b = batcher.next();
      Tensor x = Tensor::empty({b.size, train.H, train.W, train.C});  // (B, H, W, C)
      std::copy(b.images, b.images + x.numel(), x.data<float>());
      std::vector<int32_t> labels(b.labels, b.labels + b.size);
      fault_point(e * steps + s);
      lr = schedule.at(e * steps + s);
      StepResult r = rt.step(x, labels, StepMode::Train, lr, &dropout_rng);
      check_step_finite(r.loss, model, rt.optimizers(), e + 1, s + 1);
      margin += r.margin * double(b.size);
      recon += r.recon * double(b.size);
      seen += b.size;
      correct += r.correct;
      const double secs = secs_before + std::chrono::duration<double>(Clock::now() - t0).count();
      if (log)
        log->step(e, s, (margin + cfg.lam_recon * recon) / double(seen), margin / double(seen), recon / double(seen),
                  double(correct) / double(seen), lr, double(seen) / std::max(secs, 1e-9));
      const bool due = (cfg.checkpoint_every > 0 && (s + 1) % cfg.checkpoint_every == 0) ||
                       (cfg.checkpoint_minutes > 0 &&
                        std::chrono::duration<double>(Clock::now() - last_save).count() >= 60 * cfg.checkpoint_minutes);
      const int stop = agreed_stop(StopSignals::stop_signal(), due);
      if (stop && s + 1 < steps) {
        const TrainPosition at{e, s + 1, dropout_rng.state(), margin, recon, seen, correct, secs};
        rt.sync_for_checkpoint();  // collective: every lane's state reaches rank 0
        if (writer) save_checkpoint_at((out / "last.safetensors").string(), model, rt.optimizers(), cfg, at);
        last_save = Clock::now();
        if (stop > 0) return stopped_summary(out, stop, e, s + 1, model, ro, t_run, writer);
      }
    }
    const double secs = secs_before + std::chrono::duration<double>(Clock::now() - t0).count();
    EpochRecord rec;
    if (gpu) {  // peak allocator bytes over all GPUs during training, and the free memory cudaMemGetInfo reports
      double peak = 0, free = 0;
      for (const Device& d : ro.devices) {
        kernels::MemoryInfo m = cuda().memory_info(d.index);
        peak += double(m.peak), free += double(m.free);
      }
      rec.gpu_peak_mb = fmt(peak / 1048576.0, 1), rec.gpu_free_mb = fmt(free / 1048576.0, 1);
    }
    rec.peak_alloc_mb = double(cpu_bytes_peak()) / 1048576.0;
    // The validation split after every epoch; the test set after the last one only (or every
    // epoch when there is no validation split: then nothing is chosen on it).
    const auto t_eval = Clock::now();
    const auto progress = [&](int64_t done, int64_t total) {
      if (log) log->eval_progress(e, done, total);
    };
    if (has_val) {
      const EvalResult v = evaluate(rt, cfg, val, progress);
      rec.val_acc = v.accuracy, rec.val_loss = v.loss;
      last_val = v.accuracy;
      rec.best = v.accuracy > best.validation_accuracy;
      if (rec.best) best = {v.accuracy, e + 1};
      early_stopped = cfg.early_stop_patience > 0 && e + 1 - best.epoch >= cfg.early_stop_patience;
    }
    if (cfg.time_limit_minutes > 0 && !early_stopped && e + 1 < cfg.epochs) {
      // Would one more epoch like this one (training and validation) pass the budget? Rank 0's
      // clock (the run's time over every session) decides for all ranks.
      const double epoch_cost = secs + std::chrono::duration<double>(Clock::now() - t_eval).count();
      const int64_t over = log && log->run_seconds() + epoch_cost > 60 * cfg.time_limit_minutes;
      time_limited = world().allgather_int(over)[0] != 0;
    }
    const bool last_epoch = e + 1 == cfg.epochs || early_stopped || time_limited;
    if (!has_val || last_epoch) {
      final_test = evaluate(rt, cfg, test, progress);
      rec.test_acc = final_test.accuracy, rec.test_loss = final_test.loss;
    }
    epochs_done = e + 1;
    last_ips = double(seen) / std::max(secs, 1e-9);
    rt.sync_for_checkpoint();  // collective: every lane's state reaches rank 0
    const int stop_after = !last_epoch ? agreed_stop(StopSignals::stop_signal(), false) : 0;
    if (!writer) {
      if (stop_after > 0) return stopped_summary(out, stop_after, e + 1, 0, model, ro, t_run, writer);
      continue;
    }
    rec.epoch = e + 1, rec.lr = lr, rec.margin_loss = margin / double(seen), rec.recon_loss = recon / double(seen);
    rec.loss = rec.margin_loss + cfg.lam_recon * rec.recon_loss, rec.train_acc = double(correct) / double(seen);
    rec.images_per_s = last_ips, rec.train_seconds = secs;
    rec.eval_seconds = std::chrono::duration<double>(Clock::now() - t_eval).count();
    log->epoch_end(rec);
    save_checkpoint((out / "last.safetensors").string(), model, rt.optimizers(), cfg, e + 1);
    nlohmann::json ev = {{"epoch", e + 1}, {"checkpoint", "last.safetensors"}};
    if (has_val) ev["validation_accuracy"] = rec.val_acc;
    if (rec.test_acc == rec.test_acc) ev["test_accuracy"] = rec.test_acc;
    log->event("epoch", ev);
    if (rec.best) {
      save_checkpoint((out / "best.safetensors").string(), model, rt.optimizers(), cfg, e + 1);
      log->event("best", {{"epoch", e + 1}, {"validation_accuracy", rec.val_acc}, {"checkpoint", "best.safetensors"}});
    }
    if (early_stopped)
      log->event("early_stop", {{"epoch", e + 1}, {"best_epoch", best.epoch}, {"patience", cfg.early_stop_patience}});
    if (time_limited)
      log->event("time_limit", {{"epoch", e + 1}, {"run_seconds", log->run_seconds()},
                                {"time_limit_minutes", cfg.time_limit_minutes}});
    if (cfg.keep_checkpoints > 0) {
      save_checkpoint((out / epoch_checkpoint_name(e + 1)).string(), model, rt.optimizers(), cfg, e + 1);
      prune_epoch_checkpoints(out_dir, cfg.keep_checkpoints);
    }
    last_save = Clock::now();
    if (stop_after > 0) return stopped_summary(out, stop_after, e + 1, 0, model, ro, t_run, writer);
  }
  // The test accuracy of the model chosen on validation: its weights come back from
  // best.safetensors (rank 0 wrote it; every rank reads it after the barrier) unless it is
  // the final model.
  double best_test = final_test.accuracy;
  if (has_val && best.epoch > 0 && best.epoch != epochs_done) {
    world().barrier();
    load_checkpoint((out / "best.safetensors").string(), model, rt.optimizers());
    best_test = evaluate(rt, cfg, test, {}).accuracy;
  }
  nlohmann::json summary = {{"test_accuracy", final_test.accuracy}, {"test_images", final_test.images},
                            {"train_images", train.n}, {"validation_images", val.n},
                            {"epochs", cfg.epochs}, {"epochs_done", epochs_done},
                            {"seconds", log ? log->session_seconds() : 0.0}, {"run_seconds", log ? log->run_seconds() : 0.0},
                            {"images_per_s_last_epoch", last_ips}, {"parameters", model.num_params()},
                            {"peak_rss_mb", peak_rss_mb()}, {"devices", describe_devices(ro)},
                            {"finished", utc_now()}, {"build", build_info()}};
  if (has_val) {
    summary["validation_accuracy"] = last_val;
    summary["best_epoch"] = best.epoch;
    summary["best_validation_accuracy"] = best.validation_accuracy;
    summary["best_model_test_accuracy"] = best_test;
  }
  if (early_stopped) summary["early_stopped"] = true;
  if (time_limited) summary["time_limited"] = true;
  if (!resume_dir.empty()) summary["resumed_after_epoch"] = start_epoch;
  if (world().size() > 1) {
    const CommStats& c = rt.stats();
    const double n = double(std::max<int64_t>(c.steps, 1));
    summary["distributed"] = {{"ranks", world().size()}, {"replica_groups", rt.replicas()},
                              {"exchange_bytes_per_step", double(c.exchange_bytes) / n},
                              {"allreduce_bytes_per_step", double(c.allreduce_bytes) / n},
                              {"collective_seconds", c.seconds}};
  }
  if (!writer) return summary;
  nlohmann::json fin = {{"test_accuracy", final_test.accuracy}};
  if (has_val) fin["best_epoch"] = best.epoch, fin["best_model_test_accuracy"] = best_test;
  log->event("finish", fin);
  const std::string summary_text = summary.dump(2) + "\n";
  write_file_atomic((out / "summary.json").string(), summary_text.data(), summary_text.size());
  return summary;
}

}  // namespace mlcn
