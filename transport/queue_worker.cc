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
  bool serving = true;
  // Chains may already be waiting (a ring restarted after GET_VRING_BASE,
  // whose kick the previous worker consumed): look once before sleeping.
  serving = ProcessAvailable();
  pollfd fds[2] = {{kick_fd_, POLLIN, 0}, {stop_fd_.get(), POLLIN, 0}};
  for (;;) {
    // A broken queue only waits to be stopped: its kicks are ignored.
    const int nfds = serving ? 2 : 1;
    pollfd* watch = serving ? fds : &fds[1];
    int n = poll(watch, nfds, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      PLOG(ERROR) << "queue " << index << ": poll";
      break;
    }
    if (fds[1].revents != 0) break;
    if (!serving) continue;
    if (fds[0].revents & (POLLERR | POLLNVAL)) {
      LOG(ERROR) << "queue " << index << ": kick fd is unusable; queue no longer served";
      serving = false;
      continue;
    }
    if (fds[0].revents & POLLIN) {
      DrainEventFd(kick_fd_);
      serving = ProcessAvailable();
    }
  }
  VLOG(1) << "queue " << index << " worker stopped";
}

bool QueueWorker::ProcessAvailable() {
  // One snapshot per wake: a memory map swap takes effect at the next kick,
  // and every request popped now keeps this snapshot alive.
  std::shared_ptr<const GuestMemory> memory = memory_->Load();
  bool ok = true;
  queue_->BeginBatch();
  do {
    for (;;) {
      absl::StatusOr<std::optional<QueueRequest>> request = queue_->Pop(memory);
      if (!request.ok()) {
        ok = false;  // Pop logged it and marked the queue broken
        break;
      }
      if (!request->has_value()) break;
      handler_->HandleRequest(std::move(**request));
    }
  } while (ok && queue_->EnableNotificationsAndCheck());
  queue_->EndBatch();
  return ok;
}

}  // namespace vfsd
