// QueueWorker: the thread serving one started virtqueue. It sleeps on the
// queue's kick eventfd (and a private stop eventfd), and on each kick pops
// every available chain, hands it to the RequestHandler, then re-arms guest
// notifications; used-index publication and interrupts are batched per wake.
//
// Adaptive polling (QueuePolling): once the ring is empty the worker may
// watch the avail index for a short while before it re-arms notifications
// and sleeps. A busy guest's next requests then arrive without a kick (no
// VM exit on the guest side) and without the sleep/wake-up on ours, which
// on a paravirtualised host costs more than the request itself. The window
// adapts the way QEMU's AioContext polling (poll-max-ns) does: it grows
// while requests keep arriving within it and drops to 0 after an idle gap
// longer than the maximum, so an idle queue does not spin.
#ifndef VFSD_TRANSPORT_QUEUE_WORKER_H_
#define VFSD_TRANSPORT_QUEUE_WORKER_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <thread>

#include "absl/status/statusor.h"
#include "transport/guest_memory.h"
#include "transport/queue_request.h"
#include "transport/unique_fd.h"
#include "transport/virtqueue.h"

namespace vfsd {

struct QueuePolling {
  uint64_t max_ns = 0;  // 0: never poll, sleep as soon as the ring is empty
};

// The polling window's adaptation, separate so it can be tested on its own.
class AdaptivePollWindow {
 public:
  explicit AdaptivePollWindow(uint64_t max_ns) : max_ns_(max_ns) {}
  uint64_t window_ns() const { return window_ns_; }
  // After an empty ring: `waited_ns` is how long it took (polling plus
  // sleeping) until requests came again.
  void Update(uint64_t waited_ns);

  static constexpr uint64_t kInitialNs = 4000;

 private:
  const uint64_t max_ns_;
  uint64_t window_ns_ = 0;
};

class QueueWorker {
 public:
  // Starts the thread. `kick_fd`, `memory` and `handler` must outlive the
  // worker (Stop() or destruction joins it).
  static absl::StatusOr<std::unique_ptr<QueueWorker>> Start(std::shared_ptr<Virtqueue> queue,
                                                            int kick_fd,
                                                            const GuestMemoryHolder* memory,
                                                            RequestHandler* handler,
                                                            QueuePolling polling = {});
  ~QueueWorker() { Stop(); }
  QueueWorker(const QueueWorker&) = delete;
  QueueWorker& operator=(const QueueWorker&) = delete;

  // Wakes the thread and joins it. Requests already handed to the handler
  // are not waited for (Virtqueue::WaitIdle does that). Idempotent.
  void Stop();

 private:
  QueueWorker(std::shared_ptr<Virtqueue> queue, int kick_fd, UniqueFd stop_fd,
              const GuestMemoryHolder* memory, RequestHandler* handler, QueuePolling polling)
      : queue_(std::move(queue)),
        kick_fd_(kick_fd),
        stop_fd_(std::move(stop_fd)),
        memory_(memory),
        handler_(handler),
        poll_window_(polling.max_ns) {}
  void Run();
  // Watches the avail index for up to the current window; true when chains
  // arrived. Returns early on Stop().
  bool PollForRequests(uint64_t window_ns);
  // Serves everything available; false once the queue is broken.
  enum class Progress { kIdle, kMore, kBroken };
  // Serves available chains, at most one queue's worth; kMore when the
  // budget ran out with chains left.
  Progress ProcessAvailable();

  const std::shared_ptr<Virtqueue> queue_;
  const int kick_fd_;
  const UniqueFd stop_fd_;
  const GuestMemoryHolder* const memory_;
  RequestHandler* const handler_;
  AdaptivePollWindow poll_window_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace vfsd

#endif  // VFSD_TRANSPORT_QUEUE_WORKER_H_
