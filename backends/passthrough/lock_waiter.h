// LockWaiter: completes blocking lock requests (SETLKW, blocking flock)
// without holding a queue worker.
//
// A blocking request whose first non-blocking attempt found a conflict is
// parked here; one dedicated thread retries every parked request with
// non-blocking calls (F_OFD_SETLK, flock(LOCK_NB)) and completes it from
// that thread once granted. Why polling and not a thread blocked in
// F_OFD_SETLKW per request: a blocked fcntl can only be cancelled by a
// signal, which needs a handler, an unblocked signal in that thread and
// rt_sigaction/tgkill in the seccomp allowlist, and races with the thread
// entering the call. Retrying needs none of that and is always cancellable.
//
// Latency. Retries back off from 1 ms to 32 ms; every unlock the backend
// itself performs (SETLK F_UNLCK, flock LOCK_UN, an owner's locks dropped on
// FLUSH/RELEASE) calls Kick(), which retries every parked request at once,
// so guest-vs-guest contention is granted immediately; only a lock held by
// a host process is noticed up to 32 ms late.
//
// Bounds. At most `max_waits` requests wait at once; beyond that a request
// fails with ENOLCK (the errno fcntl gives when lock resources run out), so
// a guest cannot make the daemon track unbounded state.
//
// Cancellation. virtio-fs guests never send FUSE_INTERRUPT, so a parked
// request ends only when granted or cancelled: with EINTR when its owner's
// locks are dropped (FLUSH/RELEASE), its handle is released, its node is
// forgotten, or the session ends (Destroy, destruction).
#ifndef VFSD_BACKENDS_PASSTHROUGH_LOCK_WAITER_H_
#define VFSD_BACKENDS_PASSTHROUGH_LOCK_WAITER_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <list>
#include <mutex>
#include <thread>

#include "absl/functional/any_invocable.h"
#include "absl/functional/function_ref.h"
#include "backends/backend.h"

namespace vfsd {

class LockWaiter {
 public:
  // What a parked request is waiting for, to find it when cancelling.
  struct Key {
    NodeId node = 0;
    uint64_t owner = 0;  // POSIX lock owner (unused for flock)
    HandleId handle = 0;
    bool flock = false;
  };
  // One non-blocking try, run on the waiter thread with the waiter's mutex
  // held (it must not block or call into the LockWaiter): 0 when granted,
  // EAGAIN to keep waiting, any other errno to fail the request.
  using Attempt = absl::AnyInvocable<int()>;
  // Called exactly once with 0 (granted) or an errno, never with the
  // waiter's mutex held; may call back into the LockWaiter.
  using Finish = absl::AnyInvocable<void(int)>;

  static constexpr size_t kDefaultMaxWaits = 64;
  static constexpr std::chrono::milliseconds kFirstRetry{1};
  static constexpr std::chrono::milliseconds kMaxRetry{32};

  explicit LockWaiter(size_t max_waits = kDefaultMaxWaits) : max_waits_(max_waits) {}
  // Cancels every parked request (EINTR) and joins the thread.
  ~LockWaiter();
  LockWaiter(const LockWaiter&) = delete;
  LockWaiter& operator=(const LockWaiter&) = delete;

  // Parks a request; `finish` runs later on the waiter thread, or now with
  // ENOLCK when `max_waits` requests are already parked.
  void Add(const Key& key, Attempt attempt, Finish finish);

  // Some lock was released: retry every parked request now.
  void Kick();

  // Fail parked requests with EINTR: POSIX waits of `owner` on `node`; all
  // waits through `handle`; all waits on `node`; everything.
  void CancelOwner(NodeId node, uint64_t owner);
  void CancelHandle(HandleId handle);
  void CancelNode(NodeId node);
  void CancelAll();

  // Requests parked now (for tests and metrics).
  size_t waiting() const { return count_.load(std::memory_order_acquire); }

 private:
  using Clock = std::chrono::steady_clock;
  struct Wait {
    Key key;
    Attempt attempt;
    Finish finish;
    Clock::duration delay;
    Clock::time_point next_try;
  };

  void Cancel(absl::FunctionRef<bool(const Key&)> match);
  void Run();

  const size_t max_waits_;
  std::atomic<size_t> count_{0};  // == waits_.size(), readable without mu_
  std::mutex mu_;
  std::condition_variable cv_;
  std::list<Wait> waits_;  // guarded by mu_
  bool kicked_ = false;    // guarded by mu_
  bool stop_ = false;      // guarded by mu_
  std::thread thread_;     // started on the first Add, guarded by mu_
};

}  // namespace vfsd

#endif  // VFSD_BACKENDS_PASSTHROUGH_LOCK_WAITER_H_
