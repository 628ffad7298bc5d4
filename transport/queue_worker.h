// QueueWorker: the thread serving one started virtqueue. It sleeps on the
// queue's kick eventfd (and a private stop eventfd), and on each kick pops
// every available chain, hands it to the RequestHandler, then re-arms guest
// notifications; used-index publication and interrupts are batched per wake.
#ifndef VFSD_TRANSPORT_QUEUE_WORKER_H_
#define VFSD_TRANSPORT_QUEUE_WORKER_H_

#include <memory>
#include <thread>

#include "absl/status/statusor.h"
#include "transport/guest_memory.h"
#include "transport/queue_request.h"
#include "transport/unique_fd.h"
#include "transport/virtqueue.h"

namespace vfsd {

class QueueWorker {
 public:
  // Starts the thread. `kick_fd`, `memory` and `handler` must outlive the
  // worker (Stop() or destruction joins it).
  static absl::StatusOr<std::unique_ptr<QueueWorker>> Start(std::shared_ptr<Virtqueue> queue,
                                                            int kick_fd,
                                                            const GuestMemoryHolder* memory,
                                                            RequestHandler* handler);
  ~QueueWorker() { Stop(); }
  QueueWorker(const QueueWorker&) = delete;
  QueueWorker& operator=(const QueueWorker&) = delete;

  // Wakes the thread and joins it. Requests already handed to the handler
  // are not waited for (Virtqueue::WaitIdle does that). Idempotent.
  void Stop();

 private:
  QueueWorker(std::shared_ptr<Virtqueue> queue, int kick_fd, UniqueFd stop_fd,
              const GuestMemoryHolder* memory, RequestHandler* handler)
      : queue_(std::move(queue)),
        kick_fd_(kick_fd),
        stop_fd_(std::move(stop_fd)),
        memory_(memory),
        handler_(handler) {}
  void Run();
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
  std::thread thread_;
};

}  // namespace vfsd

#endif  // VFSD_TRANSPORT_QUEUE_WORKER_H_
