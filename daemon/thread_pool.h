// A fixed-size pool of worker threads running submitted tasks in FIFO order
// (--thread-pool-size). The destructor finishes queued tasks, then joins.
//
// A worker takes a share of the queued tasks at once (see WorkerLoop) and
// runs them inside the optional BatchScope, which the daemon uses to open a
// CompletionBatch: the share's replies then reach the guest with one
// used-ring publication and at most one interrupt instead of one each.
//
// How many workers a burst wakes depends on what its tasks cost. A share's
// replies wait for its last task, so a share should hold little work; but
// every worker woken costs a context switch and an interrupt of its own,
// which for quick tasks (a cached GETATTR: a few µs) costs more than the
// tasks. So a share is as many tasks as fit in kShareBudgetNs at the recent
// average task time (at most kMaxShare), and a burst wakes as many workers
// as it needs shares of that size, at most the pool: quick tasks go to few
// workers in big shares, slow ones (a 128 KiB read, a READDIR page) to more,
// and blocking ones (cold disk reads, fsync) one per worker, all waiting in
// parallel, which is what a large pool is for.
#ifndef VFSD_DAEMON_THREAD_POOL_H_
#define VFSD_DAEMON_THREAD_POOL_H_

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
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
  // The work one share should hold (see the top of this file).
  static constexpr uint64_t kShareBudgetNs = 32000;

  explicit ThreadPool(size_t num_threads, BatchScope scope = nullptr);
  ~ThreadPool();

  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  // Queues one task; workers then take one task at a time.
  void Submit(Task task);
  // Queues every task (moved from) under one lock and wakes as many workers
  // as their shares need (see the top of this file).
  void SubmitAll(absl::Span<Task> tasks);

  // The recent average time of one task (tests).
  uint64_t average_task_ns() const { return average_task_ns_.load(std::memory_order_relaxed); }

 private:
  void WorkerLoop();
  // The share each worker takes of `queued` tasks. Caller holds mu_.
  size_t ShareSize(size_t queued) const;
  void RecordShareTime(uint64_t elapsed_ns, size_t tasks);

  const size_t num_threads_;
  const BatchScope scope_;
  std::atomic<uint64_t> average_task_ns_{0};  // moving average, see RecordShareTime
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Task> tasks_;
  // What a worker takes: ShareSize of the queue as the last submission left
  // it, so the workers woken for a burst take equal shares (the last may
  // find fewer).
  size_t share_ = 1;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace vfsd

#endif  // VFSD_DAEMON_THREAD_POOL_H_
