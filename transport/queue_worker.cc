#include "transport/queue_worker.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <utility>

#include "absl/status/status.h"
#include "glog/logging.h"

namespace vfsd {
namespace {

// Resets an eventfd counter; EAGAIN (nothing pending) is fine.
void DrainEventFd(int fd) {
  uint64_t value;
  ssize_t n;
  do {
    n = read(fd, &value, sizeof(value));
  } while (n < 0 && errno == EINTR);
}

uint64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Tells the CPU this is a spin-wait (frees the sibling hyperthread, saves
// power); a plain compiler barrier elsewhere.
inline void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield" ::: "memory");
#else
  asm volatile("" ::: "memory");
#endif
}

}  // namespace

void AdaptivePollWindow::Update(uint64_t waited_ns) {
  if (max_ns_ == 0 || waited_ns <= window_ns_) return;  // off, or polling caught it
  if (waited_ns > max_ns_) {
    window_ns_ = 0;  // an idle gap no window may cover: stop spinning
    return;
  }
  // A longer window would have caught these requests without a sleep.
  window_ns_ = window_ns_ == 0 ? std::min(kInitialNs, max_ns_) : std::min(window_ns_ * 2, max_ns_);
}

absl::StatusOr<std::unique_ptr<QueueWorker>> QueueWorker::Start(
    std::shared_ptr<Virtqueue> queue, int kick_fd, const GuestMemoryHolder* memory,
    RequestHandler* handler, QueuePolling polling) {
  UniqueFd stop_fd(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!stop_fd.valid()) return absl::ErrnoToStatus(errno, "eventfd for queue worker");
  std::unique_ptr<QueueWorker> worker(new QueueWorker(std::move(queue), kick_fd,
                                                      std::move(stop_fd), memory, handler,
                                                      polling));
  worker->thread_ = std::thread([w = worker.get()] { w->Run(); });
  return worker;
}

void QueueWorker::Stop() {
  if (!thread_.joinable()) return;
  stopping_.store(true, std::memory_order_relaxed);  // ends a polling window early
  const uint64_t one = 1;
  ssize_t n;
  do {
    n = write(stop_fd_.get(), &one, sizeof(one));
  } while (n < 0 && errno == EINTR);
  thread_.join();
}

bool QueueWorker::PollForRequests(uint64_t window_ns) {
  const uint64_t deadline = NowNs() + window_ns;
  for (;;) {
    // The clock costs more than a look at the avail index: look a few times
    // per reading.
    for (int i = 0; i < 16; ++i) {
      if (queue_->HasAvailable()) return true;
      CpuRelax();
    }
    if (stopping_.load(std::memory_order_relaxed) || NowNs() >= deadline) return false;
  }
}

void QueueWorker::Run() {
  const uint16_t index = queue_->config().index;
  VLOG(1) << "queue " << index << " worker started";
  // Chains may already be waiting (a ring restarted after GET_VRING_BASE,
  // whose kick the previous worker consumed): look once before sleeping.
  Progress progress = ProcessAvailable();
  pollfd fds[2] = {{kick_fd_, POLLIN, 0}, {stop_fd_.get(), POLLIN, 0}};
  for (;;) {
    if (progress == Progress::kBroken) {
      // A broken queue only waits to be stopped: its kicks are ignored.
      fds[1].revents = 0;
      if (poll(&fds[1], 1, -1) < 0 && errno != EINTR) {
        PLOG(ERROR) << "queue " << index << ": poll";
        break;
      }
      if (fds[1].revents != 0) break;
      continue;
    }
    if (progress == Progress::kMore) {
      // Work left over from a full budget: only peek for a stop request.
      fds[1].revents = 0;
      if (poll(&fds[1], 1, 0) > 0 && fds[1].revents != 0) break;
      progress = ProcessAvailable();
      continue;
    }
    // The ring is empty and what was served is published.
    const uint64_t idle_since = NowNs();
    bool arrived = poll_window_.window_ns() > 0 && PollForRequests(poll_window_.window_ns());
    if (!arrived && !queue_->EnableNotificationsAndCheck()) {
      fds[0].revents = fds[1].revents = 0;
      if (poll(fds, 2, -1) < 0) {
        if (errno == EINTR) continue;
        PLOG(ERROR) << "queue " << index << ": poll";
        break;
      }
      if (fds[1].revents != 0) break;
      if (fds[0].revents & (POLLERR | POLLNVAL)) {
        LOG(ERROR) << "queue " << index << ": kick fd is unusable; queue no longer served";
        progress = Progress::kBroken;
        continue;
      }
      if (!(fds[0].revents & POLLIN)) continue;
      DrainEventFd(kick_fd_);
    }
    if (stopping_.load(std::memory_order_relaxed)) break;
    poll_window_.Update(NowNs() - idle_since);
    progress = ProcessAvailable();
  }
  VLOG(1) << "queue " << index << " worker stopped";
}

QueueWorker::Progress QueueWorker::ProcessAvailable() {
  // One snapshot per wake: a memory map swap takes effect at the next kick,
  // and every request popped now keeps this snapshot alive.
  std::shared_ptr<const GuestMemory> memory = memory_->Load();
  // Bounded work per wake: a guest that refills the ring as fast as we drain
  // it (or a ring whose used index aliases its avail index, so that every
  // completion looks like a new chain) must not keep this thread from
  // noticing a stop request (GET_VRING_BASE, disconnect).
  uint32_t budget = queue_->config().size;
  Progress progress = Progress::kIdle;
  queue_->BeginBatch();
  handler_->BeginBatch();
  for (;;) {
    absl::StatusOr<std::optional<QueueRequest>> request = queue_->Pop(memory);
    if (!request.ok()) {
      progress = Progress::kBroken;  // Pop logged it and marked the queue broken
      break;
    }
    if (!request->has_value()) break;  // empty: Run re-arms notifications or polls
    handler_->HandleRequest(std::move(**request));
    if (--budget == 0) {
      progress = Progress::kMore;
      break;
    }
  }
  handler_->EndBatch();
  queue_->EndBatch();
  return progress;
}

}  // namespace vfsd
