// A fixed-size pool of worker threads running submitted tasks in FIFO order
// (--thread-pool-size). The destructor finishes queued tasks, then joins.
#ifndef VFSD_DAEMON_THREAD_POOL_H_
#define VFSD_DAEMON_THREAD_POOL_H_

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/functional/any_invocable.h"

namespace vfsd {

class ThreadPool {
 public:
  explicit ThreadPool(size_t num_threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  void Submit(absl::AnyInvocable<void()> task);

 private:
  void WorkerLoop();

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<absl::AnyInvocable<void()>> tasks_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace vfsd

#endif  // VFSD_DAEMON_THREAD_POOL_H_
