// The training loop; see trainer.h.
#include "engine/train/trainer.h"

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <fstream>
#include <thread>

#include "data/batcher.h"
#include "data/dataset.h"
#include "base/atomic_write.h"  // defines: write_file_atomic
#include "engine/io/safetensors.h"
#include "engine/core/backend.h"
#include "engine/train/checkpoint.h"
#include "engine/train/dist_setup.h"
#include "engine/train/finite_guard.h"  // defines: check_step_finite
#include "engine/train/run_dir.h"       // defines: RunLock, StopSignals, trim_run_logs

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
    for (int d = 0; d < cuda_device_count(); ++d) o.devices.push_back(Device::cuda(d));
    o.threads_per_device = 1;  // host threads only launch work
  } else {
    o.cpu_devices = cfg.cpu_devices;
    o.threads_per_device = std::max(1, threads / cfg.cpu_devices);
    for (int d = 0; d < cfg.cpu_devices; ++d) o.devices.push_back(Device::cpu(d));
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
template <class Runtime> EvalResult evaluate_with(Runtime& rt, const Config& cfg, const Dataset& test) {
  BatchOptions bo;
  bo.batch_size = cfg.batch_size;
  bo.shuffle = false;
  Batcher batcher(test, bo);
  EvalResult r;
  double loss_sum = 0;
  for (int64_t s = 0; s < batcher.steps_per_epoch(); ++s) {
    Batch b = batcher.next();
    Tensor x = Tensor::empty({b.size, test.H, test.W, test.C});
    std::copy(b.images, b.images + x.numel(), x.data<float>());
    std::vector<int32_t> labels(b.labels, b.labels + b.size);
    StepResult sr = rt.step(x, labels, StepMode::Eval, 0, nullptr);
    r.images += b.size;
    loss_sum += sr.loss * double(b.size);
    r.accuracy += double(sr.correct);
  }
  r.accuracy /= double(std::max<int64_t>(r.images, 1));
  r.loss = loss_sum / double(std::max<int64_t>(r.images, 1));
  return r;
}
}  // namespace

Dataset test_split(const Config& cfg) { return load_dataset(cfg.dataset, cfg.data_path, "test", cfg.test_limit); }

EvalResult evaluate(LaneRuntime& rt, const Config& cfg) { return evaluate_with(rt, cfg, test_split(cfg)); }
EvalResult evaluate(LaneRuntime& rt, const Config& cfg, const Dataset& test) { return evaluate_with(rt, cfg, test); }
EvalResult evaluate(DistRuntime& rt, const Config& cfg) { return evaluate_with(rt, cfg, test_split(cfg)); }
EvalResult evaluate(DistRuntime& rt, const Config& cfg, const Dataset& test) { return evaluate_with(rt, cfg, test); }

namespace {
void append_line(const fs::path& p, const std::string& line) {
  std::ofstream f(p, std::ios::app);
  f << line << "\n";
}
std::string fmt(double v, int prec = 4) {
  char b[64];
  std::snprintf(b, sizeof b, "%.*f", prec, v);
  return b;
}

// What every rank does after this step, agreed across ranks (one small all-gather per step under
// mpirun, so a signal that reaches the ranks at different steps never splits them): > 0, stop
// for that signal; -1, save a step checkpoint and go on; 0, go on.
int agreed_stop(int signal, bool checkpoint_due) {
  int64_t mine = signal > 0 ? signal : (checkpoint_due ? -1 : 0);
  if (world().size() == 1) return int(mine);
  int64_t agreed = 0;
  for (int64_t v : world().allgather_int(mine)) agreed = v > 0 ? std::max(agreed, v) : (agreed == 0 ? v : agreed);
  return int(agreed);
}

// After SIGTERM/SIGINT: last.safetensors holds (epoch, step); summary.json says so.
nlohmann::json stopped_summary(const fs::path& out, int sig, int64_t epoch, int64_t step, Model& model,
                               const RuntimeOptions& ro, Clock::time_point t_run, bool writer) {
  nlohmann::json summary = {{"interrupted", true}, {"signal", sig}, {"epochs_done", epoch}, {"step", step},
                            {"seconds", std::chrono::duration<double>(Clock::now() - t_run).count()},
                            {"parameters", model.num_params()}, {"devices", describe_devices(ro)}};
  if (!writer) return summary;
  const std::string text = summary.dump(2) + "\n";
  write_file_atomic((out / "summary.json").string(), text.data(), text.size());
  std::fprintf(stderr, "stopped by signal %d after epoch %lld step %lld; checkpoint %s; continue with: mlcn train --resume %s\n",
               sig, (long long)epoch, (long long)step, (out / "last.safetensors").c_str(), out.c_str());
  return summary;
}
}  // namespace

nlohmann::json train_run(const Config& cfg_in, const std::string& out_dir, const std::string& resume_dir) {
  Config cfg = cfg_in;
  fs::create_directories(out_dir);
  const fs::path out(out_dir);
  // One writer per run directory: under mpirun that is rank 0, which alone takes the lock.
  std::unique_ptr<RunLock> lock;
  if (world().rank() == 0) lock = std::make_unique<RunLock>(out_dir);
  // Nothing in out_dir changes until the model, the checkpoint and both data splits have loaded.
  Model model(model_spec(cfg));
  model.init(cfg.seed);
  const RuntimeOptions ro = rank_runtime_options(cfg, model.num_lanes());
  const int group_devices = group_device_count(cfg, static_cast<int>(ro.devices.size()));
  DistRuntime rt(model, ro, dist_options(cfg, group_devices), world());
  const bool writer = rt.writer();  // rank 0 alone writes the run directory and the progress
  const bool gpu = ro.devices[0].is_cuda();
  TrainPosition pos;
  const std::string resume_file = (fs::path(resume_dir) / "last.safetensors").string();
  if (!resume_dir.empty()) pos = load_checkpoint(resume_file, model, rt.optimizers()).pos;
  const int64_t start_epoch = pos.epoch;
  Dataset train = load_dataset(cfg.dataset, cfg.data_path, "train", cfg.train_limit);
  const Dataset test = load_dataset(cfg.dataset, cfg.data_path, "test", cfg.test_limit);
  BatchOptions bo;
  bo.batch_size = cfg.batch_size;
  bo.shift_fraction = cfg.shift_fraction;
  bo.seed = cfg.seed;
  bo.prefetch = cfg.prefetch;
  Batcher batcher(train, bo);
  MLCN_CHECK(pos.step < std::max<int64_t>(batcher.steps_per_epoch(), 1),
             resume_file << ": saved at step " << pos.step << " of an epoch, but an epoch now has "
                         << batcher.steps_per_epoch() << " steps (train.batch_size or data.train_limit changed)");
  batcher.seek(start_epoch, pos.step);

  if (writer) remove_stale_temp_files(out_dir);
  double best_acc = -1;
  if (writer && resume_dir.empty()) {
    remove_run_files(out_dir);  // --overwrite: the old run goes only now
  } else if (writer) {
    best_acc = trim_run_logs(out_dir, start_epoch);  // rows past the checkpoint are replayed
    std::fprintf(stderr, "resumed from %s after epoch %lld step %lld\n", resume_dir.c_str(), (long long)start_epoch,
                 (long long)pos.step);
  }
  const std::string cfg_text = cfg.json.dump(2) + "\n";
  if (writer) write_file_atomic((out / "config.json").string(), cfg_text.data(), cfg_text.size());
  if (writer && !fs::exists(out / "metrics.csv"))
    append_line(out / "metrics.csv",
                "epoch,lr,margin_loss,recon_loss,train_acc,test_acc,test_loss,images_per_s,seconds,peak_host_mb,peak_gpu_mb,gpu_free_mb");
  if (writer && world().size() > 1)
    std::fprintf(stderr, "%d ranks (%s): %d replica group(s) of %d rank(s), lanes on devices [%s] of each group\n",
                 world().size(), world().kind().c_str(), rt.replicas(), rt.group_size(),
                 nlohmann::json(rt.placement()).dump().c_str());
  if (writer)
    std::fprintf(stderr, "devices: %s; model %s, %zu lane(s) in %zu unit(s)%s, %lld parameters\n",
                 describe_devices(ro).c_str(), cfg.model_type.c_str(), model.num_lanes(), rt.local().units().size(),
                 ro.cuda_graphs && !ro.devices.empty() && ro.devices[0].is_cuda() ? ", CUDA graphs" : "",
                 (long long)model.num_params());
  const StopSignals signals;
  auto last_save = Clock::now();
  const bool tty = writer && isatty(fileno(stderr));
  const auto t_run = Clock::now();
  EvalResult last_eval;
  double total_images_per_s = 0;
  for (int64_t e = start_epoch; e < cfg.epochs; ++e) {
    const double lr = cfg.lr * std::pow(cfg.lr_decay, double(e));
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
      Tensor x = Tensor::empty({b.size, train.H, train.W, train.C});
      std::copy(b.images, b.images + x.numel(), x.data<float>());
      std::vector<int32_t> labels(b.labels, b.labels + b.size);
      fault_point(e * steps + s);
      StepResult r = rt.step(x, labels, StepMode::Train, lr, &dropout_rng);
      check_step_finite(r.loss, model, rt.optimizers(), e + 1, s + 1);
      margin += r.margin * double(b.size);
      recon += r.recon * double(b.size);
      seen += b.size;
      correct += r.correct;
      double secs = std::chrono::duration<double>(Clock::now() - t0).count();
      if (writer && (tty || (cfg.log_every > 0 && (s + 1) % cfg.log_every == 0) || s + 1 == steps)) {
        double ips = double(seen) / std::max(secs, 1e-9), eta = double(steps - s - 1) * secs / double(s + 1);
        std::fprintf(stderr, "%sepoch %lld/%d step %lld/%lld loss %.4f acc %.3f %.0f img/s eta %.0fs%s",
                     tty ? "\r" : "", (long long)e + 1, cfg.epochs, (long long)s + 1, (long long)steps,
                     (margin + cfg.lam_recon * recon) / double(seen), double(correct) / double(seen), ips, eta,
                     tty ? "   " : "\n");
      }
      const bool due = (cfg.checkpoint_every > 0 && (s + 1) % cfg.checkpoint_every == 0) ||
                       (cfg.checkpoint_minutes > 0 &&
                        std::chrono::duration<double>(Clock::now() - last_save).count() >= 60 * cfg.checkpoint_minutes);
      const int stop = agreed_stop(StopSignals::stop_signal(), due);
      if (stop && s + 1 < steps) {
        const double spent = secs_before + std::chrono::duration<double>(Clock::now() - t0).count();
        const TrainPosition at{e, s + 1, dropout_rng.state(), margin, recon, seen, correct, spent};
        rt.sync_for_checkpoint();  // collective: every lane's state reaches rank 0
        if (writer) save_checkpoint_at((out / "last.safetensors").string(), model, rt.optimizers(), cfg, at);
        last_save = Clock::now();
        if (stop > 0) return stopped_summary(out, stop, e, s + 1, model, ro, t_run, writer);
      }
    }
    if (tty) std::fprintf(stderr, "\n");
    const double secs = secs_before + std::chrono::duration<double>(Clock::now() - t0).count();
    // Peak allocator bytes over all GPUs during training, and the free memory cudaMemGetInfo reports.
    auto gpu_memory = [&]() -> std::string {
      if (!gpu) return ",";
      double peak = 0, free = 0;
      for (const Device& d : ro.devices) {
        kernels::MemoryInfo m = cuda().memory_info(d.index);
        peak += double(m.peak), free += double(m.free);
      }
      return fmt(peak / 1048576.0, 1) + "," + fmt(free / 1048576.0, 1);
    };
    last_eval = evaluate(rt, cfg, test);
    const double ips = double(seen) / secs;
    total_images_per_s = ips;
    rt.sync_for_checkpoint();  // collective: every lane's state reaches rank 0
    const int stop_after = e + 1 < cfg.epochs ? agreed_stop(StopSignals::stop_signal(), false) : 0;
    if (!writer) {
      if (stop_after > 0) return stopped_summary(out, stop_after, e + 1, 0, model, ro, t_run, writer);
      continue;
    }
    append_line(out / "metrics.csv", std::to_string(e + 1) + "," + fmt(lr, 6) + "," + fmt(margin / seen, 5) + "," +
                                         fmt(recon / seen, 5) + "," + fmt(double(correct) / seen) + "," +
                                         fmt(last_eval.accuracy) + "," + fmt(last_eval.loss, 5) + "," + fmt(ips, 1) +
                                         "," + fmt(secs, 2) + "," + fmt(double(cpu_bytes_peak()) / 1048576.0, 1) + "," + gpu_memory());
    nlohmann::json ev = {{"event", "epoch"}, {"epoch", e + 1}, {"test_accuracy", last_eval.accuracy},
                         {"train_accuracy", double(correct) / seen}, {"seconds", secs}, {"images_per_s", ips}};
    append_line(out / "events.jsonl", ev.dump());
    std::fprintf(stderr, "epoch %lld: test accuracy %.4f, %.1f s, %.0f img/s\n", (long long)e + 1, last_eval.accuracy,
                 secs, ips);
    save_checkpoint((out / "last.safetensors").string(), model, rt.optimizers(), cfg, e + 1);
    if (last_eval.accuracy > best_acc) {
      best_acc = last_eval.accuracy;
      save_checkpoint((out / "best.safetensors").string(), model, rt.optimizers(), cfg, e + 1);
    }
    if (cfg.keep_checkpoints > 0) {
      save_checkpoint((out / epoch_checkpoint_name(e + 1)).string(), model, rt.optimizers(), cfg, e + 1);
      prune_epoch_checkpoints(out_dir, cfg.keep_checkpoints);
    }
    last_save = Clock::now();
    if (stop_after > 0) return stopped_summary(out, stop_after, e + 1, 0, model, ro, t_run, writer);
  }
  nlohmann::json summary = {{"test_accuracy", last_eval.accuracy}, {"best_test_accuracy", std::max(best_acc, last_eval.accuracy)},
                            {"test_images", last_eval.images}, {"epochs", cfg.epochs},
                            {"seconds", std::chrono::duration<double>(Clock::now() - t_run).count()},
                            {"images_per_s_last_epoch", total_images_per_s}, {"parameters", model.num_params()},
                            {"devices", describe_devices(ro)}};
  if (world().size() > 1) {
    const CommStats& c = rt.stats();
    const double n = double(std::max<int64_t>(c.steps, 1));
    summary["distributed"] = {{"ranks", world().size()}, {"replica_groups", rt.replicas()},
                              {"exchange_bytes_per_step", double(c.exchange_bytes) / n},
                              {"allreduce_bytes_per_step", double(c.allreduce_bytes) / n},
                              {"collective_seconds", c.seconds}};
  }
  if (!writer) return summary;
  const std::string summary_text = summary.dump(2) + "\n";
  write_file_atomic((out / "summary.json").string(), summary_text.data(), summary_text.size());
  return summary;
}

}  // namespace mlcn
