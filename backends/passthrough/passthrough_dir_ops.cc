// PassthroughBackend's directory handles: OPENDIR, READDIR(PLUS), RELEASEDIR.
//
// A directory handle is a real O_RDONLY fd on the host directory (opened
// relative to the node's O_PATH fd); entries come from getdents64 through
// DirReader, and READDIRPLUS resolves each name under the directory node
// exactly as LOOKUP does. The handle keeps a DirReader (its getdents64 buffer
// and resume offset) between READDIRs, so a listing costs no lseek and no
// re-read per page (dir_reader.h).

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>
#include <memory>
#include <mutex>
#include <optional>
#include <utility>

#include "backends/errno_status.h"
#include "backends/passthrough/dir_reader.h"
#include "backends/passthrough/name_validation.h"
#include "backends/passthrough/passthrough_backend.h"

namespace vfsd {

void PassthroughBackend::OpenDir(const RequestContext& ctx, NodeId node, uint32_t flags,
                                 Done<OpenResult> done) {
  absl::StatusOr<std::shared_ptr<Inode>> inode = GetInode(node);
  if (!inode.ok()) return done(inode.status());
  if ((*inode)->type != S_IFDIR) return done(ErrnoStatus(ENOTDIR, "opendir"));
  // "." relative to the directory's own O_PATH fd: no path, no /proc.
  int fd;
  do {
    fd = ::openat((*inode)->fd.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return done(ErrnoFromLastError("opendir"));
  OpenResult result;
  result.handle = handles_.Insert(std::make_shared<OpenHandle>(node, /*is_dir=*/true, ScopedFd(fd)));
  done(result);
}

void PassthroughBackend::ReadDir(const RequestContext& ctx, NodeId node, HandleId handle,
                                 uint64_t offset, bool plus, DirEntrySink& sink,
                                 DoneStatus done) {
  absl::StatusOr<std::shared_ptr<OpenHandle>> h = GetHandle(handle);
  if (!h.ok()) return done(h.status());
  if (!(*h)->is_dir) return done(ErrnoStatus(ENOTDIR, "readdir"));
  // READDIRPLUS resolves each name under the handle's directory node.
  std::shared_ptr<Inode> dir;
  if (plus) {
    absl::StatusOr<std::shared_ptr<Inode>> inode = GetInode((*h)->node);
    if (!inode.ok()) return done(inode.status());
    dir = *std::move(inode);
  }
  OpenHandle& dir_handle = **h;
  std::lock_guard<std::mutex> lock(dir_handle.dir_mu);
  const bool first_read = dir_handle.dir_reader == nullptr;
  if (first_read) dir_handle.dir_reader = DirReader::Acquire(dir_handle.fd.get());
  DirReader& reader = *dir_handle.dir_reader;
  // Resume without lseek when the guest continues where the last reply
  // stopped (the common case: see dir_reader.h). Offset 0 seeks unless
  // nothing was read yet, so a rewinddir() sees entries created since the
  // handle was opened.
  if ((offset == 0 && !first_read) || !reader.IsAt(offset)) {
    if (absl::Status status = reader.Seek(offset); !status.ok()) return done(status);
  }
  bool added_any = false;
  while (true) {
    // Peek, and Advance only past entries that went into the reply (or are
    // skipped for good): the one that does not fit stays buffered for the
    // next READDIR, which then needs no seek.
    absl::StatusOr<const RawDirEntry*> next = reader.Peek();
    if (!next.ok()) return done(added_any ? absl::OkStatus() : next.status());
    if (*next == nullptr) break;
    const RawDirEntry& raw = **next;
    // Check space before taking any lookup reference: an entry that does
    // not fit is re-read by the next READDIR, and a reference taken for it
    // now would leak (the guest never learns of it, so never forgets it).
    // The entry stays buffered (not Advance()d) and starts the next reply.
    // A sink too small for any entry gets an empty reply, as from the
    // reference virtiofsd (the conformance suite's contract).
    if (!sink.Fits(raw.name.size())) break;
    DirEntry dirent;
    dirent.ino = raw.ino;
    dirent.next_offset = raw.next_offset;
    dirent.type = raw.type;
    dirent.name = raw.name;
    if (!plus || IsDotOrDotDot(raw.name)) {
      sink.Add(dirent, nullptr);
      reader.Advance();
      added_any = true;
      continue;
    }
    // A file already known as a node costs one statx here (LookupChild's
    // fast path), which is what makes a repeated `ls -l` cheap.
    absl::StatusOr<Entry> entry = LookupChild(*dir, raw.name);
    if (!entry.ok()) {
      // Removed between getdents64 and the lookup: skip it, as if listed a
      // moment later. Other errors end the reply (or fail an empty one) and
      // leave the entry to be retried by the next READDIR.
      if (ErrnoOf(entry.status()) == ENOENT) {
        reader.Advance();
        continue;
      }
      if (added_any) break;
      return done(entry.status());
    }
    // Report the identity the entry resolved to now (it may have been
    // replaced since getdents64).
    dirent.ino = entry->attr.ino;
    dirent.type = IFTODT(entry->attr.mode);
    sink.Add(dirent, &*entry);
    reader.Advance();
    added_any = true;
  }
  done(absl::OkStatus());
}

void PassthroughBackend::ReleaseDir(const RequestContext& ctx, NodeId node, HandleId handle,
                                    DoneStatus done) {
  if (handles_.Remove(handle) == nullptr) return done(ErrnoStatus(EBADF, "releasedir"));
  done(absl::OkStatus());
}

}  // namespace vfsd
