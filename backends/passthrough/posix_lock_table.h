// PosixLockTable: the POSIX record locks guest processes hold on a
// passthrough share, one host open file description per (file, lock owner).
//
// POSIX (fcntl F_SETLK) locks belong to a process and a file, not to an open
// file: two fds of one process never conflict, a forked child conflicts
// even through the fd it inherited, and closing *any* fd of the file drops
// all the process's locks on it. FUSE names the process by `lock_owner`
// (one per guest files_struct) and sends FLUSH with it on every close.
// The host cannot take process-owned locks on a guest's behalf (they would
// all belong to the daemon), so, as QEMU's virtiofsd does, each (node,
// lock_owner) gets a host fd of its own, reopened from the node on its
// first lock, and the owner's locks are OFD locks on that fd: the host
// kernel then does the range splitting, merging, upgrading and conflict
// checks between owners, and closing the fd drops exactly that owner's
// locks.
//
// Entries are removed — their fd closed, so fds stay bounded by the locks
// actually held — when the owner unlocks everything, on FLUSH/RELEASE with
// that owner (DropOwner), when every handle the owner used is released
// (ReleaseHandle), when the node is forgotten (DropNode) and on Destroy
// (Clear). At most `max_owners` entries exist at once (ENOLCK beyond), and
// each owner may hold at most kMaxRangesPerOwner disjoint ranges, so a guest
// cannot exhaust the daemon's fds or memory.
#ifndef VFSD_BACKENDS_PASSTHROUGH_POSIX_LOCK_TABLE_H_
#define VFSD_BACKENDS_PASSTHROUGH_POSIX_LOCK_TABLE_H_

#include <fcntl.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <memory>
#include <mutex>

#include "absl/container/flat_hash_map.h"
#include "absl/container/inlined_vector.h"
#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "backends/backend.h"
#include "backends/passthrough/locked_ranges.h"
#include "backends/passthrough/scoped_fd.h"

namespace vfsd {

// One lock owner's fd on one file. Every call on the fd happens under the
// entry's mutex, so a concurrent Close() can never let a call reach a
// reused fd number.
class LockOwnerFd {
 public:
  // Returned by the calls below once the entry has been closed (its owner
  // flushed meanwhile); callers retry with a fresh entry or fail with EINTR.
  static constexpr int kClosed = ECANCELED;

  LockOwnerFd(ScopedFd fd, size_t max_ranges) : fd_(std::move(fd)), max_ranges_(max_ranges) {}

  // F_OFD_SETLK of `fl` (never blocks); `start`/`end` is the same range
  // inclusive (end UINT64_MAX = to end of file) and `pid` the guest process
  // asking, reported to GETLK of other owners. 0 or an errno: EAGAIN on a
  // conflict, ENOLCK when the owner holds too many ranges, kClosed.
  int TrySetLock(const struct flock& fl, uint64_t start, uint64_t end, uint32_t pid);
  // F_OFD_GETLK: the first lock of another open file description
  // conflicting with `*fl`. 0, an errno, or kClosed.
  int GetLock(struct flock* fl);

  // The guest pid if this owner's locks cover [start, end], else 0.
  uint32_t PidIfCovers(uint64_t start, uint64_t end);
  // Closes the fd if no lock is held and no request waits (atomically, so
  // a concurrent TrySetLock either lands first or sees kClosed).
  bool CloseIfIdle();
  // A waiting request holds on to this entry (Idle() is false meanwhile).
  void AddWaiter();
  void RemoveWaiter();
  // Closes the fd, dropping every lock of the owner.
  void Close();

 private:
  friend class PosixLockTable;

  std::mutex mu_;
  ScopedFd fd_;                        // guarded by mu_; invalid once closed
  LockedRanges held_;                  // guarded by mu_
  uint32_t pid_ = 0;                   // guarded by mu_
  int waiters_ = 0;                    // guarded by mu_
  const size_t max_ranges_;
  // Handles that carried a lock request of this owner; guarded by
  // PosixLockTable::mu_.
  absl::InlinedVector<HandleId, 2> handles_;
};

class PosixLockTable {
 public:
  static constexpr size_t kDefaultMaxOwners = 4096;
  static constexpr size_t kMaxRangesPerOwner = 4096;

  using Opener = absl::FunctionRef<absl::StatusOr<ScopedFd>()>;

  explicit PosixLockTable(size_t max_owners = kDefaultMaxOwners) : max_owners_(max_owners) {}
  PosixLockTable(const PosixLockTable&) = delete;
  PosixLockTable& operator=(const PosixLockTable&) = delete;

  // The entry of `owner` on `node`, created with `open()` (called without
  // the table's mutex) on first use; ENOLCK when `max_owners` entries exist.
  // Records that `handle` carried a request of this owner.
  absl::StatusOr<std::shared_ptr<LockOwnerFd>> GetOrOpen(NodeId node, uint64_t owner,
                                                          HandleId handle, Opener open);
  // The entry, or nullptr.
  std::shared_ptr<LockOwnerFd> Find(NodeId node, uint64_t owner) const;

  // Removes and closes the owner's entry if it holds no lock and has no
  // waiting request (after an unlock, a failed attempt or a finished wait).
  void DropIfIdle(NodeId node, uint64_t owner);
  // Removes and closes the owner's entry (FLUSH/RELEASE with that owner):
  // all its locks on the node go. False if it had none.
  bool DropOwner(NodeId node, uint64_t owner);
  // `handle` of `node` was released: an owner none of whose handles remain
  // open has closed all its fds of the file in the guest, so its entry goes
  // too (FLUSH normally did that already). Returns the entries dropped.
  size_t ReleaseHandle(NodeId node, HandleId handle);
  // Drops every owner of `node` (forgotten). False if it had none.
  bool DropNode(NodeId node);
  // Drops everything (Destroy).
  void Clear();

  // The guest pid of an owner other than `except` whose locks cover
  // [start, end] (the holder GETLK reports), 0 if none is known.
  uint32_t HolderPid(NodeId node, const LockOwnerFd* except, uint64_t start, uint64_t end) const;

  // Owner entries (= lock fds) open now.
  size_t size() const { return count_.load(std::memory_order_acquire); }
  // Lock-free check for the FLUSH/RELEASE/FORGET hot paths.
  bool empty() const { return size() == 0; }

 private:
  using Owners = absl::flat_hash_map<uint64_t, std::shared_ptr<LockOwnerFd>>;

  const size_t max_owners_;
  std::atomic<size_t> count_{0};  // entries, readable without mu_
  mutable std::mutex mu_;
  absl::flat_hash_map<NodeId, Owners> nodes_;  // guarded by mu_
};

}  // namespace vfsd

#endif  // VFSD_BACKENDS_PASSTHROUGH_POSIX_LOCK_TABLE_H_
