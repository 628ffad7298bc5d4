// LockWaiter: the thread that retries parked blocking lock requests.

#include "backends/passthrough/lock_waiter.h"

#include <algorithm>
#include <cerrno>
#include <iterator>
#include <utility>

namespace vfsd {

LockWaiter::~LockWaiter() {
  CancelAll();
  std::thread thread;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
    thread = std::move(thread_);
  }
  cv_.notify_all();
  if (thread.joinable()) thread.join();
}

void LockWaiter::Add(const Key& key, Attempt attempt, Finish finish) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!stop_ && waits_.size() < max_waits_) {
      // Started lazily: most sessions never wait for a lock.
      if (!thread_.joinable()) thread_ = std::thread([this] { Run(); });
      const Clock::time_point now = Clock::now();
      // The caller has just tried once; the next try is after kFirstRetry.
      waits_.push_back(
          Wait{key, std::move(attempt), std::move(finish), kFirstRetry, now + kFirstRetry});
      count_.store(waits_.size(), std::memory_order_release);
      cv_.notify_all();
      return;
    }
  }
  finish(ENOLCK);
}

void LockWaiter::Kick() {
  // Hot path (every unlock, FLUSH, RELEASE): nothing to do when no one waits.
  if (count_.load(std::memory_order_acquire) == 0) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    kicked_ = true;
  }
  cv_.notify_all();
}

void LockWaiter::Cancel(absl::FunctionRef<bool(const Key&)> match) {
  if (count_.load(std::memory_order_acquire) == 0) return;
  std::list<Wait> cancelled;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto it = waits_.begin(); it != waits_.end();) {
      auto next = std::next(it);
      if (match(it->key)) cancelled.splice(cancelled.end(), waits_, it);
      it = next;
    }
    count_.store(waits_.size(), std::memory_order_release);
  }
  for (Wait& wait : cancelled) wait.finish(EINTR);
}

void LockWaiter::CancelOwner(NodeId node, uint64_t owner) {
  Cancel([&](const Key& key) { return !key.flock && key.node == node && key.owner == owner; });
}

void LockWaiter::CancelHandle(HandleId handle) {
  Cancel([&](const Key& key) { return key.handle == handle; });
}

void LockWaiter::CancelNode(NodeId node) {
  Cancel([&](const Key& key) { return key.node == node; });
}

void LockWaiter::CancelAll() {
  Cancel([](const Key&) { return true; });
}

void LockWaiter::Run() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    if (waits_.empty()) {
      cv_.wait(lock, [this] { return stop_ || !waits_.empty(); });
      continue;
    }
    const bool kicked = std::exchange(kicked_, false);
    const Clock::time_point now = Clock::now();
    Clock::time_point next_wake = Clock::time_point::max();
    std::list<Wait> done;
    std::list<int> results;
    for (auto it = waits_.begin(); it != waits_.end();) {
      auto next = std::next(it);
      if (kicked) it->delay = kFirstRetry;  // a release: back to fast retries
      if (kicked || it->next_try <= now) {
        const int err = it->attempt();
        if (err != EAGAIN) {
          results.push_back(err);
          done.splice(done.end(), waits_, it);
          it = next;
          continue;
        }
        it->next_try = now + it->delay;
        it->delay = std::min<Clock::duration>(it->delay * 2, kMaxRetry);
      }
      if (it->next_try < next_wake) next_wake = it->next_try;
      it = next;
    }
    count_.store(waits_.size(), std::memory_order_release);
    if (!done.empty()) {
      // Completions may reply to the guest and call back into us.
      lock.unlock();
      auto result = results.begin();
      for (Wait& wait : done) wait.finish(*result++);
      done.clear();
      lock.lock();
      continue;
    }
    // Woken early by Add (a new wait), Kick and the destructor; a spurious
    // wake-up only re-runs the loop, which tries nothing before its time.
    if (!waits_.empty() && !kicked_) cv_.wait_until(lock, next_wake);
  }
}

}  // namespace vfsd
