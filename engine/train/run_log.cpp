// Run logs: metrics.csv, steps.csv, events.jsonl and the progress line; see run_log.h.
#include "engine/train/run_log.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>
#include <vector>

namespace mlcn {
namespace fs = std::filesystem;

namespace {

const char* kMetricsHeader =
    "epoch,time_utc,elapsed_s,lr,loss,margin_loss,recon_loss,train_acc,val_acc,val_loss,best,test_acc,test_loss,"
    "images_per_s,train_seconds,eval_seconds,peak_rss_mb,peak_alloc_mb,peak_gpu_mb,gpu_free_mb";
const char* kStepsHeader = "step,epoch,time_utc,elapsed_s,loss,margin_loss,recon_loss,train_acc,lr,images_per_s";

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

std::string num(double v, int prec) {
  if (std::isnan(v)) return "";
  char b[64];
  std::snprintf(b, sizeof b, "%.*f", prec, v);
  return b;
}

// "45s", "3m05s", "1h02m".
std::string duration(double s) {
  char b[32];
  const long t = std::lround(std::max(0.0, s));
  if (t < 60) std::snprintf(b, sizeof b, "%lds", t);
  else if (t < 3600) std::snprintf(b, sizeof b, "%ldm%02lds", t / 60, t % 60);
  else std::snprintf(b, sizeof b, "%ldh%02ldm", t / 3600, (t % 3600) / 60);
  return b;
}

void append(const fs::path& p, const std::string& line) {
  std::ofstream f(p, std::ios::app);
  f << line << "\n";
}

// The cells of one CSV row (no quoting: the logs write none).
std::vector<std::string> cells(const std::string& line) {
  std::vector<std::string> out;
  std::stringstream ss(line);
  for (std::string cell; std::getline(ss, cell, ',');) out.push_back(cell);
  return out;
}

// True when `s` is a whole decimal integer that fits int64 (no sign, no spaces).
bool parse_epoch(const std::string& s, int64_t* v) {
  if (s.empty() || s.find_first_not_of("0123456789") != std::string::npos) return false;
  const auto r = std::from_chars(s.data(), s.data() + s.size(), *v);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

// Keeps the header and the rows whose column `col` (an epoch) is at most `max_epoch`; rows
// where that cell is not an integer (a line cut by a kill, a damaged file) are dropped, as
// trim_run_logs drops them. A file with another header (an older format) is set aside as
// <name>.old.
void keep_rows(const fs::path& p, const std::string& header, size_t col, int64_t max_epoch) {
  if (!fs::exists(p)) return;
  std::ifstream in(p);
  std::string line;
  std::getline(in, line);
  if (line != header) {
    in.close();
    fs::rename(p, fs::path(p.string() + ".old"));
    return;
  }
  std::vector<std::string> keep = {line};
  while (std::getline(in, line)) {
    const std::vector<std::string> c = cells(line);
    int64_t epoch = 0;
    if (c.size() > col && parse_epoch(c[col], &epoch) && epoch <= max_epoch) keep.push_back(line);
  }
  in.close();
  std::ofstream out(p, std::ios::trunc);
  for (const std::string& l : keep) out << l << "\n";
}

// Previous sessions' seconds: the elapsed_s (column 2) of the last kept metrics row whose cell
// is a finite non-negative number; 0 when there is none.
double previous_elapsed(const fs::path& p) {
  std::ifstream in(p);
  std::string line;
  double seconds = 0;
  std::getline(in, line);
  while (std::getline(in, line)) {
    const std::vector<std::string> c = cells(line);
    if (c.size() < 3 || c[2].empty()) continue;
    char* end = nullptr;
    const double v = std::strtod(c[2].c_str(), &end);
    if (end && *end == 0 && std::isfinite(v) && v >= 0) seconds = v;
  }
  return seconds;
}

int terminal_width() {
  winsize w{};
  if (ioctl(fileno(stderr), TIOCGWINSZ, &w) == 0 && w.ws_col > 10) return w.ws_col;
  return 80;
}

nlohmann::json& build_info_ref() {
  static nlohmann::json info = nlohmann::json::object();
  return info;
}

}  // namespace

void set_build_info(const nlohmann::json& info) { build_info_ref() = info; }
const nlohmann::json& build_info() { return build_info_ref(); }

double peak_rss_mb() {
  std::ifstream f("/proc/self/status");
  for (std::string line; std::getline(f, line);)
    if (line.rfind("VmHWM:", 0) == 0) return std::strtod(line.c_str() + 6, nullptr) / 1024.0;  // kB
  return 0;
}

std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char b[32];
  std::strftime(b, sizeof b, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return b;
}

RunLog::RunLog(const std::string& dir, int64_t start_epoch, int epochs, int64_t steps_per_epoch, int log_every)
    : dir_(dir), start_epoch_(start_epoch), steps_per_epoch_(steps_per_epoch), epochs_(epochs), log_every_(log_every),
      t0_(now_s()), tty_(isatty(fileno(stderr))) {
  const fs::path d(dir);
  if (start_epoch == 0) {  // a fresh run into a used directory replaces its logs
    for (const char* f : {"metrics.csv", "steps.csv", "events.jsonl", "metrics.csv.old", "steps.csv.old"})
      fs::remove(d / f);
  } else {
    keep_rows(d / "metrics.csv", kMetricsHeader, 0, start_epoch);
    keep_rows(d / "steps.csv", kStepsHeader, 1, start_epoch);
    previous_seconds_ = previous_elapsed(d / "metrics.csv");
  }
  if (!fs::exists(d / "metrics.csv")) append(d / "metrics.csv", kMetricsHeader);
  if (!fs::exists(d / "steps.csv")) append(d / "steps.csv", kStepsHeader);
  t_mark_ = t0_;
}

double RunLog::session_seconds() const { return now_s() - t0_; }
double RunLog::run_seconds() const { return previous_seconds_ + session_seconds(); }

void RunLog::event(const std::string& name, nlohmann::json fields) {
  nlohmann::json e = {{"event", name}, {"time", utc_now()}};
  e.update(fields);
  append(fs::path(dir_) / "events.jsonl", e.dump());
}

std::string RunLog::eta() const {
  if (steps_done_ == 0) return "?";
  const double per_step = train_seconds_ / double(steps_done_);
  const int64_t total_steps = (epochs_ - start_epoch_) * steps_per_epoch_;
  double left = double(total_steps - steps_done_) * per_step;
  const int64_t evals_left = epochs_ - start_epoch_ - evals_done_;
  if (last_eval_seconds_ >= 0) left += double(evals_left) * last_eval_seconds_;
  return duration(left) + (last_eval_seconds_ < 0 ? "+eval" : "");
}

void RunLog::progress(const std::string& line, bool final_line) {
  if (tty_) {
    // A line redrawn in place is cut to the width (a wrapped one cannot be redrawn); a final
    // line stays whole.
    const size_t width = final_line ? line.size() : static_cast<size_t>(terminal_width()) - 1;
    std::fprintf(stderr, "\r%s\033[K%s", line.substr(0, width).c_str(), final_line ? "\n" : "");
  } else {
    std::fprintf(stderr, "%s\n", line.c_str());
  }
  std::fflush(stderr);
}

void RunLog::step(int64_t epoch, int64_t step, double loss, double margin, double recon, double acc, double lr,
                  double images_per_s) {
  const double t = now_s();
  train_seconds_ += t - t_mark_;
  t_mark_ = t;
  ++steps_done_;
  const int64_t global = epoch * steps_per_epoch_ + step + 1;
  const bool logged = log_every_ > 0 && (step + 1) % log_every_ == 0;
  if (logged)
    append(fs::path(dir_) / "steps.csv", std::to_string(global) + "," + std::to_string(epoch + 1) + "," + utc_now() +
                                             "," + num(run_seconds(), 2) + "," + num(loss, 5) + "," + num(margin, 5) +
                                             "," + num(recon, 5) + "," + num(acc, 4) + "," + num(lr, 6) + "," +
                                             num(images_per_s, 1));
  if (!tty_ && !logged) return;
  char b[256];
  // The most useful first, so a narrow terminal keeps them.
  std::snprintf(b, sizeof b, "epoch %lld/%d step %lld/%lld eta %s elapsed %s loss %.4f acc %.3f %.0f img/s",
                (long long)epoch + 1, epochs_, (long long)step + 1, (long long)steps_per_epoch_, eta().c_str(),
                duration(run_seconds()).c_str(), loss, acc, images_per_s);
  progress(b, false);
}

void RunLog::eval_progress(int64_t epoch, int64_t done, int64_t total) {
  const double t = now_s();
  if (done == 0) t_mark_ = t;
  if (!tty_ && done != 0) return;  // a log file gets one line per evaluation
  char b[160];
  std::snprintf(b, sizeof b, "epoch %lld/%d evaluating: %lld/%lld held-out images, %s", (long long)epoch + 1, epochs_,
                (long long)done, (long long)total, duration(t - t_mark_).c_str());
  progress(b, false);
}

void RunLog::epoch_end(const EpochRecord& r) {
  last_eval_seconds_ = r.eval_seconds;
  ++evals_done_;
  t_mark_ = now_s();
  append(fs::path(dir_) / "metrics.csv",
         std::to_string(r.epoch) + "," + utc_now() + "," + num(run_seconds(), 2) + "," + num(r.lr, 6) + "," +
             num(r.loss, 5) + "," + num(r.margin_loss, 5) + "," + num(r.recon_loss, 5) + "," + num(r.train_acc, 4) +
             "," + num(r.val_acc, 4) + "," + num(r.val_loss, 5) + "," + (r.best ? "1" : "0") + "," + num(r.test_acc, 4) + "," +
             num(r.test_loss, 5) + "," + num(r.images_per_s, 1) + "," + num(r.train_seconds, 2) + "," +
             num(r.eval_seconds, 2) + "," + num(peak_rss_mb(), 1) + "," + num(r.peak_alloc_mb, 1) + "," +
             r.gpu_peak_mb + "," + r.gpu_free_mb);
  // The held-out accuracies this epoch measured: validation (and test after the last epoch),
  // or test alone without a validation split.
  std::string held;
  char a[96];
  if (r.val_acc == r.val_acc) {
    std::snprintf(a, sizeof a, "validation accuracy %.4f%s", r.val_acc, r.best ? " (best)" : "");
    held = a;
  }
  if (r.test_acc == r.test_acc) {
    std::snprintf(a, sizeof a, "%stest accuracy %.4f", held.empty() ? "" : ", ", r.test_acc);
    held += a;
  }
  char b[320];
  std::snprintf(b, sizeof b, "epoch %lld/%d: loss %.4f, train acc %.4f, %s (%.1f s train, %.1f s eval, "
                "%.0f img/s), elapsed %s, eta %s",
                (long long)r.epoch, epochs_, r.loss, r.train_acc, held.c_str(), r.train_seconds, r.eval_seconds,
                r.images_per_s, duration(run_seconds()).c_str(), r.epoch >= epochs_ ? "0s" : eta().c_str());
  progress(b, true);
}

}  // namespace mlcn
