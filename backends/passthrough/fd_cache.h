// InodeFd and FdCache: the O_PATH fd through which an operation reaches a
// node's host file, and the bound on how many of them are open at once.
//
// Why. Holding one O_PATH fd per node the guest knows (the `never` mode of
// --inode-file-handles) lets a guest that never sends FORGET exhaust
// RLIMIT_NOFILE: the kernel only forgets under memory pressure, and a
// hostile guest not at all. With file handles a node needs no fd between
// operations, so the fds of such nodes live in this cache instead: at most
// `capacity` of them stay open while unused (least recently used ones are
// closed first), plus the ones operations are using right now ("pinned",
// bounded by the requests in flight). A miss re-opens the file from its
// handle (open_by_handle_at), which the caller supplies as `open`.
//
// An InodeFd is either
//   - held: owns its fd for its whole life (the root, `never` mode, and
//     `prefer` nodes on filesystems without handles), or
//   - cached: the fd is open only while pinned or in the LRU list; get()
//     is valid only between Pin() and Unpin() (it is -1 or a cached fd
//     otherwise, never a recycled number while pinned).
//
// Locking: one mutex for the whole cache; open and close run outside it.
#ifndef VFSD_BACKENDS_PASSTHROUGH_FD_CACHE_H_
#define VFSD_BACKENDS_PASSTHROUGH_FD_CACHE_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "backends/passthrough/scoped_fd.h"

namespace vfsd {

class FdCache;

class InodeFd {
 public:
  // Held: owns `fd` until destroyed.
  explicit InodeFd(ScopedFd fd) : fd_(fd.release()) {}
  // Cached: opened on demand through `cache` (which must outlive this).
  explicit InodeFd(FdCache* cache) : cache_(cache) {}
  ~InodeFd();

  InodeFd(const InodeFd&) = delete;
  InodeFd& operator=(const InodeFd&) = delete;

  // The fd; for a cached InodeFd only meaningful while pinned.
  int get() const { return fd_.load(std::memory_order_relaxed); }
  bool valid() const { return get() >= 0; }
  bool cached() const { return cache_ != nullptr; }

 private:
  friend class FdCache;

  // Mutable: pinning is cache bookkeeping, done through const nodes.
  mutable std::atomic<int> fd_{-1};
  FdCache* const cache_ = nullptr;
  // Guarded by cache_->mu_.
  mutable uint32_t pins_ = 0;
  mutable bool in_lru_ = false;
  mutable const InodeFd* lru_prev_ = nullptr;  // towards the most recently used end
  mutable const InodeFd* lru_next_ = nullptr;  // towards the least recently used end
};

class FdCache {
 public:
  // At most `capacity` unpinned fds stay open (0 closes each one as soon as
  // it is unpinned).
  explicit FdCache(size_t capacity) : capacity_(capacity) {}
  ~FdCache();  // every cached InodeFd must be gone by now

  FdCache(const FdCache&) = delete;
  FdCache& operator=(const FdCache&) = delete;

  // Makes slot.get() a usable fd until the matching Unpin(): the cached one,
  // or one from `open` on a miss. If `open` runs out of fds (EMFILE/ENFILE),
  // every unused cached fd is closed and `open` tried once more, so the
  // cache gives way to open files. Other errors are returned as is (e.g.
  // ESTALE for a deleted file); the slot stays closed then. `slot` must be
  // cached.
  absl::Status Pin(const InodeFd& slot, absl::FunctionRef<absl::StatusOr<ScopedFd>()> open);
  void Unpin(const InodeFd& slot);

  // Gives an fd just opened on the slot's file (by LOOKUP/CREATE) to the
  // cache as most recently used, so the next operation needs no reopen. A
  // slot that already has one keeps it and `fd` is closed.
  void Adopt(const InodeFd& slot, ScopedFd fd);

  // Closes every unpinned fd; returns how many.
  size_t Trim();

  size_t capacity() const { return capacity_; }
  // Fds open in cached slots, pinned or not (for tests and metrics).
  size_t open_count() const;
  size_t pinned_count() const;

 private:
  friend class InodeFd;
  // ~InodeFd of a cached slot: closes its fd (it cannot be pinned, since
  // pins are taken only through a reference that keeps it alive).
  void Drop(const InodeFd& slot);

  // LRU list operations; mu_ held.
  void PushFront(const InodeFd& slot);
  void Unlink(const InodeFd& slot);
  // Closes least recently used unpinned fds beyond capacity: moves them to
  // `to_close` so close() runs after unlocking.
  void EvictLocked(std::vector<ScopedFd>& to_close);

  const size_t capacity_;
  mutable std::mutex mu_;
  const InodeFd* lru_head_ = nullptr;  // most recently used; guarded by mu_
  const InodeFd* lru_tail_ = nullptr;  // least recently used; guarded by mu_
  size_t unpinned_open_ = 0;     // slots in the LRU list; guarded by mu_
  size_t pinned_ = 0;            // slots with pins_ > 0; guarded by mu_
};

}  // namespace vfsd

#endif  // VFSD_BACKENDS_PASSTHROUGH_FD_CACHE_H_
