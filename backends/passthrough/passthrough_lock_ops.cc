// PassthroughBackend's file locks.
//
// Locks are taken on the handle's own open file description: flock(2) for
// BSD locks, open-file-description (OFD) record locks for POSIX locks. OFD
// locks belong to the handle rather than to the guest's lock owner, so two
// handles of one guest process conflict where POSIX locks would not; and
// SETLKW / blocking flock hold a worker thread until granted.

#include <fcntl.h>
#include <limits.h>
#include <sys/file.h>

#include <cerrno>
#include <cstdint>

#include "backends/errno_status.h"
#include "backends/passthrough/passthrough_backend.h"

namespace vfsd {
namespace {

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
  if (lock.end == UINT64_MAX || lock.end >= static_cast<uint64_t>(INT64_MAX)) {
    fl.l_len = 0;  // to end of file
  } else {
    fl.l_len = static_cast<off_t>(lock.end - lock.start + 1);
  }
  fl.l_pid = 0;  // required for OFD locks
  return fl;
}

}  // namespace

void PassthroughBackend::GetLk(const RequestContext& ctx, NodeId node, HandleId handle,
                               uint64_t owner, const FileLock& lock, Done<FileLock> done) {
  absl::StatusOr<std::shared_ptr<OpenHandle>> h = GetHandle(handle);
  if (!h.ok()) return done(h.status());
  absl::StatusOr<struct flock> fl = ToFlock(lock);
  if (!fl.ok()) return done(fl.status());
  if (fl->l_type == F_UNLCK) return done(ErrnoStatus(EINVAL, "getlk of F_UNLCK"));
  if (::fcntl((*h)->fd.get(), F_OFD_GETLK, &*fl) != 0) return done(ErrnoFromLastError("getlk"));
  FileLock result;
  result.type = static_cast<uint32_t>(fl->l_type);
  if (fl->l_type != F_UNLCK) {
    result.start = static_cast<uint64_t>(fl->l_start);
    result.end = fl->l_len == 0 ? UINT64_MAX
                                : static_cast<uint64_t>(fl->l_start + fl->l_len - 1);
    // OFD locks report pid -1; the holder is not a guest process we know.
    result.pid = 0;
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
  const int fd = (*h)->fd.get();
  if (flock) {
    int op = lock.type == F_RDLCK ? LOCK_SH : lock.type == F_WRLCK ? LOCK_EX : LOCK_UN;
    if (!wait) op |= LOCK_NB;
    int rc;
    do {
      rc = ::flock(fd, op);
    } while (rc != 0 && errno == EINTR);
    // flock reports a conflict as EWOULDBLOCK; FUSE expects EAGAIN (same
    // value on Linux).
    return done(rc == 0 ? absl::OkStatus() : ErrnoFromLastError("flock"));
  }
  int rc;
  do {
    rc = ::fcntl(fd, wait ? F_OFD_SETLKW : F_OFD_SETLK, &*fl);
  } while (rc != 0 && errno == EINTR);
  done(rc == 0 ? absl::OkStatus() : ErrnoFromLastError("setlk"));
}

}  // namespace vfsd
