// The storage interface every vfsd backend implements.
//
// Its methods mirror the FUSE operation table, with typed arguments and
// results and nothing wire-shaped: the protocol layer (protocol/) decodes
// requests, calls these methods, and encodes the replies. No host fd or host
// path crosses this interface, so a backend may be a host directory
// (passthrough), a key-value store (rocksdb) or another machine (remote).
//
// Completion. Every request method takes a completion callback (`Done<T>` or
// `DoneStatus`) which the backend must call exactly once, either before
// returning (synchronous backends) or later from any thread (asynchronous
// backends such as remote). Buffers passed in (names, iovecs, sinks) stay
// valid until the callback runs. Errors carry the exact errno for the guest:
// build them with ErrnoStatus() (backends/errno_status.h).
//
// Defaults. Every method answers ENOSYS unless overridden, so a new backend
// compiles on day one and grows op by op. The protocol layer documents how
// the guest kernel falls back for each ENOSYS answer (docs/protocol.md).
//
// Threading. Methods may be called concurrently from several threads; a
// backend synchronises its own state.
#ifndef VFSD_BACKENDS_BACKEND_H_
#define VFSD_BACKENDS_BACKEND_H_

#include <sys/uio.h>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace vfsd {

// A FUSE node id. The root is always kRootNodeId; 0 is never a valid node.
using NodeId = uint64_t;
inline constexpr NodeId kRootNodeId = 1;

// An open file or directory handle chosen by the backend.
using HandleId = uint64_t;

template <typename T>
using Done = absl::AnyInvocable<void(absl::StatusOr<T>)>;
using DoneStatus = absl::AnyInvocable<void(absl::Status)>;

// The security context (e.g. an SELinux label) the guest's LSM computed for a
// new inode, sent with CREATE/MKDIR/MKNOD/SYMLINK/TMPFILE when
// FUSE_SECURITY_CTX is negotiated: the backend stores `value` as the xattr
// `name` (always "security.*"; validated by the protocol layer) on the new
// inode, atomically with its creation as far as it can.
struct SecurityContext {
  absl::string_view name;
  absl::string_view value;
};

// Who is asking, as the guest kernel reports it in the FUSE header.
struct RequestContext {
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint32_t pid = 0;
  // Only for creating requests, and only when the guest sent one; valid
  // until the request's completion runs.
  const SecurityContext* security_context = nullptr;
};

struct Timespec {
  int64_t sec = 0;
  uint32_t nsec = 0;
};

// File attributes, as the backend reports them (a `struct stat` without
// host-only fields).
struct Attr {
  uint64_t ino = 0;
  uint64_t size = 0;
  uint64_t blocks = 0;  // in 512-byte units
  Timespec atime;
  Timespec mtime;
  Timespec ctime;
  uint32_t mode = 0;  // type and permission bits (S_IFMT | 07777)
  uint32_t nlink = 0;
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint32_t rdev = 0;
  uint32_t blksize = 0;
  // The node is the root of a different host filesystem (FUSE_ATTR_SUBMOUNT
  // when the guest negotiated submounts).
  bool submount = false;
};

// The result of LOOKUP, MKDIR, CREATE, ...: a node the guest now holds one
// more lookup reference to (released by Forget).
struct Entry {
  NodeId node = 0;
  uint64_t generation = 0;
  Attr attr;
};

// Backend hints for an opened file or directory.
struct OpenResult {
  HandleId handle = 0;
  bool direct_io = false;    // bypass the guest page cache for this handle
  bool keep_cache = false;   // keep the guest page cache from earlier opens
  bool nonseekable = false;
  bool cache_dir = false;    // directories: allow the guest to cache entries
};

struct CreateResult {
  Entry entry;
  OpenResult open;
};

struct StatFs {
  uint64_t blocks = 0;
  uint64_t bfree = 0;
  uint64_t bavail = 0;
  uint64_t files = 0;
  uint64_t ffree = 0;
  uint32_t bsize = 0;
  uint32_t namelen = 0;
  uint32_t frsize = 0;
};

// What SETATTR changes; unset fields stay as they are.
struct SetAttrRequest {
  enum class TimeChange { kUnchanged, kNow, kValue };
  std::optional<HandleId> handle;  // set when the guest named an open file
  std::optional<uint32_t> mode;    // permission bits only
  std::optional<uint32_t> uid;
  std::optional<uint32_t> gid;
  std::optional<uint64_t> size;
  TimeChange atime_change = TimeChange::kUnchanged;
  Timespec atime;
  TimeChange mtime_change = TimeChange::kUnchanged;
  Timespec mtime;
  std::optional<Timespec> ctime;
  // Clear setuid/setgid as a write by an unprivileged caller would
  // (FATTR_KILL_SUIDGID).
  bool kill_suidgid = false;
  std::optional<uint64_t> lock_owner;
};

// A POSIX byte-range lock (struct flock, end inclusive; end = UINT64_MAX for
// "to end of file"). `type` is F_RDLCK, F_WRLCK or F_UNLCK.
struct FileLock {
  uint64_t start = 0;
  uint64_t end = 0;
  uint32_t type = 0;
  uint32_t pid = 0;
};

// One directory entry for READDIR / READDIRPLUS.
struct DirEntry {
  uint64_t ino = 0;
  uint64_t next_offset = 0;  // the offset that resumes after this entry
  uint32_t type = 0;         // DT_* value
  absl::string_view name;
};

// Collects directory entries into a reply buffer owned by the protocol layer.
// The backend calls Fits() before doing any per-entry work (for READDIRPLUS,
// before taking a lookup reference) and Add() only for entries that fit.
class DirEntrySink {
 public:
  virtual ~DirEntrySink() = default;
  // True if an entry with a name of `name_len` bytes still fits.
  virtual bool Fits(size_t name_len) const = 0;
  // Appends an entry; `entry` is required for READDIRPLUS, where it may be
  // nullptr for "." and ".." (no lookup reference is taken for those).
  virtual void Add(const DirEntry& dirent, const Entry* entry) = 0;
};

// Options the protocol layer negotiated with the guest at INIT, which some
// backends must honour in their semantics.
struct SessionOptions {
  bool writeback_cache = false;  // guest may send writes for O_WRONLY files as reads too
  bool posix_acl = false;
  bool handle_killpriv_v2 = false;
  bool security_context = false;
};

// Flags of a WRITE request, decoded from the wire.
struct WriteFlags {
  bool kill_suidgid = false;  // FUSE_WRITE_KILL_SUIDGID
  bool from_page_cache = false;  // FUSE_WRITE_CACHE (writeback)
};

class Backend {
 public:
  virtual ~Backend() = default;

  // Session lifecycle. Init is called once per FUSE INIT, Destroy on
  // FUSE_DESTROY or when the VMM disconnects; after Destroy every node and
  // handle the guest held is gone.
  virtual absl::Status Init(const SessionOptions& options) { return absl::OkStatus(); }
  virtual void Destroy() {}
  // Completes every request that waits for something only the guest can end
  // (SETLKW, blocking flock) with EINTR; what is held stays held. Called when
  // the VMM stops a queue or disconnects, before in-flight requests are
  // waited for.
  virtual void CancelBlockingRequests() {}
  // A queue worker brackets each burst of requests it handles on its own
  // thread with these. In between, the backend may hold back completing
  // requests of the calling thread to batch their system calls (passthrough
  // batches READs into one io_uring_enter); EndBatch() completes everything
  // held back. Requests on other threads (a thread pool) are not bracketed.
  virtual void BeginBatch() {}
  virtual void EndBatch() {}

  // --- names and nodes ---
  virtual void Lookup(const RequestContext& ctx, NodeId parent, absl::string_view name,
                      Done<Entry> done);
  // Drops `nlookup` lookup references (FORGET, BATCH_FORGET); no reply.
  virtual void Forget(NodeId node, uint64_t nlookup) {}
  virtual void GetAttr(const RequestContext& ctx, NodeId node, std::optional<HandleId> handle,
                       Done<Attr> done);
  virtual void SetAttr(const RequestContext& ctx, NodeId node, const SetAttrRequest& request,
                       Done<Attr> done);
  virtual void ReadLink(const RequestContext& ctx, NodeId node, Done<std::string> done);
  virtual void Symlink(const RequestContext& ctx, NodeId parent, absl::string_view name,
                       absl::string_view target, Done<Entry> done);
  virtual void MkNod(const RequestContext& ctx, NodeId parent, absl::string_view name,
                     uint32_t mode, uint32_t rdev, uint32_t umask, Done<Entry> done);
  virtual void MkDir(const RequestContext& ctx, NodeId parent, absl::string_view name,
                     uint32_t mode, uint32_t umask, Done<Entry> done);
  virtual void Unlink(const RequestContext& ctx, NodeId parent, absl::string_view name,
                      DoneStatus done);
  virtual void RmDir(const RequestContext& ctx, NodeId parent, absl::string_view name,
                     DoneStatus done);
  // `flags` are renameat2() flags (RENAME_NOREPLACE, RENAME_EXCHANGE, RENAME_WHITEOUT).
  virtual void Rename(const RequestContext& ctx, NodeId parent, absl::string_view name,
                      NodeId new_parent, absl::string_view new_name, uint32_t flags,
                      DoneStatus done);
  virtual void Link(const RequestContext& ctx, NodeId node, NodeId new_parent,
                    absl::string_view new_name, Done<Entry> done);

  // --- files ---
  // `flags` are open(2) flags as the guest sent them. `kill_suidgid`
  // (FUSE_OPEN_KILL_SUIDGID, with HANDLE_KILLPRIV_V2): the open truncates
  // (O_TRUNC) for a caller without CAP_FSETID, so clear setuid, and setgid
  // if group-executable, as the kernel does for such a truncate.
  virtual void Open(const RequestContext& ctx, NodeId node, uint32_t flags, bool kill_suidgid,
                    Done<OpenResult> done);
  // `kill_suidgid` as for Open; it only applies when `name` already exists
  // (O_CREAT without O_EXCL, with O_TRUNC), never to a file this call creates.
  virtual void Create(const RequestContext& ctx, NodeId parent, absl::string_view name,
                      uint32_t mode, uint32_t flags, uint32_t umask, bool kill_suidgid,
                      Done<CreateResult> done);
  // An unnamed file in directory `parent` (O_TMPFILE).
  virtual void TmpFile(const RequestContext& ctx, NodeId parent, uint32_t mode, uint32_t flags,
                       uint32_t umask, Done<CreateResult> done);
  // Reads up to the total length of `dest` (guest memory; written in place,
  // no intermediate copy) at `offset`; completes with the bytes read.
  virtual void Read(const RequestContext& ctx, NodeId node, HandleId handle, uint64_t offset,
                    absl::Span<const iovec> dest, Done<size_t> done);
  // Writes all of `data` (guest memory) at `offset`; completes with the bytes
  // written.
  virtual void Write(const RequestContext& ctx, NodeId node, HandleId handle, uint64_t offset,
                     absl::Span<const iovec> data, WriteFlags flags, Done<size_t> done);
  virtual void Flush(const RequestContext& ctx, NodeId node, HandleId handle,
                     uint64_t lock_owner, DoneStatus done);
  // `release_flock` asks to drop the handle's flock lock; `lock_owner` is
  // set when POSIX locks held by that owner must be dropped.
  virtual void Release(const RequestContext& ctx, NodeId node, HandleId handle, uint32_t flags,
                       std::optional<uint64_t> lock_owner, bool release_flock,
                       DoneStatus done);
  virtual void Fsync(const RequestContext& ctx, NodeId node, HandleId handle, bool datasync,
                     DoneStatus done);
  // fallocate(2) `mode` flags.
  virtual void Fallocate(const RequestContext& ctx, NodeId node, HandleId handle,
                         uint64_t offset, uint64_t length, uint32_t mode, DoneStatus done);
  // lseek(2) with SEEK_DATA / SEEK_HOLE (SEEK_SET/CUR/END are answered by
  // the guest kernel itself); completes with the resulting offset.
  virtual void Lseek(const RequestContext& ctx, NodeId node, HandleId handle, uint64_t offset,
                     uint32_t whence, Done<uint64_t> done);
  virtual void CopyFileRange(const RequestContext& ctx, NodeId node_in, HandleId handle_in,
                             uint64_t offset_in, NodeId node_out, HandleId handle_out,
                             uint64_t offset_out, uint64_t length, uint64_t flags,
                             Done<size_t> done);

  // --- directories ---
  virtual void OpenDir(const RequestContext& ctx, NodeId node, uint32_t flags,
                       Done<OpenResult> done);
  // Lists entries starting after `offset` (0: from the start) into `sink`.
  // With `plus`, each entry except "." and ".." carries an Entry and takes
  // one lookup reference.
  virtual void ReadDir(const RequestContext& ctx, NodeId node, HandleId handle, uint64_t offset,
                       bool plus, DirEntrySink& sink, DoneStatus done);
  virtual void ReleaseDir(const RequestContext& ctx, NodeId node, HandleId handle,
                          DoneStatus done);
  virtual void FsyncDir(const RequestContext& ctx, NodeId node, HandleId handle, bool datasync,
                        DoneStatus done);

  // --- filesystem ---
  virtual void StatFs(const RequestContext& ctx, NodeId node, Done<vfsd::StatFs> done);
  virtual void SyncFs(const RequestContext& ctx, NodeId node, DoneStatus done);
  // access(2) `mask` (F_OK, R_OK, W_OK, X_OK).
  virtual void Access(const RequestContext& ctx, NodeId node, uint32_t mask, DoneStatus done);

  // --- extended attributes ---
  // `flags` are setxattr(2) flags (XATTR_CREATE, XATTR_REPLACE).
  // `acl_kill_sgid` (FUSE_SETXATTR_ACL_KILL_SGID, with POSIX ACLs): the
  // caller, setting system.posix_acl_access, is neither in the file's group
  // nor has CAP_FSETID, so the setgid bit must be cleared as the kernel's
  // posix_acl_update_mode() would; without it, setgid must be kept.
  virtual void SetXattr(const RequestContext& ctx, NodeId node, absl::string_view name,
                        absl::string_view value, uint32_t flags, bool acl_kill_sgid,
                        DoneStatus done);
  // Completes with the whole value; the protocol layer answers size queries
  // and ERANGE.
  virtual void GetXattr(const RequestContext& ctx, NodeId node, absl::string_view name,
                        Done<std::string> done);
  // Completes with the NUL-terminated names, concatenated.
  virtual void ListXattr(const RequestContext& ctx, NodeId node, Done<std::string> done);
  virtual void RemoveXattr(const RequestContext& ctx, NodeId node, absl::string_view name,
                           DoneStatus done);

  // --- locks ---
  virtual void GetLk(const RequestContext& ctx, NodeId node, HandleId handle, uint64_t owner,
                     const FileLock& lock, Done<FileLock> done);
  // `wait`: SETLKW. `flock`: a flock(2) lock on the whole file rather than a
  // POSIX record lock.
  virtual void SetLk(const RequestContext& ctx, NodeId node, HandleId handle, uint64_t owner,
                     const FileLock& lock, bool wait, bool flock, DoneStatus done);
};

}  // namespace vfsd

#endif  // VFSD_BACKENDS_BACKEND_H_
