#include "backends/passthrough/read_ring.h"

#include <linux/io_uring.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/status/status.h"
#include "backends/errno_status.h"
#include "glog/logging.h"

namespace vfsd {
namespace {

int IoUringSetup(unsigned entries, io_uring_params* params) {
  return static_cast<int>(syscall(__NR_io_uring_setup, entries, params));
}
int IoUringRegister(int fd, unsigned opcode, const void* arg, unsigned count) {
  return static_cast<int>(syscall(__NR_io_uring_register, fd, opcode, arg, count));
}
int IoUringEnter(int fd, unsigned to_submit, unsigned min_complete, unsigned flags) {
  return static_cast<int>(
      syscall(__NR_io_uring_enter, fd, to_submit, min_complete, flags, nullptr, 0));
}

template <typename T>
T* At(void* base, uint32_t offset) {
  return reinterpret_cast<T*>(static_cast<char*>(base) + offset);
}

// preadv until the buffers are full, end of file or an error (the
// synchronous path's semantics, for reads the ring could not do).
ssize_t ReadvFully(int fd, const iovec* iov, int count, uint64_t offset) {
  ssize_t n;
  do {
    n = ::preadv(fd, iov, count, static_cast<off_t>(offset));
  } while (n < 0 && errno == EINTR);
  return n < 0 ? -errno : n;
}

}  // namespace

absl::StatusOr<std::unique_ptr<ReadRing>> ReadRing::Create() {
  std::unique_ptr<ReadRing> ring(new ReadRing());
  io_uring_params params;
  std::memset(&params, 0, sizeof(params));
  // Disabled until restricted: nothing can be submitted before that.
  params.flags = IORING_SETUP_R_DISABLED;
  ring->ring_fd_ = IoUringSetup(kEntries, &params);
  if (ring->ring_fd_ < 0) return ErrnoFromLastError("io_uring_setup");
  if (params.sq_entries < kEntries || params.cq_entries < kEntries) {
    return absl::ResourceExhaustedError("io_uring: smaller rings than asked for");
  }

  ring->sq_map_size_ = params.sq_off.array + params.sq_entries * sizeof(unsigned);
  ring->cq_map_size_ = params.cq_off.cqes + params.cq_entries * sizeof(io_uring_cqe);
  const bool single_mmap = params.features & IORING_FEAT_SINGLE_MMAP;
  if (single_mmap) {
    ring->sq_map_size_ = ring->cq_map_size_ = std::max(ring->sq_map_size_, ring->cq_map_size_);
  }
  void* sq = mmap(nullptr, ring->sq_map_size_, PROT_READ | PROT_WRITE,
                  MAP_SHARED | MAP_POPULATE, ring->ring_fd_, IORING_OFF_SQ_RING);
  if (sq == MAP_FAILED) return ErrnoFromLastError("io_uring: mmap SQ ring");
  ring->sq_map_ = sq;
  if (single_mmap) {
    ring->cq_map_ = sq;
  } else {
    void* cq = mmap(nullptr, ring->cq_map_size_, PROT_READ | PROT_WRITE,
                    MAP_SHARED | MAP_POPULATE, ring->ring_fd_, IORING_OFF_CQ_RING);
    if (cq == MAP_FAILED) return ErrnoFromLastError("io_uring: mmap CQ ring");
    ring->cq_map_ = cq;
  }
  ring->sqes_map_size_ = params.sq_entries * sizeof(io_uring_sqe);
  void* sqes = mmap(nullptr, ring->sqes_map_size_, PROT_READ | PROT_WRITE,
                    MAP_SHARED | MAP_POPULATE, ring->ring_fd_, IORING_OFF_SQES);
  if (sqes == MAP_FAILED) return ErrnoFromLastError("io_uring: mmap SQEs");
  ring->sqes_map_ = sqes;

  ring->sq_tail_ = At<unsigned>(sq, params.sq_off.tail);
  ring->sq_mask_ = At<unsigned>(sq, params.sq_off.ring_mask);
  ring->sq_array_ = At<unsigned>(sq, params.sq_off.array);
  ring->cq_head_ = At<unsigned>(ring->cq_map_, params.cq_off.head);
  ring->cq_tail_ = At<unsigned>(ring->cq_map_, params.cq_off.tail);
  ring->cq_mask_ = At<unsigned>(ring->cq_map_, params.cq_off.ring_mask);
  ring->sqes_ = sqes;
  ring->cqes_ = At<io_uring_cqe>(ring->cq_map_, params.cq_off.cqes);

  io_uring_restriction allow_readv;
  std::memset(&allow_readv, 0, sizeof(allow_readv));
  allow_readv.opcode = IORING_RESTRICTION_SQE_OP;
  allow_readv.sqe_op = IORING_OP_READV;
  if (IoUringRegister(ring->ring_fd_, IORING_REGISTER_RESTRICTIONS, &allow_readv, 1) < 0) {
    return ErrnoFromLastError("io_uring: restrict to READV");
  }
  if (IoUringRegister(ring->ring_fd_, IORING_REGISTER_ENABLE_RINGS, nullptr, 0) < 0) {
    return ErrnoFromLastError("io_uring: enable");
  }
  for (uint32_t i = 0; i < kEntries; ++i) ring->free_slots_[i] = kEntries - 1 - i;
  return ring;
}

ReadRing::~ReadRing() {
  // Flush() always completes what was queued; nothing is pending here.
  if (sqes_map_ != nullptr) munmap(sqes_map_, sqes_map_size_);
  if (cq_map_ != nullptr && cq_map_ != sq_map_) munmap(cq_map_, cq_map_size_);
  if (sq_map_ != nullptr) munmap(sq_map_, sq_map_size_);
  if (ring_fd_ >= 0) close(ring_fd_);
}

bool ReadRing::CanQueue(size_t iov_count) const {
  return !broken_ && queued_ < kEntries && iov_count > 0 && iov_count <= IOV_MAX;
}

void ReadRing::Queue(int fd, absl::Span<const iovec> dest, PendingRead read) {
  const uint32_t slot = free_slots_[kEntries - 1 - queued_];
  read.dest = dest;
  slots_[slot] = std::move(read);
  // Only this thread writes the SQ tail; the kernel reads it at enter.
  const unsigned tail = *sq_tail_;
  const unsigned index = tail & *sq_mask_;
  io_uring_sqe* sqe = static_cast<io_uring_sqe*>(sqes_) + index;
  std::memset(sqe, 0, sizeof(*sqe));
  sqe->opcode = IORING_OP_READV;
  sqe->fd = fd;
  sqe->addr = reinterpret_cast<uint64_t>(dest.data());
  sqe->len = static_cast<uint32_t>(dest.size());
  sqe->off = slots_[slot].offset;
  sqe->user_data = slot;
  sq_array_[index] = index;
  __atomic_store_n(sq_tail_, tail + 1, __ATOMIC_RELEASE);
  ++queued_;
  ++unsubmitted_;
}

void ReadRing::Flush(absl::FunctionRef<void(PendingRead&, ssize_t)> complete) {
  int failures = 0;
  while (queued_ > 0) {
    const int submitted = IoUringEnter(ring_fd_, unsubmitted_, queued_, IORING_ENTER_GETEVENTS);
    if (submitted >= 0) {
      unsubmitted_ -= std::min<unsigned>(unsubmitted_, static_cast<unsigned>(submitted));
    } else if (errno != EINTR && errno != EAGAIN && errno != EBUSY) {
      LOG_EVERY_N(ERROR, 100) << "io_uring_enter: " << strerror(errno);
      if (unsubmitted_ > 0) {
        // Never seen by the kernel: take them back and read them here.
        const unsigned tail = *sq_tail_ - unsubmitted_;
        for (unsigned t = tail; t != *sq_tail_; ++t) {
          const io_uring_sqe* sqe = static_cast<io_uring_sqe*>(sqes_) + (t & *sq_mask_);
          const uint32_t slot = static_cast<uint32_t>(sqe->user_data);
          const ssize_t n = ReadvFully(sqe->fd, reinterpret_cast<const iovec*>(sqe->addr),
                                       static_cast<int>(sqe->len), sqe->off);
          Finish(slot, n, complete);
        }
        __atomic_store_n(sq_tail_, tail, __ATOMIC_RELEASE);
        unsubmitted_ = 0;
      } else if (++failures > 1000) {
        // The kernel will not report submitted reads: fail them rather than
        // hang the queue forever, and never use this ring again.
        LOG(ERROR) << "io_uring: " << queued_ << " reads never completed; ring abandoned";
        broken_ = true;
        for (uint32_t slot = 0; slot < kEntries && queued_ > 0; ++slot) {
          if (slots_[slot].done) Finish(slot, -EIO, complete);
        }
        return;
      }
    }
    // Reap what completed.
    unsigned head = *cq_head_;
    const unsigned cq_tail = __atomic_load_n(cq_tail_, __ATOMIC_ACQUIRE);
    for (; head != cq_tail; ++head) {
      const io_uring_cqe& cqe = static_cast<io_uring_cqe*>(cqes_)[head & *cq_mask_];
      const uint64_t slot = cqe.user_data;
      const int32_t res = cqe.res;
      __atomic_store_n(cq_head_, head + 1, __ATOMIC_RELEASE);
      if (slot >= kEntries) continue;  // not ours (cannot happen: restricted ring)
      Finish(static_cast<uint32_t>(slot), res, complete);
    }
  }
}

void ReadRing::Finish(uint32_t slot, ssize_t result,
                      absl::FunctionRef<void(PendingRead&, ssize_t)> complete) {
  PendingRead read = std::move(slots_[slot]);
  slots_[slot] = PendingRead();
  --queued_;
  free_slots_[kEntries - 1 - queued_] = slot;
  if ((result == -EAGAIN || result == -EINTR) && !broken_) {
    // The kernel gave up on this one; read it the ordinary way.
    result = ReadvFully(read.handle->fd.get(), read.dest.data(),
                        static_cast<int>(read.dest.size()), read.offset);
  }
  complete(read, result);
}

ReadRingPool::ReadRingPool(uint32_t count) {
  for (uint32_t i = 0; i < count; ++i) {
    absl::StatusOr<std::unique_ptr<ReadRing>> ring = ReadRing::Create();
    if (!ring.ok()) {
      LOG(INFO) << "READ batching through io_uring is off (" << ring.status()
                << "); reads use preadv";
      break;
    }
    free_.push_back(*std::move(ring));
  }
}

std::unique_ptr<ReadRing> ReadRingPool::Acquire() {
  std::lock_guard<std::mutex> lock(mu_);
  if (free_.empty()) return nullptr;
  std::unique_ptr<ReadRing> ring = std::move(free_.back());
  free_.pop_back();
  return ring;
}

void ReadRingPool::Release(std::unique_ptr<ReadRing> ring) {
  if (ring == nullptr || ring->broken()) return;
  std::lock_guard<std::mutex> lock(mu_);
  free_.push_back(std::move(ring));
}

size_t ReadRingPool::available() const {
  std::lock_guard<std::mutex> lock(mu_);
  return free_.size();
}

}  // namespace vfsd
