// The training loop; see trainer.h.
#include "engine/train/trainer.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>

#include "data/batcher.h"
#include "data/dataset.h"
#include "base/atomic_write.h"  // defines: write_file_atomic
#include "engine/io/safetensors.h"
#include "engine/ops/cuda_bridge.h"
#include "engine/train/checkpoint.h"
#include "engine/train/run_log.h"  // defines: RunLog, EpochRecord, peak_rss_mb, build_info
#include "engine/train/weights.h"  // defines: load_weights

namespace mlcn {
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

RuntimeOptions runtime_options(const Config& cfg, size_t lanes) {
  const bool gpu = cfg.device == "cuda" || (cfg.device == "auto" && cuda::available());
  MLCN_CHECK(!gpu || cuda::available(), "runtime.device = cuda, but "
                                            << (cuda::compiled() ? "no usable GPU was found" : "this build has no CUDA backend"));
  RuntimeOptions o;
  o.group_lanes = cfg.group_lanes;
  o.cuda_graphs = cfg.cuda_graphs;
  int threads = cfg.threads > 0 ? cfg.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  if (gpu) {
    cuda::set_allow_tf32(cfg.allow_tf32);
    for (int d = 0; d < cuda::device_count(); ++d) o.devices.push_back(Device::cuda(d));
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
    s += d.str() + (d.is_cuda() ? " (" + cuda::device_name(d.index) + ")" : " (" + std::to_string(o.threads_per_device) + " threads)");
  }
  return s;
}

EvalResult evaluate(LaneRuntime& rt, const Config& cfg, const EvalProgress& progress) {
  Dataset test = load_dataset(cfg.dataset, cfg.data_path, "test", cfg.test_limit);
  BatchOptions bo;
  bo.batch_size = cfg.batch_size;
  bo.shuffle = false;
  Batcher batcher(test, bo);
  EvalResult r;
  double loss_sum = 0;
  if (progress) progress(0, test.n);
  for (int64_t s = 0; s < batcher.steps_per_epoch(); ++s) {
    Batch b = batcher.next();
    Tensor x = Tensor::empty({b.size, test.H, test.W, test.C});
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
}  // namespace

nlohmann::json train_run(const Config& cfg_in, const std::string& out_dir, const std::string& resume_dir) {
  Config cfg = cfg_in;
  fs::create_directories(out_dir);
  const fs::path out(out_dir);
  Model model(model_spec(cfg));
  model.init(cfg.seed);
  if (!cfg.init.empty() && resume_dir.empty()) load_weights(cfg.init, model);
  const RuntimeOptions ro = runtime_options(cfg, model.num_lanes());
  LaneRuntime rt(model, ro);
  const bool gpu = ro.devices[0].is_cuda();
  int64_t start_epoch = 0;
  double best_acc = -1;
  if (!resume_dir.empty()) {
    CheckpointInfo info = load_checkpoint((fs::path(resume_dir) / "last.safetensors").string(), model, rt.optimizers());
    start_epoch = info.epoch;
    if (start_epoch >= cfg.epochs) {  // a finished run: report it, change nothing
      nlohmann::json s = read_summary(resume_dir);
      s["already_finished"] = true;
      s["epochs_done"] = start_epoch;
      return s;
    }
    std::ifstream ev((fs::path(resume_dir) / "events.jsonl").string());
    for (std::string line; std::getline(ev, line);) {  // the best accuracy so far guards best.safetensors
      auto j = nlohmann::json::parse(line, nullptr, false);
      if (j.is_object() && j.contains("test_accuracy") && j.value("epoch", 0) <= start_epoch)
        best_acc = std::max(best_acc, j["test_accuracy"].get<double>());
    }
    std::fprintf(stderr, "resumed from %s after epoch %lld\n", resume_dir.c_str(), (long long)start_epoch);
  }
  const std::string cfg_text = cfg.json.dump(2) + "\n";
  write_file_atomic((out / "config.json").string(), cfg_text.data(), cfg_text.size());
  fs::remove(out / "summary.json");  // written again, true, when this session ends
  std::fprintf(stderr, "devices: %s; model %s, %zu lane(s) in %zu unit(s)%s, %lld parameters\n",
               describe_devices(ro).c_str(), cfg.model_type.c_str(), model.num_lanes(), rt.units().size(),
               ro.cuda_graphs && !ro.devices.empty() && ro.devices[0].is_cuda() ? ", CUDA graphs" : "",
               (long long)model.num_params());

  Dataset train = load_dataset(cfg.dataset, cfg.data_path, "train", cfg.train_limit);
  BatchOptions bo;
  bo.batch_size = cfg.batch_size;
  bo.shift_fraction = cfg.shift_fraction;
  bo.seed = cfg.seed;
  bo.prefetch = cfg.prefetch;
  Batcher batcher(train, bo);
  batcher.seek(start_epoch, 0);
  RunLog log(out_dir, start_epoch, cfg.epochs, batcher.steps_per_epoch(), cfg.log_every);
  nlohmann::json start = {{"devices", describe_devices(ro)}, {"parameters", model.num_params()},
                          {"epochs", cfg.epochs}, {"train_images", train.n}, {"build", build_info()}};
  if (!resume_dir.empty()) start["resumed_after_epoch"] = start_epoch;
  if (!cfg.init.empty() && resume_dir.empty()) start["init"] = cfg.init;
  log.event(resume_dir.empty() ? "start" : "resume", start);
  EvalResult last_eval;
  double last_ips = 0;
  for (int64_t e = start_epoch; e < cfg.epochs; ++e) {
    const double lr = cfg.lr * std::pow(cfg.lr_decay, double(e));
    // Everything random in an epoch derives from (seed, epoch), so a run resumed at an epoch
    // boundary replays exactly what the uninterrupted run would have done.
    Rng dropout_rng = Rng(cfg.seed).fork(0xD509 + static_cast<uint64_t>(e));
    const auto t0 = Clock::now();
    double margin = 0, recon = 0;
    int64_t seen = 0, correct = 0;
    const int64_t steps = batcher.steps_per_epoch();
    cpu_reset_peak();
    if (gpu)
      for (const Device& d : ro.devices) cuda::reset_peak(d.index);
    for (int64_t s = 0; s < steps; ++s) {
      Batch b = batcher.next();
      Tensor x = Tensor::empty({b.size, train.H, train.W, train.C});
      std::copy(b.images, b.images + x.numel(), x.data<float>());
      std::vector<int32_t> labels(b.labels, b.labels + b.size);
      StepResult r = rt.step(x, labels, StepMode::Train, lr, &dropout_rng);
      MLCN_CHECK(std::isfinite(r.loss), "training diverged: loss is " << r.loss << " at epoch " << e + 1 << " step " << s + 1);
      margin += r.margin * double(b.size);
      recon += r.recon * double(b.size);
      seen += b.size;
      correct += r.correct;
      const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
      log.step(e, s, (margin + cfg.lam_recon * recon) / double(seen), margin / double(seen), recon / double(seen),
               double(correct) / double(seen), lr, double(seen) / std::max(secs, 1e-9));
    }
    const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
    EpochRecord rec;
    if (gpu) {  // peak allocator bytes over all GPUs during training, and the free memory cudaMemGetInfo reports
      double peak = 0, free = 0;
      for (const Device& d : ro.devices) {
        cuda::MemoryStats m = cuda::memory_stats(d.index);
        peak += double(m.peak), free += double(m.free);
      }
      rec.gpu_peak_mb = fmt(peak / 1048576.0, 1), rec.gpu_free_mb = fmt(free / 1048576.0, 1);
    }
    rec.peak_alloc_mb = double(cpu_bytes_peak()) / 1048576.0;
    const auto t_eval = Clock::now();
    last_eval = evaluate(rt, cfg, [&](int64_t done, int64_t total) { log.eval_progress(e, done, total); });
    rec.epoch = e + 1, rec.lr = lr, rec.margin_loss = margin / double(seen), rec.recon_loss = recon / double(seen);
    rec.loss = rec.margin_loss + cfg.lam_recon * rec.recon_loss, rec.train_acc = double(correct) / double(seen);
    rec.test_acc = last_eval.accuracy, rec.test_loss = last_eval.loss;
    rec.images_per_s = last_ips = double(seen) / secs, rec.train_seconds = secs;
    rec.eval_seconds = std::chrono::duration<double>(Clock::now() - t_eval).count();
    log.epoch_end(rec);
    save_checkpoint((out / "last.safetensors").string(), model, rt.optimizers(), cfg, e + 1);
    log.event("epoch", {{"epoch", e + 1}, {"test_accuracy", last_eval.accuracy}, {"checkpoint", "last.safetensors"}});
    if (last_eval.accuracy > best_acc) {
      best_acc = last_eval.accuracy;
      save_checkpoint((out / "best.safetensors").string(), model, rt.optimizers(), cfg, e + 1);
      log.event("best", {{"epoch", e + 1}, {"test_accuracy", best_acc}, {"checkpoint", "best.safetensors"}});
    }
  }
  nlohmann::json summary = {{"test_accuracy", last_eval.accuracy}, {"best_test_accuracy", best_acc},
                            {"test_images", last_eval.images}, {"epochs", cfg.epochs},
                            {"seconds", log.session_seconds()}, {"run_seconds", log.run_seconds()},
                            {"images_per_s_last_epoch", last_ips}, {"parameters", model.num_params()},
                            {"peak_rss_mb", peak_rss_mb()}, {"devices", describe_devices(ro)},
                            {"finished", utc_now()}, {"build", build_info()}};
  if (!resume_dir.empty()) summary["resumed_after_epoch"] = start_epoch;
  log.event("finish", {{"test_accuracy", last_eval.accuracy}, {"best_test_accuracy", best_acc}});
  const std::string summary_text = summary.dump(2) + "\n";
  write_file_atomic((out / "summary.json").string(), summary_text.data(), summary_text.size());
  return summary;
}

}  // namespace mlcn
