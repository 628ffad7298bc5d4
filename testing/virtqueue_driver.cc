// VirtqueueDriver: split-ring driver side. Barrier placement follows the
// Linux driver (drivers/virtio/virtio_ring.c): write descriptors and ring
// entries, release-store avail->idx, full fence, then read the device's
// suppression state.
#include "testing/virtqueue_driver.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <climits>
#include <cerrno>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "backends/errno_status.h"

namespace vfsd {
namespace {

uint16_t* UsedEvent(VringAvail* avail, uint16_t size) { return &avail->ring[size]; }
uint16_t* AvailEvent(VringUsed* used, uint16_t size) {
  return reinterpret_cast<uint16_t*>(&used->ring[size]);
}

template <typename T>
T LoadAcquire(T* p) {
  return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}
template <typename T>
void StoreRelease(T* p, T v) {
  __atomic_store_n(p, v, __ATOMIC_RELEASE);
}

}  // namespace

absl::StatusOr<std::unique_ptr<VirtqueueDriver>> VirtqueueDriver::Create(
    FakeGuestMemory* memory, uint16_t size, bool event_idx, uint16_t start_index) {
  if (size == 0 || (size & (size - 1)) != 0 || size > 32768) {
    return absl::InvalidArgumentError(absl::StrCat("bad virtqueue size ", size));
  }
  std::unique_ptr<VirtqueueDriver> q(new VirtqueueDriver());
  q->memory_ = memory;
  q->size_ = size;
  q->event_idx_ = event_idx;
  // Alignments from virtio 1.2 §2.7 (desc 16, avail 2, used 4); each ring is
  // its own allocation so with several regions they land in different ones.
  absl::StatusOr<uint64_t> desc = memory->Allocate(16ull * size, 16);
  if (!desc.ok()) return desc.status();
  absl::StatusOr<uint64_t> avail = memory->Allocate(6ull + 2ull * size, 2);
  if (!avail.ok()) return avail.status();
  absl::StatusOr<uint64_t> used = memory->Allocate(6ull + 8ull * size, 4);
  if (!used.ok()) return used.status();
  q->desc_gpa_ = *desc;
  q->avail_gpa_ = *avail;
  q->used_gpa_ = *used;
  q->desc_ = reinterpret_cast<VringDesc*>(memory->Translate(*desc, 16ull * size));
  q->avail_ = reinterpret_cast<VringAvail*>(memory->Translate(*avail, 6ull + 2ull * size));
  q->used_ = reinterpret_cast<VringUsed*>(memory->Translate(*used, 6ull + 8ull * size));
  q->next_free_.resize(size);
  q->chain_len_.assign(size, 0);
  q->indirect_gpa_.resize(size);
  for (uint16_t i = 0; i < size; ++i) {
    q->next_free_[i] = static_cast<uint16_t>(i + 1);
    absl::StatusOr<uint64_t> table = memory->Allocate(16ull * kMaxIndirectEntries, 16);
    if (!table.ok()) return table.status();
    q->indirect_gpa_[i] = *table;
  }
  q->num_free_ = size;
  // Both rings (and both event fields) as a previous device/driver pair
  // would have left them after `start_index` completed requests.
  q->avail_idx_ = q->kicked_idx_ = q->last_used_idx_ = start_index;
  q->avail_->idx = start_index;
  q->used_->idx = start_index;
  *UsedEvent(q->avail_, size) = start_index;
  *AvailEvent(q->used_, size) = start_index;
  q->kick_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  q->call_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (q->kick_fd_ < 0 || q->call_fd_ < 0) return ErrnoFromLastError("eventfd");
  return q;
}

VirtqueueDriver::~VirtqueueDriver() {
  if (kick_fd_ >= 0) close(kick_fd_);
  if (call_fd_ >= 0) close(call_fd_);
}

absl::StatusOr<uint16_t> VirtqueueDriver::AddChain(absl::Span<const VirtqueueBuffer> readable,
                                                   absl::Span<const VirtqueueBuffer> writable,
                                                   bool indirect) {
  const size_t n = readable.size() + writable.size();
  if (n == 0) return absl::InvalidArgumentError("empty descriptor chain");
  if (n > kMaxChainLength) return absl::InvalidArgumentError("descriptor chain too long");
  if (indirect && n > kMaxIndirectEntries) {
    return absl::InvalidArgumentError("chain too long for an indirect table");
  }
  const size_t needed = indirect ? 1 : n;
  if (needed > num_free_) {
    return absl::ResourceExhaustedError(
        absl::StrCat("virtqueue full: need ", needed, " descriptors, ", num_free_, " free"));
  }
  // Descriptor i of the chain (readable first), linking to `next`.
  auto make = [&](size_t i, uint16_t next) {
    const bool is_write = i >= readable.size();
    const VirtqueueBuffer& b = is_write ? writable[i - readable.size()] : readable[i];
    uint16_t flags = is_write ? kVringDescFWrite : 0;
    if (i + 1 < n) flags |= kVringDescFNext;
    return VringDesc{b.gpa, b.len, flags, static_cast<uint16_t>(i + 1 < n ? next : 0)};
  };
  const uint16_t head = free_head_;
  if (indirect) {
    VringDesc* table = reinterpret_cast<VringDesc*>(
        memory_->Translate(indirect_gpa_[head], 16ull * kMaxIndirectEntries));
    for (size_t i = 0; i < n; ++i) table[i] = make(i, static_cast<uint16_t>(i + 1));
    desc_[head] = VringDesc{indirect_gpa_[head], static_cast<uint32_t>(16 * n),
                             kVringDescFIndirect, 0};
    free_head_ = next_free_[head];
  } else {
    // Walk the free list to learn the chain's indices, then write them.
    uint16_t idx[kMaxChainLength];
    uint16_t cur = free_head_;
    for (size_t i = 0; i < n; ++i) {
      idx[i] = cur;
      cur = next_free_[cur];
    }
    free_head_ = cur;
    for (size_t i = 0; i < n; ++i) desc_[idx[i]] = make(i, i + 1 < n ? idx[i + 1] : 0);
  }
  num_free_ -= static_cast<uint16_t>(needed);
  chain_len_[head] = static_cast<uint16_t>(needed);
  ++in_flight_;
  avail_->ring[avail_idx_ % size_] = head;
  ++avail_idx_;
  return head;
}

void VirtqueueDriver::AddRawAvail(uint16_t head) {
  avail_->ring[avail_idx_ % size_] = head;
  ++avail_idx_;
}

void VirtqueueDriver::Publish() { StoreRelease(&avail_->idx, avail_idx_); }

absl::StatusOr<bool> VirtqueueDriver::Kick() {
  Publish();
  // The device may be deciding to sleep right now; order our idx store
  // before reading its suppression state (virtio_mb in the Linux driver).
  std::atomic_thread_fence(std::memory_order_seq_cst);
  const uint16_t old_idx = kicked_idx_;
  kicked_idx_ = avail_idx_;
  bool notify;
  if (event_idx_) {
    notify = VringNeedEvent(LoadAcquire(AvailEvent(used_, size_)), avail_idx_, old_idx);
  } else {
    notify = (LoadAcquire(&used_->flags) & kVringUsedFNoNotify) == 0;
  }
  if (!notify) return false;
  absl::Status status = ForceKick();
  if (!status.ok()) return status;
  return true;
}

absl::Status VirtqueueDriver::ForceKick() {
  const uint64_t one = 1;
  if (write(kick_fd_, &one, sizeof(one)) != sizeof(one)) {
    return ErrnoFromLastError("write kick eventfd");
  }
  return absl::OkStatus();
}

void VirtqueueDriver::FreeChain(uint16_t head) {
  const uint16_t len = chain_len_[head];
  chain_len_[head] = 0;
  --in_flight_;
  if (len == 0) return;
  // Chains were carved from the free list in order; rebuild the links from
  // our shadow copy, never from desc.next in shared memory.
  // AddChain left the chain's links in next_free_ untouched while it was
  // in use, so walking them finds the tail (indirect chains have len 1).
  uint16_t last = head;
  for (uint16_t i = 1; i < len; ++i) last = next_free_[last];
  next_free_[last] = free_head_;
  free_head_ = head;
  num_free_ += len;
}

absl::StatusOr<std::optional<UsedElement>> VirtqueueDriver::PollUsed() {
  const uint16_t used_idx = LoadAcquire(&used_->idx);
  if (used_idx == last_used_idx_) return std::optional<UsedElement>();
  if (static_cast<uint16_t>(used_idx - last_used_idx_) > in_flight_) {
    return absl::DataLossError(absl::StrCat("used idx ", used_idx, " ran ahead of ",
                                            in_flight_, " chains in flight"));
  }
  const VringUsedElem elem = used_->ring[last_used_idx_ % size_];
  // used_event is left alone: like Linux's virtio drivers (callbacks
  // disabled while the done work drains the ring, virtqueue_enable_cb before
  // it sleeps), WaitUsed asks for an interrupt only when it is about to
  // sleep, so a device never interrupts a driver that is still collecting.
  ++last_used_idx_;
  if (elem.id >= size_ || chain_len_[elem.id] == 0) {
    return absl::DataLossError(
        absl::StrCat("device returned id ", elem.id, " which is not an outstanding head"));
  }
  FreeChain(static_cast<uint16_t>(elem.id));
  return std::optional<UsedElement>(UsedElement{static_cast<uint16_t>(elem.id), elem.len});
}

absl::StatusOr<UsedElement> VirtqueueDriver::WaitUsed(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    absl::StatusOr<std::optional<UsedElement>> used = PollUsed();
    if (!used.ok()) return used.status();
    if (used->has_value()) return **used;
    if (event_idx_) {
      StoreRelease(UsedEvent(avail_, size_), last_used_idx_);
      std::atomic_thread_fence(std::memory_order_seq_cst);
      if (LoadAcquire(&used_->idx) != last_used_idx_) continue;
    }
    const int64_t ms = absl::ToInt64Milliseconds(deadline - absl::Now());
    if (ms <= 0) {
      return absl::DeadlineExceededError(
          absl::StrCat("no used element within timeout (", in_flight_, " in flight)"));
    }
    pollfd pfd{call_fd_, POLLIN, 0};
    // Sleep on the call fd for the whole remaining time (no periodic
    // re-polling) so a daemon that forgets to notify fails the test.
    const int r = poll(&pfd, 1, static_cast<int>(std::min<int64_t>(ms, INT32_MAX)));
    if (r < 0 && errno != EINTR) return ErrnoFromLastError("poll call eventfd");
    if (r > 0) {
      uint64_t count;
      (void)!read(call_fd_, &count, sizeof(count));
    }
  }
}

}  // namespace vfsd
