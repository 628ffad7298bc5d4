// ReadRing: batches a queue worker's READs into one system call.
//
// On a host where every system call costs more than the work of a cached
// 4 KiB read (a paravirtualised VM: ~1.2 µs per syscall entry), a burst of
// READs popped from one virtqueue wake is cheaper as one io_uring_enter than
// as one preadv each. The worker's batch (Backend::BeginBatch/EndBatch)
// queues the reads here and Flush() submits them, waits for all of them and
// completes them, before the worker publishes the used ring.
//
// Hardening: the rings are created before the seccomp filter is installed
// (io_uring_setup is not allowed afterwards) and are restricted, while still
// disabled, to IORING_OP_READV (IORING_REGISTER_RESTRICTIONS): io_uring
// operations do not pass through seccomp, so a ring that could open or
// write files would be a way around it. No other operation can ever be
// submitted on them, and no further registration is possible.
#ifndef VFSD_BACKENDS_PASSTHROUGH_READ_RING_H_
#define VFSD_BACKENDS_PASSTHROUGH_READ_RING_H_

#include <sys/types.h>
#include <sys/uio.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "backends/backend.h"
#include "backends/passthrough/handle_table.h"

namespace vfsd {

// A queued read: what its completion needs.
struct PendingRead {
  std::shared_ptr<OpenHandle> handle;  // keeps the fd open until completion
  uint64_t offset = 0;
  Done<size_t> done;
  absl::Span<const iovec> dest;  // set by Queue()
};

class ReadRing {
 public:
  // Reads one Flush() can carry.
  static constexpr uint32_t kEntries = 64;

  // Fails (ENOSYS, EPERM: io_uring disabled or filtered, ENOMEM) when the
  // kernel will not give us a restricted ring; callers read synchronously.
  static absl::StatusOr<std::unique_ptr<ReadRing>> Create();
  ~ReadRing();
  ReadRing(const ReadRing&) = delete;
  ReadRing& operator=(const ReadRing&) = delete;

  // Whether a read of `iov_count` buffers can be queued now.
  bool CanQueue(size_t iov_count) const;
  bool full() const { return queued_ == kEntries; }
  // Queues a readv of `dest` at `offset` (CanQueue must be true). `dest`
  // must stay valid until Flush() completes it.
  void Queue(int fd, absl::Span<const iovec> dest, PendingRead read);
  bool empty() const { return queued_ == 0; }
  // The io_uring fd (tests check its restrictions).
  int fd_for_testing() const { return ring_fd_; }
  // The kernel stopped answering this ring; it must not be used again.
  bool broken() const { return broken_; }
  // Submits every queued read, waits for all of them, then calls
  // `complete(read, result)` for each (result: bytes, or -errno).
  void Flush(absl::FunctionRef<void(PendingRead&, ssize_t)> complete);

 private:
  ReadRing() = default;
  void Finish(uint32_t slot, ssize_t result,
              absl::FunctionRef<void(PendingRead&, ssize_t)> complete);

  int ring_fd_ = -1;
  void* sq_map_ = nullptr;
  size_t sq_map_size_ = 0;
  void* cq_map_ = nullptr;  // == sq_map_ with IORING_FEAT_SINGLE_MMAP
  size_t cq_map_size_ = 0;
  void* sqes_map_ = nullptr;
  size_t sqes_map_size_ = 0;
  unsigned* sq_tail_ = nullptr;
  unsigned* sq_mask_ = nullptr;
  unsigned* sq_array_ = nullptr;
  unsigned* cq_head_ = nullptr;
  unsigned* cq_tail_ = nullptr;
  unsigned* cq_mask_ = nullptr;
  void* sqes_ = nullptr;
  void* cqes_ = nullptr;

  uint32_t queued_ = 0;       // queued, not yet completed (== slots in use)
  uint32_t unsubmitted_ = 0;  // queued, not yet taken by io_uring_enter
  bool broken_ = false;
  PendingRead slots_[kEntries];
  uint32_t free_slots_[kEntries];
};

// The rings of one backend, made up front (before the sandbox forbids it)
// and handed to queue worker threads as they start batching.
class ReadRingPool {
 public:
  // Up to `count` rings; fewer (maybe none) if the kernel refuses.
  explicit ReadRingPool(uint32_t count);
  // A ring for the calling thread, or null if none is left.
  std::unique_ptr<ReadRing> Acquire();
  void Release(std::unique_ptr<ReadRing> ring);
  size_t available() const;

 private:
  mutable std::mutex mu_;
  std::vector<std::unique_ptr<ReadRing>> free_;
};

}  // namespace vfsd

#endif  // VFSD_BACKENDS_PASSTHROUGH_READ_RING_H_
