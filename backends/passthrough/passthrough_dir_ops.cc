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
#include <climits>
#include <cstring>
#include <memory>
#include <mutex>
#include <optional>
#include <utility>

#include "backends/errno_status.h"
#include "backends/passthrough/dir_reader.h"
#include "backends/passthrough/host_attr.h"
#include "backends/passthrough/name_validation.h"
#include "backends/passthrough/passthrough_backend.h"

namespace vfsd {
namespace {

// READDIRPLUS of a name whose file is already a node holding its fd (every
// entry of a directory listed before, while the guest keeps its dentries):
// one statx by name, then a reference on the existing node, where
// LookupChild would open an O_PATH fd, statx it and close the duplicate.
// nullopt when the fast path does not apply (unknown file, file-handle
// node, or any statx error, which LookupChild then reports properly).
//
// Safe as a LOOKUP: `name` comes from getdents64 (one component, never "."
// or "..", no '/'); AT_SYMLINK_NOFOLLOW stats a symlink itself, as the
// O_PATH|O_NOFOLLOW open would; and the node's held fd pins the inode, so a
// key match is the file that had this name at statx time.
std::optional<Entry> ReferenceKnownChild(InodeTable& inodes, const Inode& parent,
                                         absl::string_view name, bool announce_submounts) {
  char cname[NAME_MAX + 1];
  if (name.size() > NAME_MAX) return std::nullopt;
  std::memcpy(cname, name.data(), name.size());
  cname[name.size()] = '\0';
  struct statx stx;
  if (::statx(parent.fd.get(), cname, AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT | AT_STATX_SYNC_AS_STAT,
              STATX_BASIC_STATS | STATX_MNT_ID, &stx) != 0) {
    return std::nullopt;
  }
  const InodeKey key = KeyFromStatx(stx);
  std::shared_ptr<Inode> inode = inodes.RefIfHeld(key);
  if (inode == nullptr) return std::nullopt;
  Entry entry;
  entry.node = inode->id;
  entry.generation = inode->generation;
  entry.attr = AttrFromStatx(stx);
  // As EntryForFd decides it.
  entry.attr.submount = announce_submounts && S_ISDIR(stx.stx_mode) &&
                        (key.dev != parent.key.dev || key.mnt_id != parent.key.mnt_id);
  return entry;
}

}  // namespace

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
  if (dir_handle.dir_reader == nullptr) {
    dir_handle.dir_reader = DirReader::Acquire(dir_handle.fd.get());
  }
  DirReader& reader = *dir_handle.dir_reader;
  // Resume without lseek when the guest continues where the last reply
  // stopped (the common case: see dir_reader.h). Offset 0 always seeks, so a
  // rewinddir() sees entries created since the handle was opened.
  if (offset == 0 || !reader.IsAt(offset)) {
    if (absl::Status status = reader.Seek(offset); !status.ok()) return done(status);
  }
  bool added_any = false;
  while (true) {
    // Peek, and Advance only past entries that went into the reply (or are
    // skipped for good): the one that does not fit stays buffered for the
    // next READDIR, which then needs no seek.
    absl::StatusOr<std::optional<RawDirEntry>> next = reader.Peek();
    if (!next.ok()) return done(added_any ? absl::OkStatus() : next.status());
    if (!next->has_value()) break;
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
    std::optional<Entry> known =
        ReferenceKnownChild(inodes_, *dir, raw.name, config_.announce_submounts);
    absl::StatusOr<Entry> entry =
        known.has_value() ? *std::move(known) : LookupChild(*dir, raw.name);
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
