#include "daemon/thread_pool.h"

#include <algorithm>
#include <chrono>
#include <utility>

namespace vfsd {
namespace {

uint64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

ThreadPool::ThreadPool(size_t num_threads, BatchScope scope)
    : num_threads_(num_threads), scope_(std::move(scope)) {
  threads_.reserve(num_threads);
  for (size_t i = 0; i < num_threads; ++i) threads_.emplace_back([this] { WorkerLoop(); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (std::thread& t : threads_) t.join();
}

size_t ThreadPool::ShareSize(size_t queued) const {
  if (queued == 0) return 1;
  const uint64_t average = average_task_ns();
  const size_t fits = average == 0 ? kMaxShare : static_cast<size_t>(kShareBudgetNs / average);
  // No smaller than the pool needs to take the whole queue at once: tasks
  // beyond one per worker wait either way.
  const size_t per_worker = (queued + num_threads_ - 1) / num_threads_;
  const size_t largest = std::clamp<size_t>(std::max(fits, per_worker), 1, kMaxShare);
  // Even shares over the workers that size needs, so none holds more than
  // its part while another waits idle.
  const size_t workers = (queued + largest - 1) / largest;
  return (queued + workers - 1) / workers;
}

void ThreadPool::RecordShareTime(uint64_t elapsed_ns, size_t tasks) {
  if (tasks == 0) return;
  // An exponential moving average over shares (weight 1/8), kept loosely:
  // concurrent updates may lose one, which only delays the adaptation.
  const uint64_t sample = elapsed_ns / tasks;
  const uint64_t old = average_task_ns_.load(std::memory_order_relaxed);
  average_task_ns_.store(old - old / 8 + sample / 8, std::memory_order_relaxed);
}

void ThreadPool::Submit(Task task) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    tasks_.push_back(std::move(task));
    // A lone task is a share of its own: tasks submitted one by one may
    // wait for each other (only a burst is known to be independent).
    share_ = 1;
  }
  cv_.notify_one();
}

void ThreadPool::SubmitAll(absl::Span<Task> tasks) {
  if (tasks.empty()) return;
  size_t wakes;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (Task& task : tasks) tasks_.push_back(std::move(task));
    share_ = ShareSize(tasks_.size());
    wakes = (tasks.size() + share_ - 1) / share_;
  }
  if (wakes >= num_threads_) {
    cv_.notify_all();
  } else {
    for (size_t i = 0; i < wakes; ++i) cv_.notify_one();
  }
}

void ThreadPool::WorkerLoop() {
  std::vector<Task> share;
  share.reserve(kMaxShare);
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !tasks_.empty(); });
      if (tasks_.empty()) return;  // stopping and drained
      const size_t n = std::min(share_, tasks_.size());
      for (size_t i = 0; i < n; ++i) {
        share.push_back(std::move(tasks_.front()));
        tasks_.pop_front();
      }
    }
    auto run_share = [&share] {
      for (Task& task : share) task();
      share.clear();  // what the tasks captured goes inside the scope too
    };
    // Timed with the scope: a backend may finish the share's work only when
    // the scope closes it (batched READs complete at EndBatch).
    const size_t count = share.size();
    const uint64_t start = NowNs();
    if (scope_) {
      scope_(run_share);
    } else {
      run_share();
    }
    RecordShareTime(NowNs() - start, count);
  }
}

}  // namespace vfsd
