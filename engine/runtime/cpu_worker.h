// A CPU device: one thread with a fixed OpenMP width that runs submitted tasks in order.
// Several workers run lanes side by side; each task's parallel regions (and Eigen's GEMMs)
// use exactly this worker's thread count, because OpenMP's width is a per-thread setting.
#pragma once
#include <condition_variable>
#include <functional>
#include <future>
#include <mutex>
#include <queue>
#include <thread>

namespace mlcn {

// Sets flush-to-zero / denormals-are-zero on the calling thread and its OpenMP team.
void set_flush_denormals();

class CpuWorker {
 public:
  explicit CpuWorker(int threads);
  ~CpuWorker();
  CpuWorker(const CpuWorker&) = delete;
  CpuWorker& operator=(const CpuWorker&) = delete;
  // Runs fn on the worker; the future rethrows any exception fn threw.
  std::future<void> submit(std::function<void()> fn);
  int threads() const { return threads_; }

 private:
  void loop();
  int threads_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::queue<std::packaged_task<void()>> tasks_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace mlcn
