// The driver (guest) side of one split virtqueue (virtio 1.2 §2.7) living in
// FakeGuestMemory: descriptor free list, chains of readable-then-writable
// buffers (direct or via an indirect table, §2.7.5.3), avail publication,
// kick/call eventfds, used-ring collection, and VIRTIO_F_EVENT_IDX
// notification suppression (§2.7.7, §2.7.10). Several chains may be in
// flight at once. Not thread-safe: one thread drives one queue.
#ifndef VFSD_TESTING_VIRTQUEUE_DRIVER_H_
#define VFSD_TESTING_VIRTQUEUE_DRIVER_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "testing/fake_vmm_memory.h"

namespace vfsd {

// Split-ring layouts (virtio 1.2 §2.7.5-2.7.8). <linux/virtio_ring.h> has
// C-only inline helpers that do not compile as C++, so we spell them here.
struct VringDesc {
  uint64_t addr;
  uint32_t len;
  uint16_t flags;
  uint16_t next;
};
inline constexpr uint16_t kVringDescFNext = 1;
inline constexpr uint16_t kVringDescFWrite = 2;
inline constexpr uint16_t kVringDescFIndirect = 4;
struct VringAvail {
  uint16_t flags;
  uint16_t idx;
  uint16_t ring[];  // then used_event (EVENT_IDX)
};
struct VringUsedElem {
  uint32_t id;
  uint32_t len;
};
struct VringUsed {
  uint16_t flags;
  uint16_t idx;
  VringUsedElem ring[];  // then avail_event (EVENT_IDX)
};
inline constexpr uint16_t kVringUsedFNoNotify = 1;
inline constexpr uint16_t kVringAvailFNoInterrupt = 1;

// virtio 1.2 §2.7.10: notify iff new_idx passed event_idx since old_idx.
inline bool VringNeedEvent(uint16_t event_idx, uint16_t new_idx, uint16_t old_idx) {
  return static_cast<uint16_t>(new_idx - event_idx - 1) <
         static_cast<uint16_t>(new_idx - old_idx);
}

struct VirtqueueBuffer {
  uint64_t gpa;
  uint32_t len;
};

struct UsedElement {
  uint16_t id;   // head descriptor index returned by the device
  uint32_t len;  // bytes the device says it wrote
};

class VirtqueueDriver {
 public:
  // Entries per indirect table (each head owns one, allocated up front).
  static constexpr uint16_t kMaxIndirectEntries = 32;
  // Longest chain AddChain accepts (kept on the stack: no per-request heap).
  static constexpr size_t kMaxChainLength = 64;

  // Allocates the rings (and indirect tables) in `memory` and two eventfds.
  // `size` must be a power of two ≤ 32768. A non-zero `start_index` makes
  // the queue look like one that already carried that many requests (as
  // after migration: the VMM then sends it in SET_VRING_BASE), so tests can
  // push the daemon's 16-bit indices across the wrap.
  static absl::StatusOr<std::unique_ptr<VirtqueueDriver>> Create(FakeGuestMemory* memory,
                                                                 uint16_t size,
                                                                 bool event_idx,
                                                                 uint16_t start_index = 0);
  ~VirtqueueDriver();
  VirtqueueDriver(const VirtqueueDriver&) = delete;
  VirtqueueDriver& operator=(const VirtqueueDriver&) = delete;

  uint16_t size() const { return size_; }
  bool event_idx() const { return event_idx_; }
  uint64_t desc_gpa() const { return desc_gpa_; }
  uint64_t avail_gpa() const { return avail_gpa_; }
  uint64_t used_gpa() const { return used_gpa_; }
  int kick_fd() const { return kick_fd_; }  // the daemon reads it
  int call_fd() const { return call_fd_; }  // the daemon writes it
  uint16_t num_free() const { return num_free_; }
  uint16_t in_flight() const { return in_flight_; }
  // Next avail index to publish (SET_VRING_BASE of a fresh queue is 0).
  uint16_t avail_idx() const { return avail_idx_; }
  uint16_t last_used_idx() const { return last_used_idx_; }

  // Places a chain (readable buffers first, then writable ones, as §2.7.4
  // requires) in the descriptor table and appends its head to the avail
  // ring without publishing it. Returns the head id.
  absl::StatusOr<uint16_t> AddChain(absl::Span<const VirtqueueBuffer> readable,
                                    absl::Span<const VirtqueueBuffer> writable,
                                    bool indirect = false);
  // Makes every added chain visible (release-store of avail->idx).
  void Publish();
  // Publish(), then writes the kick eventfd unless the device suppressed
  // notifications (avail_event with EVENT_IDX, VRING_USED_F_NO_NOTIFY
  // otherwise). Returns whether it kicked.
  absl::StatusOr<bool> Kick();
  // Writes the kick eventfd unconditionally.
  absl::Status ForceKick();

  // Pops one used element if the device returned one. A used id that is
  // not an outstanding head is a device bug and returns DataLossError.
  absl::StatusOr<std::optional<UsedElement>> PollUsed();
  // PollUsed(), sleeping on the call eventfd until one arrives or `timeout`.
  absl::StatusOr<UsedElement> WaitUsed(absl::Duration timeout);

  // Raw access for malformed-ring tests: the descriptor table, and adding
  // an arbitrary head to the avail ring with no bookkeeping (its used
  // element will be reported as a DataLossError by PollUsed).
  VringDesc* desc_table() const { return desc_; }
  void AddRawAvail(uint16_t head);

 private:
  VirtqueueDriver() = default;
  void FreeChain(uint16_t head);

  FakeGuestMemory* memory_ = nullptr;
  uint16_t size_ = 0;
  bool event_idx_ = false;
  uint64_t desc_gpa_ = 0, avail_gpa_ = 0, used_gpa_ = 0;
  VringDesc* desc_ = nullptr;
  VringAvail* avail_ = nullptr;
  VringUsed* used_ = nullptr;
  int kick_fd_ = -1;
  int call_fd_ = -1;

  // Host-side shadow state; never re-read from guest memory, which the
  // device could scribble on.
  std::vector<uint16_t> next_free_;
  std::vector<uint16_t> chain_len_;  // 0 = not an outstanding head
  std::vector<uint64_t> indirect_gpa_;
  uint16_t free_head_ = 0;
  uint16_t num_free_ = 0;
  uint16_t in_flight_ = 0;
  uint16_t avail_idx_ = 0;
  uint16_t kicked_idx_ = 0;  // avail idx at the last notification decision
  uint16_t last_used_idx_ = 0;
};

}  // namespace vfsd

#endif  // VFSD_TESTING_VIRTQUEUE_DRIVER_H_
