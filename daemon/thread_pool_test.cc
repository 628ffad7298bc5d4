#include "daemon/thread_pool.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <set>
#include <mutex>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace vfsd {
namespace {

TEST(ThreadPoolTest, RunsEveryTaskBeforeDestruction) {
  std::atomic<int> count{0};
  {
    ThreadPool pool(3);
    for (int i = 0; i < 1000; ++i) pool.Submit([&count] { count.fetch_add(1); });
  }
  EXPECT_EQ(count.load(), 1000);
}

TEST(ThreadPoolTest, UsesSeveralThreads) {
  std::mutex mu;
  std::set<std::thread::id> ids;
  std::atomic<int> started{0};
  {
    ThreadPool pool(2);
    for (int i = 0; i < 2; ++i) {
      pool.Submit([&] {
        started.fetch_add(1);
        // Wait until both tasks run at once: proves two threads serve the queue.
        while (started.load() < 2) std::this_thread::yield();
        std::lock_guard<std::mutex> lock(mu);
        ids.insert(std::this_thread::get_id());
      });
    }
  }
  EXPECT_EQ(ids.size(), 2u);
}

TEST(ThreadPoolTest, SubmitAllRunsEveryTaskOnce) {
  std::atomic<int> count{0};
  {
    ThreadPool pool(3);
    std::vector<ThreadPool::Task> tasks;
    for (int i = 0; i < 100; ++i) tasks.push_back([&count] { count.fetch_add(1); });
    pool.SubmitAll(absl::MakeSpan(tasks));
    pool.SubmitAll({});  // nothing to do
  }
  EXPECT_EQ(count.load(), 100);
}

TEST(ThreadPoolTest, WorkersTakeEvenBoundedSharesInsideTheScope) {
  std::mutex mu;
  std::vector<int> shares;  // tasks run per scope
  std::atomic<bool> release{false};
  std::atomic<int> scopes_open{0};
  thread_local int in_scope = -1;
  {
    ThreadPool pool(2, [&](absl::FunctionRef<void()> run_tasks) {
      in_scope = 0;
      scopes_open.fetch_add(1);
      run_tasks();
      std::lock_guard<std::mutex> lock(mu);
      shares.push_back(in_scope);
      in_scope = -1;
    });
    // Both workers are held by one task each, so the 20 tasks queued next
    // are all waiting when the workers come back for more.
    for (int i = 0; i < 2; ++i) {
      pool.Submit([&] {
        ++in_scope;
        while (!release.load()) std::this_thread::yield();
      });
    }
    while (scopes_open.load() < 2) std::this_thread::yield();
    std::vector<ThreadPool::Task> tasks;
    for (int i = 0; i < 20; ++i) {
      tasks.push_back([] {
        ASSERT_GE(in_scope, 0) << "task ran outside the scope";
        ++in_scope;
      });
    }
    pool.SubmitAll(absl::MakeSpan(tasks));
    release.store(true);
  }
  int total = 0;
  for (int share : shares) {
    EXPECT_GE(share, 1);
    EXPECT_LE(share, static_cast<int>(ThreadPool::kMaxShare));
    total += share;
  }
  EXPECT_EQ(total, 22);
  // 20 waiting tasks on 2 workers: shares of up to 8, not one at a time.
  EXPECT_LE(shares.size(), 8u);
}

// Quick tasks on a large pool: a burst wakes few workers, each taking an
// equal share of up to kMaxShare, rather than one worker (one context
// switch, one interrupt) per task.
TEST(ThreadPoolTest, QuickBurstGoesToFewWorkersInEqualShares) {
  std::mutex mu;
  std::vector<int> shares;
  thread_local int in_scope = 0;
  {
    ThreadPool pool(16, [&](absl::FunctionRef<void()> run_tasks) {
      in_scope = 0;
      run_tasks();
      std::lock_guard<std::mutex> lock(mu);
      shares.push_back(in_scope);
    });
    std::vector<ThreadPool::Task> tasks;
    for (int i = 0; i < 16; ++i) tasks.push_back([] { ++in_scope; });
    pool.SubmitAll(absl::MakeSpan(tasks));
  }
  int total = 0;
  for (int share : shares) total += share;
  EXPECT_EQ(total, 16);
  // Two workers of 8 (a spurious wake-up may add one more).
  EXPECT_LE(shares.size(), 3u);
  EXPECT_EQ(*std::max_element(shares.begin(), shares.end()), 8);
}

// Tasks that block (here: sleep, as a cold disk read would) are spread over
// every worker once the pool has seen them take long, so they wait in
// parallel instead of one after the other in a few workers' shares.
TEST(ThreadPoolTest, BlockingTasksSpreadOverEveryWorker) {
  std::atomic<int> running{0};
  std::atomic<int> peak{0};
  ThreadPool pool(16);
  auto round = [&] {
    peak.store(0);
    std::atomic<int> done{0};
    std::vector<ThreadPool::Task> tasks;
    for (int i = 0; i < 16; ++i) {
      tasks.push_back([&] {
        const int now = running.fetch_add(1) + 1;
        int seen = peak.load();
        while (now > seen && !peak.compare_exchange_weak(seen, now)) {
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
        running.fetch_sub(1);
        done.fetch_add(1);
      });
    }
    pool.SubmitAll(absl::MakeSpan(tasks));
    while (done.load() < 16) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  };
  for (int i = 0; i < 4; ++i) round();  // the pool learns that tasks block
  EXPECT_GT(pool.average_task_ns(), ThreadPool::kShareBudgetNs);
  round();
  EXPECT_GE(peak.load(), 12);  // 16 workers for 16 sleeping tasks
}

}  // namespace
}  // namespace vfsd
