// PassthroughBackend's open files: OPEN, READ, FLUSH, RELEASE (WRITE and the
// other modifying operations are in passthrough_write_ops.cc).
//
// A file handle is a real host fd re-opened from the node's O_PATH fd through
// /proc/self/fd (ReopenNode); READ goes straight from that fd into the
// guest's buffers with preadv.

#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <memory>
#include <optional>
#include <utility>

#include "backends/errno_status.h"
#include "backends/passthrough/host_page_cache.h"
#include "backends/passthrough/passthrough_backend.h"

namespace vfsd {
namespace {

// Open flags the guest may pass through to the host. Everything else is
// dropped: O_CREAT/O_EXCL/O_TMPFILE (creation is CREATE/TMPFILE, not OPEN),
// O_PATH/O_DIRECTORY/O_NOFOLLOW (we decide how the node is reopened),
// O_NOCTTY, O_ASYNC (SIGIO would be delivered to the daemon), O_CLOEXEC
// (always added). O_DIRECT is handled separately (allow_direct_io).
constexpr int kPassedOpenFlags =
    O_ACCMODE | O_APPEND | O_NONBLOCK | O_DSYNC | O_SYNC | O_NOATIME | O_TRUNC | O_LARGEFILE;

}  // namespace

int PassthroughBackend::HostOpenFlags(uint32_t guest_flags) const {
  int flags = static_cast<int>(guest_flags) & kPassedOpenFlags;
  if (config_.allow_direct_io) flags |= static_cast<int>(guest_flags) & O_DIRECT;
  if (writeback_cache_.load(std::memory_order_relaxed)) {
    // With writeback caching the guest kernel reads pages of write-only
    // files to fill partial pages, and does O_APPEND positioning itself
    // (as virtiofsd does: fuse kernel docs, "writeback cache").
    if ((flags & O_ACCMODE) == O_WRONLY) flags = (flags & ~O_ACCMODE) | O_RDWR;
    flags &= ~O_APPEND;
  }
  return flags;
}

absl::StatusOr<ScopedFd> PassthroughBackend::OpenRegularForGuest(const Inode& inode,
                                                                 uint32_t guest_flags,
                                                                 bool kill_suidgid) const {
  int flags = HostOpenFlags(guest_flags);
  // O_NOATIME needs the file's owner or CAP_FOWNER on the host; the guest's
  // own O_NOATIME was checked against guest ownership only. Either way a
  // refusal is not the guest's error: open without it.
  if (config_.preserve_noatime) flags |= O_NOATIME;
  absl::StatusOr<ScopedFd> fd = ReopenNode(inode, flags);
  if (!fd.ok() && (flags & O_NOATIME) && ErrnoOf(fd.status()) == EPERM) {
    fd = ReopenNode(inode, flags & ~O_NOATIME);
  }
  if (!fd.ok()) return fd.status();
  if (kill_suidgid && (guest_flags & O_TRUNC)) {
    // The truncate ran with the daemon's CAP_FSETID, so the host kept the
    // bits the guest's unprivileged caller must lose (FUSE_OPEN_KILL_SUIDGID).
    if (absl::Status status = KillSuidSgid(fd->get()); !status.ok()) return status;
  }
  return fd;
}

void PassthroughBackend::Open(const RequestContext& ctx, NodeId node, uint32_t flags,
                              bool kill_suidgid, Done<OpenResult> done) {
  absl::StatusOr<std::shared_ptr<Inode>> inode = GetInode(node);
  if (!inode.ok()) return done(inode.status());
  switch ((*inode)->type) {
    case S_IFREG:
      break;
    case S_IFDIR:
      return done(ErrnoStatus(EISDIR, "open"));
    case S_IFLNK:
      // O_NOFOLLOW semantics: a symlink node is never opened through.
      return done(ErrnoStatus(ELOOP, "open: symlink"));
    default:
      // FIFOs, sockets and device nodes: the guest kernel handles these
      // itself and never sends OPEN for them; refusing keeps a hostile guest
      // from blocking a worker on a FIFO or opening host devices.
      return done(ErrnoStatus(ENXIO, "open: special file"));
  }
  const int access_mode = static_cast<int>(flags) & O_ACCMODE;
  if (access_mode == O_ACCMODE) return done(ErrnoStatus(EINVAL, "open: access mode"));
  if (config_.readonly && (access_mode != O_RDONLY || (flags & O_TRUNC))) {
    return done(ErrnoStatus(EROFS, "open for writing on a read-only share"));
  }
  absl::StatusOr<ScopedFd> fd = OpenRegularForGuest(**inode, flags, kill_suidgid);
  if (!fd.ok()) return done(fd.status());
  OpenResult result;
  result.handle =
      handles_.Insert(std::make_shared<OpenHandle>(node, /*is_dir=*/false, *std::move(fd)));
  done(result);
}

namespace {

// The calling thread's READ batch (BeginBatch .. EndBatch) and the ring it
// holds; the ring goes back to its pool when the thread exits.
struct ThreadReadBatch {
  std::shared_ptr<ReadRingPool> pool;
  std::unique_ptr<ReadRing> ring;
  const PassthroughBackend* owner = nullptr;  // whose batch is open, if any
  ~ThreadReadBatch() {
    if (pool != nullptr) pool->Release(std::move(ring));
  }
};
thread_local ThreadReadBatch tls_read_batch;

}  // namespace

void PassthroughBackend::BeginBatch() {
  if (read_rings_ == nullptr) return;
  ThreadReadBatch& batch = tls_read_batch;
  if (batch.pool != read_rings_) {
    if (batch.pool != nullptr) batch.pool->Release(std::move(batch.ring));
    batch.pool = read_rings_;
    batch.ring = read_rings_->Acquire();
  }
  if (batch.ring != nullptr && !batch.ring->broken()) batch.owner = this;
}

void PassthroughBackend::EndBatch() {
  ThreadReadBatch& batch = tls_read_batch;
  if (batch.owner != this) return;
  batch.owner = nullptr;
  batch.ring->Flush([this](PendingRead& read, ssize_t result) {
    FinishBatchedRead(read, result);
  });
}

absl::StatusOr<size_t> PassthroughBackend::ReadNow(int fd, uint64_t offset,
                                                   absl::Span<const iovec> dest) {
  size_t total = 0;
  // At most IOV_MAX buffers per call.
  while (!dest.empty()) {
    const size_t count = std::min<size_t>(dest.size(), IOV_MAX);
    size_t wanted = 0;
    for (size_t i = 0; i < count; ++i) wanted += dest[i].iov_len;
    const uint64_t pos = offset + total;
    if (pos > static_cast<uint64_t>(INT64_MAX)) break;
    ssize_t n;
    do {
      n = ::preadv(fd, dest.data(), static_cast<int>(count), static_cast<off_t>(pos));
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
      if (total > 0) break;  // report what was read, as read(2) does
      return ErrnoFromLastError("preadv");
    }
    total += static_cast<size_t>(n);
    if (static_cast<size_t>(n) < wanted) break;  // end of file
    dest.remove_prefix(count);
  }
  return total;
}

void PassthroughBackend::Read(const RequestContext& ctx, NodeId node, HandleId handle,
                              uint64_t offset, absl::Span<const iovec> dest, Done<size_t> done) {
  absl::StatusOr<std::shared_ptr<OpenHandle>> h = GetHandle(handle);
  if (!h.ok()) return done(h.status());
  // read(2) on a directory fd answers EISDIR.
  if ((*h)->is_dir) return done(ErrnoStatus(EISDIR, "read"));
  if (offset > static_cast<uint64_t>(INT64_MAX)) return done(ErrnoStatus(EINVAL, "read offset"));
  ThreadReadBatch& batch = tls_read_batch;
  if (batch.owner == this && batch.ring->full()) {
    // A long burst: complete the reads queued so far and go on batching.
    batch.ring->Flush([this](PendingRead& read, ssize_t result) {
      FinishBatchedRead(read, result);
    });
  }
  if (batch.owner == this && batch.ring->CanQueue(dest.size())) {
    // Straight into the guest's buffers too, completed at EndBatch.
    const int fd = (*h)->fd.get();
    PendingRead read;
    read.handle = *std::move(h);
    read.offset = offset;
    read.done = std::move(done);
    batch.ring->Queue(fd, dest, std::move(read));
    return;
  }
  absl::StatusOr<size_t> total = ReadNow((*h)->fd.get(), offset, dest);
  if (total.ok() && !config_.host_page_cache) {
    DropReadPages((*h)->fd.get(), offset, *total, (*h)->served_since_sweep);
  }
  done(std::move(total));
}

void PassthroughBackend::FinishBatchedRead(PendingRead& read, ssize_t result) {
  if (result < 0) {
    return read.done(ErrnoStatus(static_cast<int>(-result), "readv (io_uring)"));
  }
  const size_t total = static_cast<size_t>(result);
  if (!config_.host_page_cache) {
    DropReadPages(read.handle->fd.get(), read.offset, total, read.handle->served_since_sweep);
  }
  read.done(total);
}

void PassthroughBackend::Flush(const RequestContext& ctx, NodeId node, HandleId handle,
                               uint64_t lock_owner, DoneStatus done) {
  absl::StatusOr<std::shared_ptr<OpenHandle>> h = GetHandle(handle);
  if (!h.ok()) return done(h.status());
  // FLUSH is the guest's close(): closing a duplicate reports deferred write
  // errors (NFS and friends) without closing the handle itself, as virtiofsd
  // does.
  // The closing process loses its POSIX locks on the file, whatever the
  // flush itself reports (close(2)).
  DropOwnerLocks((*h)->node, lock_owner);
  if (!config_.host_page_cache) DropFilePages((*h)->fd.get());
  int dup_fd = ::fcntl((*h)->fd.get(), F_DUPFD_CLOEXEC, 0);
  if (dup_fd < 0) return done(ErrnoFromLastError("flush: dup"));
  if (::close(dup_fd) != 0 && errno != EINTR) return done(ErrnoFromLastError("flush: close"));
  done(absl::OkStatus());
}

void PassthroughBackend::Release(const RequestContext& ctx, NodeId node, HandleId handle,
                                 uint32_t flags, std::optional<uint64_t> lock_owner,
                                 bool release_flock, DoneStatus done) {
  // Dropping the last reference closes the fd, which also drops any flock
  // taken through it.
  std::shared_ptr<OpenHandle> removed = handles_.Remove(handle);
  if (removed == nullptr) return done(ErrnoStatus(EBADF, "release"));
  if (!config_.host_page_cache && !removed->is_dir) DropFilePages(removed->fd.get());
  ReleaseHandleLocks(*removed, handle, lock_owner, release_flock);
  done(absl::OkStatus());
}

}  // namespace vfsd
