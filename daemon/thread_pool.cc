#include "daemon/thread_pool.h"

#include <algorithm>
#include <utility>

namespace vfsd {

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

void ThreadPool::Submit(Task task) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    tasks_.push_back(std::move(task));
  }
  cv_.notify_one();
}

void ThreadPool::SubmitAll(absl::Span<Task> tasks) {
  if (tasks.empty()) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (Task& task : tasks) tasks_.push_back(std::move(task));
  }
  if (tasks.size() >= num_threads_) {
    cv_.notify_all();
  } else {
    for (size_t i = 0; i < tasks.size(); ++i) cv_.notify_one();
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
      // An even share of what is queued, so that no worker stays idle while
      // another holds several tasks; bounded (kMaxShare).
      const size_t n = std::min(kMaxShare, (tasks_.size() + num_threads_ - 1) / num_threads_);
      for (size_t i = 0; i < n; ++i) {
        share.push_back(std::move(tasks_.front()));
        tasks_.pop_front();
      }
    }
    auto run_share = [&share] {
      for (Task& task : share) task();
      share.clear();  // what the tasks captured goes inside the scope too
    };
    if (scope_) {
      scope_(run_share);
    } else {
      run_share();
    }
  }
}

}  // namespace vfsd
