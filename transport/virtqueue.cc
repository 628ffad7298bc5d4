#include "transport/virtqueue.h"

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/str_format.h"
#include "glog/logging.h"
#include "transport/descriptor_chain.h"
#include "transport/virtio_ring.h"

namespace vfsd {
namespace {

// Ring fields live in memory the guest writes concurrently; every access is
// a single atomic load/store of the field so the compiler neither tears nor
// re-reads it.
uint16_t LoadU16(const uint8_t* p, int order = __ATOMIC_RELAXED) {
  return __atomic_load_n(reinterpret_cast<const uint16_t*>(p), order);
}
void StoreU16(uint8_t* p, uint16_t v, int order = __ATOMIC_RELAXED) {
  __atomic_store_n(reinterpret_cast<uint16_t*>(p), v, order);
}
void StoreU32(uint8_t* p, uint32_t v) {
  __atomic_store_n(reinterpret_cast<uint32_t*>(p), v, __ATOMIC_RELAXED);
}

constexpr size_t kAvailIdxOffset = 2;
constexpr size_t kAvailRingOffset = 4;
constexpr size_t kUsedIdxOffset = 2;
constexpr size_t kUsedRingOffset = 4;

absl::StatusOr<uint8_t*> TranslateRing(const GuestMemory& memory, const char* what, uint64_t uva,
                                       uint64_t len, uint64_t align) {
  if (uva % align != 0) {
    return absl::InvalidArgumentError(
        absl::StrFormat("%s ring address 0x%x is not %u-byte aligned", what, uva, align));
  }
  absl::StatusOr<uint8_t*> host = memory.TranslateUserAddr(uva, len);
  if (!host.ok()) {
    return absl::InvalidArgumentError(
        absl::StrFormat("%s ring: %s", what, host.status().message()));
  }
  // Atomic accesses need natural alignment of the host address too.
  if (reinterpret_cast<uintptr_t>(*host) % align != 0) {
    return absl::InvalidArgumentError(absl::StrFormat("%s ring is misaligned in host memory", what));
  }
  return host;
}

}  // namespace

void SignalEventFd(const SharedEventFd& fd) {
  if (fd == nullptr || !fd->valid()) return;
  const uint64_t one = 1;
  ssize_t n;
  do {
    n = write(fd->get(), &one, sizeof(one));
  } while (n < 0 && errno == EINTR);
  // EAGAIN means the counter is saturated: the reader is already due.
  if (n < 0 && errno != EAGAIN) {
    PLOG_EVERY_N(WARNING, 1000) << "eventfd write";
  }
}

Virtqueue::Virtqueue(const VirtqueueConfig& config, std::shared_ptr<const GuestMemory> memory)
    : config_(config),
      ring_memory_(std::move(memory)),
      next_avail_(config.next_avail),
      shadow_avail_idx_(config.next_avail),
      used_idx_(0) {}

absl::StatusOr<std::shared_ptr<Virtqueue>> Virtqueue::Create(
    const VirtqueueConfig& config, std::shared_ptr<const GuestMemory> memory) {
  if (config.size == 0 || config.size > virtio::kMaxQueueSize ||
      (config.size & (config.size - 1)) != 0) {
    return absl::InvalidArgumentError(
        absl::StrFormat("queue size %u is not a power of two in 1..32768", config.size));
  }
  std::shared_ptr<Virtqueue> queue(new Virtqueue(config, memory));
  absl::StatusOr<uint8_t*> desc =
      TranslateRing(*memory, "descriptor", config.desc_user_addr,
                    virtio::DescTableBytes(config.size), virtio::kDescAlign);
  if (!desc.ok()) return desc.status();
  absl::StatusOr<uint8_t*> avail =
      TranslateRing(*memory, "avail", config.avail_user_addr,
                    virtio::AvailRingBytes(config.size), virtio::kAvailAlign);
  if (!avail.ok()) return avail.status();
  absl::StatusOr<uint8_t*> used = TranslateRing(
      *memory, "used", config.used_user_addr, virtio::UsedRingBytes(config.size),
      virtio::kUsedAlign);
  if (!used.ok()) return used.status();
  queue->desc_ = *desc;
  queue->avail_ = *avail;
  queue->used_ = *used;
  // Resume where the ring's used index says (as libvhost-user does): after a
  // stop with chains in flight it is behind next_avail.
  queue->used_idx_ = LoadU16(queue->used_ + kUsedIdxOffset, __ATOMIC_ACQUIRE);
  return queue;
}

uint16_t Virtqueue::LoadAvailIdx() const {
  // Acquire: the ring entries and descriptors the guest wrote before bumping
  // idx are visible once we see the new idx (virtio §2.7.13.3's wmb pairs).
  return LoadU16(avail_ + kAvailIdxOffset, __ATOMIC_ACQUIRE);
}

void Virtqueue::MarkBroken(const absl::Status& why) {
  if (broken_.exchange(true, std::memory_order_acq_rel)) return;
  LOG(ERROR) << "virtqueue " << config_.index << " is broken and no longer served: " << why;
  SharedEventFd err;
  {
    std::lock_guard<std::mutex> lock(mu_);
    err = err_fd_;
  }
  SignalEventFd(err);
}

absl::StatusOr<std::optional<QueueRequest>> Virtqueue::Pop(
    const std::shared_ptr<const GuestMemory>& memory) {
  if (broken()) return absl::FailedPreconditionError("virtqueue is broken");
  const uint16_t size = static_cast<uint16_t>(config_.size);  // 32768 fits
  // Each dropped chain publishes a used element at once; if the guest made
  // the used index alias the avail index, that looks like a new chain every
  // time, so bound the drops per call (the caller's budget takes over).
  uint32_t dropped = 0;
  for (;;) {
    if (next_avail_ == shadow_avail_idx_) {
      const uint16_t avail_idx = LoadAvailIdx();
      // The guest can have at most `size` chains outstanding; a larger jump
      // means a corrupt (or hostile) avail index.
      if (static_cast<uint16_t>(avail_idx - next_avail_) > config_.size) {
        absl::Status status = absl::DataLossError(absl::StrFormat(
            "avail idx jumped from %u to %u (queue size %u)", next_avail_, avail_idx,
            config_.size));
        MarkBroken(status);
        return status;
      }
      shadow_avail_idx_ = avail_idx;
      if (next_avail_ == avail_idx) return std::nullopt;
    }
    const uint16_t slot = next_avail_ & (size - 1);
    const uint16_t head = LoadU16(avail_ + kAvailRingOffset + 2u * slot);
    if (head >= config_.size) {
      absl::Status status = absl::DataLossError(
          absl::StrFormat("avail ring slot %u holds head %u (queue size %u)", slot, head,
                          config_.size));
      MarkBroken(status);
      return status;
    }
    ++next_avail_;
    in_flight_.fetch_add(1, std::memory_order_relaxed);

    QueueRequest request(shared_from_this(), config_.index, memory);
    ChainWalkParams params{desc_, size, config_.indirect};
    absl::Status walked = WalkDescriptorChain(params, *memory, head, &request.chain_);
    if (walked.ok()) return std::optional<QueueRequest>(std::move(request));
    // A bad chain is the guest's request error, not ring corruption: give
    // the head back (0 bytes written) so the driver can fail the request.
    LOG_EVERY_N(WARNING, 100) << "virtqueue " << config_.index << ": dropping chain " << head
                              << ": " << walked;
    request.chain_.Clear();
    request.Complete(0);
    if (++dropped >= config_.size) return std::optional<QueueRequest>();
  }
}

bool Virtqueue::EnableNotificationsAndCheck() {
  if (config_.event_idx) {
    // §2.7.10: the guest kicks when avail idx passes avail_event.
    StoreU16(used_ + kUsedRingOffset + 8u * config_.size, next_avail_);
  }
  // The avail_event store must be visible before we re-read avail idx, or a
  // guest that added a chain in between might skip the kick (full barrier,
  // like the kernel's virtio_mb).
  std::atomic_thread_fence(std::memory_order_seq_cst);
  return LoadAvailIdx() != next_avail_;
}

void Virtqueue::BeginBatch() {
  std::lock_guard<std::mutex> lock(mu_);
  in_batch_ = true;
}

void Virtqueue::EndBatch() {
  SharedEventFd to_signal;
  {
    std::lock_guard<std::mutex> lock(mu_);
    in_batch_ = false;
    if (publish_pending_) to_signal = PublishUsedLocked();
  }
  SignalEventFd(to_signal);
}

void Virtqueue::WriteUsedLocked(uint16_t head, uint32_t len) {
  uint8_t* elem = used_ + kUsedRingOffset + 8u * (used_idx_ & (config_.size - 1));
  StoreU32(elem, head);
  StoreU32(elem + 4, len);
  ++used_idx_;
}

void Virtqueue::Push(uint16_t head, uint32_t len) {
  SharedEventFd to_signal;
  {
    std::lock_guard<std::mutex> lock(mu_);
    WriteUsedLocked(head, len);
    if (in_batch_) {
      publish_pending_ = true;
    } else {
      to_signal = PublishUsedLocked();
    }
    if (in_flight_.fetch_sub(1, std::memory_order_acq_rel) == 1) idle_cv_.notify_all();
  }
  SignalEventFd(to_signal);
}

void Virtqueue::PushDeferred(uint16_t head, uint32_t len) {
  std::lock_guard<std::mutex> lock(mu_);
  WriteUsedLocked(head, len);
  publish_pending_ = true;
  ++deferred_;
}

void Virtqueue::PublishDeferred() {
  SharedEventFd to_signal;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!in_batch_ && publish_pending_) to_signal = PublishUsedLocked();
  }
  SignalEventFd(to_signal);
}

SharedEventFd Virtqueue::PublishUsedLocked() {
  publish_pending_ = false;
  // Release: the used elements are visible before the index that covers them.
  StoreU16(used_ + kUsedIdxOffset, used_idx_, __ATOMIC_RELEASE);
  if (deferred_ != 0) {
    // Deferred chains are done only now that the guest can see them.
    if (in_flight_.fetch_sub(deferred_, std::memory_order_acq_rel) == deferred_) {
      idle_cv_.notify_all();
    }
    deferred_ = 0;
  }
  // The idx store must be visible before we read the guest's suppression
  // state; otherwise guest and device can each think the other will act.
  std::atomic_thread_fence(std::memory_order_seq_cst);
  const uint16_t old = signalled_used_;
  const bool valid = signalled_used_valid_;
  signalled_used_ = used_idx_;
  signalled_used_valid_ = true;
  bool notify;
  if (config_.event_idx) {
    const uint16_t used_event = LoadU16(avail_ + kAvailRingOffset + 2u * config_.size);
    notify = !valid || virtio::NeedEvent(used_event, used_idx_, old);
  } else {
    notify = !(LoadU16(avail_) & virtio::kAvailFNoInterrupt);
  }
  return notify ? call_fd_ : nullptr;
}

void Virtqueue::SetCallFd(SharedEventFd fd) {
  bool published;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (fd == call_fd_) return;
    call_fd_ = fd;
    // Interrupts already sent went to the old notifier (QEMU swaps masked and
    // guest notifiers while the ring runs); make the next decision signal.
    published = signalled_used_valid_;
    signalled_used_valid_ = false;
  }
  // If anything was published, tell the new notifier now: a driver waiting
  // on it for a completion signalled on the old one would otherwise sleep
  // forever. A spurious interrupt only costs the driver a look at the ring.
  if (published) SignalEventFd(fd);
}

void Virtqueue::SetErrFd(SharedEventFd fd) {
  std::lock_guard<std::mutex> lock(mu_);
  err_fd_ = std::move(fd);
}

void Virtqueue::WaitIdle() {
  std::unique_lock<std::mutex> lock(mu_);
  idle_cv_.wait(lock, [this] { return in_flight_.load(std::memory_order_acquire) == 0; });
}

}  // namespace vfsd
