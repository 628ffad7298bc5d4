// QueueRequest: one descriptor chain popped from a virtqueue, translated into
// host iovecs, handed to the device (RequestHandler) and returned to the guest
// with Complete(). It holds a snapshot of the guest memory map, so its iovecs
// stay valid even if the front-end removes the region meanwhile, and a
// reference to its queue, so it may complete from any thread at any time.
#ifndef VFSD_TRANSPORT_QUEUE_REQUEST_H_
#define VFSD_TRANSPORT_QUEUE_REQUEST_H_

#include <sys/uio.h>

#include <cstdint>
#include <memory>

#include "absl/types/span.h"
#include "transport/descriptor_chain.h"
#include "transport/guest_memory.h"

namespace vfsd {

class Virtqueue;

class QueueRequest {
 public:
  QueueRequest() = default;  // empty: Complete() does nothing
  QueueRequest(QueueRequest&& other) noexcept = default;
  QueueRequest& operator=(QueueRequest&& other) noexcept;
  QueueRequest(const QueueRequest&) = delete;
  QueueRequest& operator=(const QueueRequest&) = delete;
  // A request dropped without Complete() is returned with 0 bytes written,
  // so the guest never loses a descriptor.
  ~QueueRequest();

  absl::Span<const iovec> readable() const { return chain_.readable; }  // driver → device
  absl::Span<const iovec> writable() const { return chain_.writable; }  // device → driver
  // Total bytes of writable(), the most Complete() will report.
  uint64_t writable_bytes() const { return chain_.writable_bytes; }
  uint16_t queue_index() const { return queue_index_; }
  uint16_t head() const { return chain_.head; }
  bool pending() const { return queue_ != nullptr; }

  // Returns the chain to the guest reporting `bytes_written` bytes written
  // into writable() (clamped to writable_bytes(): the guest must not be told
  // we wrote past its buffers). Thread-safe with respect to other requests;
  // a second call does nothing.
  void Complete(uint32_t bytes_written);

 private:
  friend class Virtqueue;
  QueueRequest(std::shared_ptr<Virtqueue> queue, uint16_t queue_index,
               std::shared_ptr<const GuestMemory> memory)
      : queue_(std::move(queue)), memory_(std::move(memory)), queue_index_(queue_index) {}

  std::shared_ptr<Virtqueue> queue_;
  std::shared_ptr<const GuestMemory> memory_;  // keeps the iovecs mapped
  uint16_t queue_index_ = 0;
  DescriptorChain chain_;
};

// The device behind the queues (the FUSE session, in vfsd).
class RequestHandler {
 public:
  virtual ~RequestHandler() = default;
  // Called on the queue's worker thread for every valid chain, in avail-ring
  // order. May complete later, on another thread.
  virtual void HandleRequest(QueueRequest request) = 0;
  // Called when a ring stops (GET_VRING_BASE, reset, disconnect), before the
  // transport waits for the ring's in-flight requests: the handler must
  // complete (e.g. with EINTR) every request that would otherwise wait for
  // something only the guest can end, such as a blocking lock, or the stop
  // would never return. Requests merely still running are waited for.
  virtual void CancelBlockedRequests() {}
  // Bracket each burst of HandleRequest calls of one worker wake, on the
  // worker thread; the handler may complete requests it held back at
  // EndBatch (before the worker publishes the used ring).
  virtual void BeginBatch() {}
  virtual void EndBatch() {}
};

}  // namespace vfsd

#endif  // VFSD_TRANSPORT_QUEUE_REQUEST_H_
