// PassthroughBackend's file locks: GETLK, SETLK, SETLKW (POSIX record locks
// and flock), and dropping them on FLUSH, RELEASE, FORGET and Destroy.
//
// POSIX locks belong to the guest's lock owner (its process), not to the
// handle: each (node, owner) has an fd of its own in `locks_`
// (posix_lock_table.h) and the owner's locks are OFD locks on it, so two
// handles of one process share their locks, a forked child conflicts with
// its parent through one shared handle, and FLUSH (sent on every close with
// the closer's owner) drops all of the process's locks on the file, as
// close(2) does for local POSIX locks.
//
// flock locks belong to the open file description, which is exactly the
// handle: they are taken on the handle's own fd.
//
// SETLKW and blocking flock never hold a worker: the first attempt is
// non-blocking, and a conflicting request is parked in `lock_waiter_`
// (lock_waiter.h), which completes it from its own thread once granted, or
// with EINTR when cancelled (FLUSH/RELEASE of its owner or handle, FORGET,
// Destroy). At most LockWaiter::kDefaultMaxWaits requests wait at once;
// beyond that SETLKW answers ENOLCK.
//
// Deadlock. OFD locks have no deadlock detection (fcntl(2)): where the
// kernel answers F_SETLKW with EDEADLK for two local processes waiting on
// each other's locks, two guest processes doing so here wait until one of
// them is cancelled as above. Note that a guest process waiting in SETLKW
// cannot be killed until the request completes (virtio-fs has no
// FUSE_INTERRUPT, and the guest kernel waits uninterruptibly for a request
// already sent), so such a deadlock lasts until unmount or disconnect.

#include <fcntl.h>
#include <limits.h>
#include <sys/file.h>

#include <cerrno>
#include <cstdint>
#include <memory>
#include <utility>

#include "backends/errno_status.h"
#include "backends/passthrough/passthrough_backend.h"

namespace vfsd {
namespace {

// The inclusive end of `lock` as the kernel sees it: anything at or past
// INT64_MAX is "to end of file" (l_len = 0).
uint64_t LockEnd(const FileLock& lock) {
  return lock.end >= static_cast<uint64_t>(INT64_MAX) ? UINT64_MAX : lock.end;
}

// struct flock for a FileLock (end inclusive, UINT64_MAX = to EOF).
absl::StatusOr<struct flock> ToFlock(const FileLock& lock) {
  if (lock.type != F_RDLCK && lock.type != F_WRLCK && lock.type != F_UNLCK) {
    return ErrnoStatus(EINVAL, "lock type");
  }
  if (lock.start > static_cast<uint64_t>(INT64_MAX) || lock.end < lock.start) {
    return ErrnoStatus(EINVAL, "lock range");
  }
  struct flock fl = {};
  fl.l_type = static_cast<short>(lock.type);
  fl.l_whence = SEEK_SET;
  fl.l_start = static_cast<off_t>(lock.start);
  const uint64_t end = LockEnd(lock);
  fl.l_len = end == UINT64_MAX ? 0 : static_cast<off_t>(end - lock.start + 1);
  fl.l_pid = 0;  // required for OFD locks
  return fl;
}

absl::Status FromErrno(int err, const char* context) {
  return err == 0 ? absl::OkStatus() : ErrnoStatus(err, context);
}

}  // namespace

absl::StatusOr<ScopedFd> PassthroughBackend::OpenLockFd(const OpenHandle& handle) const {
  absl::StatusOr<std::shared_ptr<Inode>> inode = GetInode(handle.node);
  if (!inode.ok()) return inode.status();
  // Read-write, so the owner can take read and write locks whichever handle
  // asks (fcntl needs FMODE_WRITE for F_WRLCK; the guest kernel already
  // checked the guest's own fd). Where the host refuses that (read-only
  // mount, running executable, no permission for the daemon), the handle's
  // own access mode serves the locks that handle can ask for.
  absl::StatusOr<ScopedFd> fd = ReopenNode(**inode, O_RDWR);
  if (fd.ok()) return fd;
  const int err = ErrnoOf(fd.status());
  if (err != EACCES && err != EPERM && err != EROFS && err != ETXTBSY && err != EISDIR) {
    return fd.status();
  }
  const int flags = ::fcntl(handle.fd.get(), F_GETFL);
  if (flags < 0) return ErrnoFromLastError("lock fd: F_GETFL");
  return ReopenNode(**inode, flags & O_ACCMODE);
}

void PassthroughBackend::GetLk(const RequestContext& ctx, NodeId node, HandleId handle,
                               uint64_t owner, const FileLock& lock, Done<FileLock> done) {
  absl::StatusOr<std::shared_ptr<OpenHandle>> h = GetHandle(handle);
  if (!h.ok()) return done(h.status());
  absl::StatusOr<struct flock> fl = ToFlock(lock);
  if (!fl.ok()) return done(fl.status());
  if (fl->l_type == F_UNLCK) return done(ErrnoStatus(EINVAL, "getlk of F_UNLCK"));
  // From the owner's own fd, the owner's locks never conflict (F_UNLCK if
  // only they overlap). An owner without locks has no fd: any other open
  // file description asks the same question, and the handle's fd carries no
  // record locks.
  std::shared_ptr<LockOwnerFd> entry = locks_.Find((*h)->node, owner);
  struct flock query = *fl;
  int err = LockOwnerFd::kClosed;
  if (entry != nullptr) err = entry->GetLock(&query);
  if (err == LockOwnerFd::kClosed) {
    query = *fl;
    err = ::fcntl((*h)->fd.get(), F_OFD_GETLK, &query) == 0 ? 0 : errno;
  }
  if (err != 0) return done(ErrnoStatus(err, "getlk"));
  FileLock result;
  result.type = static_cast<uint32_t>(query.l_type);
  if (query.l_type != F_UNLCK) {
    result.start = static_cast<uint64_t>(query.l_start);
    result.end = query.l_len == 0 ? UINT64_MAX
                                  : static_cast<uint64_t>(query.l_start + query.l_len - 1);
    // OFD locks report pid -1; if the holder is a guest owner we know, report
    // the guest pid it locked with (0, "unknown", for host processes).
    result.pid = locks_.HolderPid((*h)->node, entry.get(), result.start, result.end);
  }
  done(result);
}

void PassthroughBackend::SetLk(const RequestContext& ctx, NodeId node, HandleId handle,
                               uint64_t owner, const FileLock& lock, bool wait, bool flock,
                               DoneStatus done) {
  absl::StatusOr<std::shared_ptr<OpenHandle>> h = GetHandle(handle);
  if (!h.ok()) return done(h.status());
  absl::StatusOr<struct flock> fl = ToFlock(lock);
  if (!fl.ok()) return done(fl.status());
  if (flock) return SetFlock(*std::move(h), handle, lock.type, wait, std::move(done));

  // Locks are keyed by the node the handle has open, never by the request's
  // node id, which the guest could point elsewhere.
  const NodeId lock_node = (*h)->node;
  const uint64_t start = lock.start;
  const uint64_t end = LockEnd(lock);
  if (lock.type == F_UNLCK) {
    std::shared_ptr<LockOwnerFd> entry = locks_.Find(lock_node, owner);
    if (entry == nullptr) return done(absl::OkStatus());  // holds nothing here
    const int err = entry->TrySetLock(*fl, start, end, lock.pid);
    if (err != 0 && err != LockOwnerFd::kClosed) return done(ErrnoStatus(err, "unlock"));
    locks_.DropIfIdle(lock_node, owner);
    lock_waiter_.Kick();
    return done(absl::OkStatus());
  }

  // fcntl(2) needs a handle open for reading for F_RDLCK and for writing for
  // F_WRLCK (EBADF). The guest kernel checks its own fd, but a hostile guest
  // must not write-lock, through the owner's read-write fd, a file it only
  // has open for reading: that would block host processes' locks on it.
  const int access = ::fcntl((*h)->fd.get(), F_GETFL);
  if (access < 0) return done(ErrnoFromLastError("setlk: F_GETFL"));
  if ((lock.type == F_WRLCK && (access & O_ACCMODE) == O_RDONLY) ||
      (lock.type == F_RDLCK && (access & O_ACCMODE) == O_WRONLY)) {
    return done(ErrnoStatus(EBADF, "setlk: handle not open for this lock type"));
  }
  const OpenHandle& open_handle = **h;
  auto open = [&]() { return OpenLockFd(open_handle); };
  for (int tries = 0;; ++tries) {
    absl::StatusOr<std::shared_ptr<LockOwnerFd>> entry =
        locks_.GetOrOpen(lock_node, owner, handle, open);
    if (!entry.ok()) return done(entry.status());
    int err = (*entry)->TrySetLock(*fl, start, end, lock.pid);
    // A FLUSH of this owner raced us and closed the entry: once more with a
    // fresh one (the guest asked after or concurrently with its close).
    if (err == LockOwnerFd::kClosed && tries == 0) continue;
    if (err == LockOwnerFd::kClosed) err = EINTR;
    if (err == 0) return done(absl::OkStatus());
    if (err != EAGAIN || !wait) {
      locks_.DropIfIdle(lock_node, owner);  // a fresh entry holding nothing
      return done(ErrnoStatus(err, "setlk"));
    }
    // SETLKW on a conflict: park it (see lock_waiter.h).
    std::shared_ptr<LockOwnerFd> owner_fd = *std::move(entry);
    owner_fd->AddWaiter();
    LockWaiter::Key key{lock_node, owner, handle, /*flock=*/false};
    lock_waiter_.Add(
        key,
        [owner_fd, fl = *fl, start, end, pid = lock.pid] {
          const int e = owner_fd->TrySetLock(fl, start, end, pid);
          return e == LockOwnerFd::kClosed ? EINTR : e;  // owner flushed
        },
        [this, owner_fd, lock_node, owner, done = std::move(done)](int e) mutable {
          owner_fd->RemoveWaiter();
          if (e != 0) locks_.DropIfIdle(lock_node, owner);
          done(FromErrno(e, "setlkw"));
        });
    return;
  }
}

void PassthroughBackend::SetFlock(std::shared_ptr<OpenHandle> h, HandleId handle, uint32_t type,
                                  bool wait, DoneStatus done) {
  const int op = type == F_RDLCK ? LOCK_SH : type == F_WRLCK ? LOCK_EX : LOCK_UN;
  int rc;
  do {
    rc = ::flock(h->fd.get(), op | LOCK_NB);
  } while (rc != 0 && errno == EINTR);
  if (rc == 0) {
    if (op == LOCK_UN) lock_waiter_.Kick();
    return done(absl::OkStatus());
  }
  // flock reports a conflict as EWOULDBLOCK; FUSE expects EAGAIN (the same
  // value on Linux).
  if (errno != EWOULDBLOCK || !wait) return done(ErrnoFromLastError("flock"));
  // Blocking flock: park it. (Converting a held lock drops it first, as
  // flock(2) itself does before it blocks.)
  LockWaiter::Key key{h->node, 0, handle, /*flock=*/true};
  lock_waiter_.Add(
      key,
      [h, op] {
        int r;
        do {
          r = ::flock(h->fd.get(), op | LOCK_NB);
        } while (r != 0 && errno == EINTR);
        return r == 0 ? 0 : errno;
      },
      [done = std::move(done)](int e) mutable { done(FromErrno(e, "flock wait")); });
}

void PassthroughBackend::DropOwnerLocks(NodeId node, uint64_t owner) {
  // FLUSH comes with every close(): nothing to do unless locks exist.
  if (locks_.empty() && lock_waiter_.waiting() == 0) return;
  lock_waiter_.CancelOwner(node, owner);
  if (locks_.DropOwner(node, owner)) lock_waiter_.Kick();
}

void PassthroughBackend::ReleaseHandleLocks(const OpenHandle& h, HandleId handle,
                                            std::optional<uint64_t> lock_owner,
                                            bool release_flock) {
  if (release_flock) {
    // Drop the flock now rather than when the last in-flight request lets
    // go of the fd.
    ::flock(h.fd.get(), LOCK_UN);
  }
  if (locks_.empty() && lock_waiter_.waiting() == 0) return;
  lock_waiter_.CancelHandle(handle);
  if (lock_owner.has_value()) DropOwnerLocks(h.node, *lock_owner);
  locks_.ReleaseHandle(h.node, handle);
  // Whatever this handle held (its flock, owners' locks) is going: retry.
  lock_waiter_.Kick();
}

void PassthroughBackend::DropForgottenNodeLocks(NodeId node) {
  if (locks_.empty() && lock_waiter_.waiting() == 0) return;
  if (inodes_.Get(node) != nullptr) return;  // still referenced
  lock_waiter_.CancelNode(node);
  if (locks_.DropNode(node)) lock_waiter_.Kick();
}

void PassthroughBackend::CancelAllLocks() {
  lock_waiter_.CancelAll();
  locks_.Clear();
}

}  // namespace vfsd
