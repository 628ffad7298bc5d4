// A fixed-size pool of worker threads running submitted tasks in FIFO order
// (--thread-pool-size). The destructor finishes queued tasks, then joins.
//
// A worker takes a share of the queued tasks at once (see WorkerLoop) and
// runs them inside the optional BatchScope, which the daemon uses to open a
// CompletionBatch: the share's replies then reach the guest with one
// used-ring publication and at most one interrupt instead of one each.
#ifndef VFSD_DAEMON_THREAD_POOL_H_
#define VFSD_DAEMON_THREAD_POOL_H_

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/functional/function_ref.h"
#include "absl/types/span.h"

namespace vfsd {

class ThreadPool {
 public:
  using Task = absl::AnyInvocable<void()>;
  // Called on a worker with the function that runs the tasks it took; must
  // call it exactly once. Called from several workers at once.
  using BatchScope = std::function<void(absl::FunctionRef<void()> run_tasks)>;

  // The most tasks one worker takes at once: tasks taken together reply
  // together, so a slow one delays the replies of the others in its share.
  static constexpr size_t kMaxShare = 8;

  explicit ThreadPool(size_t num_threads, BatchScope scope = nullptr);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  void Submit(Task task);
  // Queues every task (moved from) under one lock and wakes as many workers
  // as there are tasks, at most all of them.
  void SubmitAll(absl::Span<Task> tasks);

 private:
  void WorkerLoop();

  const size_t num_threads_;
  const BatchScope scope_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Task> tasks_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace vfsd

#endif  // VFSD_DAEMON_THREAD_POOL_H_
