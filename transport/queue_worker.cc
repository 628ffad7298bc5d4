#include "transport/queue_worker.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
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

}  // namespace

absl::StatusOr<std::unique_ptr<QueueWorker>> QueueWorker::Start(
    std::shared_ptr<Virtqueue> queue, int kick_fd, const GuestMemoryHolder* memory,
    RequestHandler* handler) {
  UniqueFd stop_fd(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!stop_fd.valid()) return absl::ErrnoToStatus(errno, "eventfd for queue worker");
  std::unique_ptr<QueueWorker> worker(
      new QueueWorker(std::move(queue), kick_fd, std::move(stop_fd), memory, handler));
  worker->thread_ = std::thread([w = worker.get()] { w->Run(); });
  return worker;
}

void QueueWorker::Stop() {
  if (!thread_.joinable()) return;
  const uint64_t one = 1;
  ssize_t n;
  do {
    n = write(stop_fd_.get(), &one, sizeof(one));
  } while (n < 0 && errno == EINTR);
  thread_.join();
}

void QueueWorker::Run() {
  const uint16_t index = queue_->config().index;
  VLOG(1) << "queue " << index << " worker started";
  // Chains may already be waiting (a ring restarted after GET_VRING_BASE,
  // whose kick the previous worker consumed): look once before sleeping.
  Progress progress = ProcessAvailable();
  pollfd fds[2] = {{kick_fd_, POLLIN, 0}, {stop_fd_.get(), POLLIN, 0}};
  for (;;) {
    // A broken queue only waits to be stopped: its kicks are ignored.
    const bool serving = progress != Progress::kBroken;
    const int nfds = serving ? 2 : 1;
    pollfd* watch = serving ? fds : &fds[1];
    // With work left over from a full budget, only peek for a stop request.
    const int timeout_ms = progress == Progress::kMore ? 0 : -1;
    fds[0].revents = fds[1].revents = 0;
    int n = poll(watch, nfds, timeout_ms);
    if (n < 0) {
      if (errno == EINTR) continue;
      PLOG(ERROR) << "queue " << index << ": poll";
      break;
    }
    if (fds[1].revents != 0) break;
    if (!serving) continue;
    if (fds[0].revents & (POLLERR | POLLNVAL)) {
      LOG(ERROR) << "queue " << index << ": kick fd is unusable; queue no longer served";
      progress = Progress::kBroken;
      continue;
    }
    const bool kicked = (fds[0].revents & POLLIN) != 0;
    if (kicked) DrainEventFd(kick_fd_);
    if (kicked || progress == Progress::kMore) progress = ProcessAvailable();
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
  for (;;) {
    absl::StatusOr<std::optional<QueueRequest>> request = queue_->Pop(memory);
    if (!request.ok()) {
      progress = Progress::kBroken;  // Pop logged it and marked the queue broken
      break;
    }
    if (request->has_value()) {
      handler_->HandleRequest(std::move(**request));
    } else if (!queue_->EnableNotificationsAndCheck()) {
      break;  // empty, and notifications are re-enabled
    }
    if (--budget == 0) {
      progress = Progress::kMore;
      break;
    }
  }
  queue_->EndBatch();
  return progress;
}

}  // namespace vfsd
