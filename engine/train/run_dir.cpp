// Run-directory lock, temp-file cleanup, log trimming and stop signals; see run_dir.h.
#include "engine/train/run_dir.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "base/atomic_write.h"  // defines: write_file_atomic
#include "base/check.h"
#include "base/json_io.h"  // defines: parse_json_text

namespace mlcn {
namespace fs = std::filesystem;

namespace {

std::string read_small(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str().substr(0, 32);
}

bool all_digits(const std::string& s) {
  return !s.empty() && s.find_first_not_of("0123456789") == std::string::npos;
}

}  // namespace

RunLock::RunLock(const std::string& dir) : path_((fs::path(dir) / ".lock").string()) {
  for (int attempt = 0; attempt < 100; ++attempt) {
    // O_NOFOLLOW: a .lock that is a symbolic link is refused, never followed (the pid would be
    // written into whatever it points at; issue 27, item 4); anything but a plain file likewise.
    fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
    MLCN_CHECK(fd_ >= 0 || errno != ELOOP,
               path_ << ": the run lock is a symbolic link; a run directory's .lock must be a plain file (remove it)");
    MLCN_CHECK(fd_ >= 0, path_ << ": cannot create the run lock: " << std::strerror(errno));
    struct stat st {};
    if (::fstat(fd_, &st) != 0 || !S_ISREG(st.st_mode)) {
      ::close(fd_);
      fd_ = -1;
      MLCN_FAIL(path_ << ": the run lock is not a plain file (remove it)");
    }
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
      const int err = errno;
      const std::string owner = read_small(path_);
      ::close(fd_);
      fd_ = -1;
      MLCN_CHECK(err == EWOULDBLOCK, path_ << ": cannot lock: " << std::strerror(err));
      MLCN_FAIL(dir << ": another mlcn run (pid " << (owner.empty() ? "unknown" : owner.substr(0, owner.find('\n')))
                    << ") is writing this directory; wait for it or use another --out");
    }
    // The previous owner may have unlinked the file between our open and flock: retry on a new one.
    struct stat a {}, b {};
    if (::fstat(fd_, &a) == 0 && ::stat(path_.c_str(), &b) == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev) {
      const std::string pid = std::to_string(::getpid()) + "\n";
      if (::ftruncate(fd_, 0) == 0 && ::pwrite(fd_, pid.data(), pid.size(), 0) == ssize_t(pid.size())) return;
      const int err = errno;
      ::close(fd_);
      fd_ = -1;
      MLCN_FAIL(path_ << ": cannot write the run lock: " << std::strerror(err));
    }
    ::close(fd_);
    fd_ = -1;
  }
  MLCN_FAIL(path_ << ": cannot take the run lock (it keeps being replaced)");
}

RunLock::~RunLock() {
  if (fd_ < 0) return;
  ::unlink(path_.c_str());  // still locked: a waiter that opened the old file retries on a new one
  ::close(fd_);
}

int remove_stale_temp_files(const std::string& dir) {
  int n = 0;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    const size_t at = name.rfind(".tmp.");
    if (at == std::string::npos || !all_digits(name.substr(at + 5)) || !e.is_regular_file(ec)) continue;
    if (fs::remove(e.path(), ec)) ++n;
  }
  return n;
}

BestEpoch trim_run_logs(const std::string& dir, int64_t epochs_done) {
  const fs::path d(dir);
  BestEpoch best;
  if (fs::exists(d / "metrics.csv")) {
    std::ifstream in(d / "metrics.csv");
    std::string text, line;
    for (bool header = true; std::getline(in, line); header = false) {
      const std::string first = line.substr(0, line.find(','));
      if (header || (all_digits(first) && first.size() < 12 && std::stoll(first) <= epochs_done)) text += line + "\n";
    }
    write_file_atomic((d / "metrics.csv").string(), text.data(), text.size());
  }
  if (fs::exists(d / "events.jsonl")) {
    std::ifstream in(d / "events.jsonl");
    std::string text, line;
    JsonLimits limits;
    limits.max_bytes = 1 << 16;
    limits.max_depth = 8;
    while (std::getline(in, line)) {
      nlohmann::json j;
      try {
        j = parse_json_text(line, (d / "events.jsonl").string(), limits);
      } catch (const std::exception&) {
        continue;  // a line cut by a kill or a full disk
      }
      if (!j.is_object()) continue;
      const auto ep = j.find("epoch");
      if (ep != j.end() && !(ep->is_number_integer() && ep->get<int64_t>() <= epochs_done)) continue;
      const auto acc = j.find("validation_accuracy");
      if (j.value("event", "") == "best" && acc != j.end() && acc->is_number() && ep != j.end())
        best = {acc->get<double>(), ep->get<int64_t>()};
      text += line + "\n";
    }
    write_file_atomic((d / "events.jsonl").string(), text.data(), text.size());
  }
  return best;
}

void remove_run_files(const std::string& dir) {
  std::error_code ec;
  for (const char* f : {"metrics.csv", "events.jsonl", "summary.json", "last.safetensors", "best.safetensors"})
    fs::remove(fs::path(dir) / f, ec);
  prune_epoch_checkpoints(dir, 0);
}

std::string epoch_checkpoint_name(int64_t epoch) { return "epoch-" + std::to_string(epoch) + ".safetensors"; }

int prune_epoch_checkpoints(const std::string& dir, int keep) {
  std::vector<std::pair<int64_t, fs::path>> found;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    const std::string suffix = ".safetensors";
    if (name.rfind("epoch-", 0) != 0 || name.size() <= 6 + suffix.size() ||
        name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0)
      continue;
    const std::string num = name.substr(6, name.size() - 6 - suffix.size());
    if (all_digits(num) && num.size() < 12) found.emplace_back(std::stoll(num), e.path());
  }
  std::sort(found.begin(), found.end());
  int removed = 0;
  for (size_t i = 0; i + size_t(std::max(keep, 0)) < found.size(); ++i)
    if (fs::remove(found[i].second, ec)) ++removed;
  return removed;
}

namespace {

std::atomic<int> g_stop{0};
struct sigaction g_old_term, g_old_int;

void on_signal(int sig) {
  if (g_stop.exchange(sig) != 0) {
    ::signal(sig, SIG_DFL);
    ::raise(sig);
    return;
  }
  static const char kMsg[] = "\nmlcn: stopping after the current step (signal again to quit at once)\n";
  ssize_t ignored = ::write(2, kMsg, sizeof kMsg - 1);
  (void)ignored;
}

}  // namespace

StopSignals::StopSignals() {
  g_stop = 0;
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGTERM, &sa, &g_old_term);
  ::sigaction(SIGINT, &sa, &g_old_int);
}

StopSignals::~StopSignals() {
  ::sigaction(SIGTERM, &g_old_term, nullptr);
  ::sigaction(SIGINT, &g_old_int, nullptr);
  g_stop = 0;
}

int StopSignals::stop_signal() { return g_stop.load(); }
void StopSignals::request_stop(int sig) { g_stop = sig; }

}  // namespace mlcn
