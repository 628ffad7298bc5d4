// Virtqueue: the device side of one running split virtqueue (virtio 1.2
// §2.7). The queue's worker thread pops available chains (Pop); completions
// push used elements from any thread, in any order (Push, via
// QueueRequest::Complete). Implements VIRTIO_RING_F_EVENT_IDX both ways
// (avail_event to suppress kicks, used_event to suppress interrupts) and
// batches used-index publication and interrupts across a worker batch.
//
// Ring corruption (avail index jumping by more than the queue size, a head
// index out of range) marks the queue broken: it stops being served and the
// error eventfd is signalled. A malformed chain is not corruption: its head
// is returned to the guest with 0 bytes written and the queue goes on.
#ifndef VFSD_TRANSPORT_VIRTQUEUE_H_
#define VFSD_TRANSPORT_VIRTQUEUE_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "transport/guest_memory.h"
#include "transport/queue_request.h"
#include "transport/unique_fd.h"

namespace vfsd {

struct VirtqueueConfig {
  uint16_t index = 0;  // vhost-user queue index (reported to the handler)
  uint32_t size = 0;   // power of two, 1..32768
  // Front-end virtual addresses from SET_VRING_ADDR.
  uint64_t desc_user_addr = 0;
  uint64_t avail_user_addr = 0;
  uint64_t used_user_addr = 0;
  uint16_t next_avail = 0;  // SET_VRING_BASE
  bool event_idx = false;   // VIRTIO_RING_F_EVENT_IDX negotiated
  bool indirect = false;    // VIRTIO_RING_F_INDIRECT_DESC negotiated
};

// An eventfd shared between the connection (which may replace it at any time,
// e.g. QEMU swapping masked/unmasked notifiers) and the queue.
using SharedEventFd = std::shared_ptr<const UniqueFd>;

class Virtqueue : public std::enable_shared_from_this<Virtqueue> {
 public:
  // Translates the three rings through `memory` (which the queue keeps alive
  // for the rings' sake) and checks their size and alignment.
  static absl::StatusOr<std::shared_ptr<Virtqueue>> Create(
      const VirtqueueConfig& config, std::shared_ptr<const GuestMemory> memory);
  Virtqueue(const Virtqueue&) = delete;
  Virtqueue& operator=(const Virtqueue&) = delete;

  const VirtqueueConfig& config() const { return config_; }

  // --- worker thread only -------------------------------------------------
  // The next available chain, translated through `memory`; nullopt when the
  // avail ring is empty. An error means the ring is corrupt: the queue is now
  // broken and every later Pop fails.
  absl::StatusOr<std::optional<QueueRequest>> Pop(
      const std::shared_ptr<const GuestMemory>& memory);
  // Re-arms guest notifications (writes avail_event with EVENT_IDX) and
  // returns whether chains arrived meanwhile (then the caller pops again,
  // otherwise a kick sent before the re-arm would be lost).
  bool EnableNotificationsAndCheck();
  // Whether the guest made chains available since the last Pop, without
  // touching notification state (a polling worker's cheap check).
  bool HasAvailable() const { return LoadAvailIdx() != next_avail_; }
  // Between Begin and End, pushes only write used elements; End publishes
  // the used index once and decides once whether to interrupt the guest.
  void BeginBatch();
  void EndBatch();
  // avail index of the next chain to pop (GET_VRING_BASE, once stopped).
  uint16_t next_avail() const { return next_avail_; }

  // --- any thread ---------------------------------------------------------
  // Returns one chain to the guest.
  void Push(uint16_t head, uint32_t len);
  // Writes the used element but leaves publishing it (and the interrupt) to
  // PublishDeferred() or any earlier publication; the chain counts as in
  // flight until then, so WaitIdle() never returns with it unpublished.
  // For CompletionBatch.
  void PushDeferred(uint16_t head, uint32_t len);
  // Publishes deferred used elements, unless the worker's batch is open (its
  // EndBatch publishes them).
  void PublishDeferred();
  void SetCallFd(SharedEventFd fd);
  void SetErrFd(SharedEventFd fd);
  bool broken() const { return broken_.load(std::memory_order_acquire); }
  uint32_t in_flight() const { return in_flight_.load(std::memory_order_acquire); }
  // Blocks until every popped chain has been pushed back.
  void WaitIdle();

 private:
  Virtqueue(const VirtqueueConfig& config, std::shared_ptr<const GuestMemory> memory);
  void MarkBroken(const absl::Status& why);
  // Writes one used element at used_idx_ (not yet published). Requires mu_.
  void WriteUsedLocked(uint16_t head, uint32_t len);
  // Publishes used_idx_ and returns the call fd to signal, if the guest wants
  // an interrupt. Requires mu_.
  SharedEventFd PublishUsedLocked();
  uint16_t LoadAvailIdx() const;

  const VirtqueueConfig config_;
  const std::shared_ptr<const GuestMemory> ring_memory_;  // keeps rings mapped
  uint8_t* desc_ = nullptr;
  uint8_t* avail_ = nullptr;  // flags, idx, ring[size], used_event
  uint8_t* used_ = nullptr;   // flags, idx, ring[size], avail_event

  // Worker-only state.
  uint16_t next_avail_;
  uint16_t shadow_avail_idx_;  // last avail->idx read (validated)

  std::atomic<bool> broken_{false};
  std::atomic<uint32_t> in_flight_{0};

  std::mutex mu_;
  std::condition_variable idle_cv_;
  uint16_t used_idx_;                // next used slot (guarded by mu_)
  uint16_t signalled_used_ = 0;      // used idx at the last interrupt decision
  bool signalled_used_valid_ = false;
  bool in_batch_ = false;
  bool publish_pending_ = false;
  uint32_t deferred_ = 0;            // PushDeferred elements not yet published
  SharedEventFd call_fd_;
  SharedEventFd err_fd_;
};

// Writes 1 to an eventfd (call/err notification); logs failures.
void SignalEventFd(const SharedEventFd& fd);

}  // namespace vfsd

#endif  // VFSD_TRANSPORT_VIRTQUEUE_H_
