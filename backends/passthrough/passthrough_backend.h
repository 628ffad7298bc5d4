// PassthroughBackend: serves a host directory to the guest, the job of the
// reference virtiofsd ("passthrough" in the backend registry).
//
// Security model (the guest is untrusted; it must not reach any host file
// outside the shared directory):
//   - Every node is an O_PATH|O_NOFOLLOW fd (InodeTable). A guest name is
//     only ever resolved relative to its parent's fd, one validated component
//     at a time (ValidateName), with openat2(RESOLVE_BENEATH |
//     RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS) where the kernel has it
//     and openat(O_NOFOLLOW) otherwise; no host path is ever built from
//     guest input.
//   - Symlinks are never followed on the host: a symlink is a node of its
//     own; the guest kernel reads its target (READLINK) and resolves it in
//     the guest's namespace. Opening a symlink node fails with ELOOP
//     (O_NOFOLLOW semantics).
//   - ".." of the share root is the share root.
//   - Files are opened by reopening the node's O_PATH fd through
//     /proc/self/fd (opened once at start-up), never by path, and only
//     regular files are opened: FIFOs would block a worker, devices would
//     hand host hardware to the guest.
//   - Node ids and handle ids are table keys from counters, never host
//     numbers; unknown ids answer EBADF (as virtiofsd does).
//
// Credentials. Reads run with the daemon's own credentials; the guest
// kernel checks permissions itself (virtio-fs mounts use
// default_permissions). Modifying operations run with the caller's
// fsuid/fsgid on the worker thread (fs_credentials.h) so created files get
// the caller's ownership and the host enforces permissions. ACCESS is
// decided from the caller's uid/gid (access_check.h). Creations run with a
// per-thread umask of 0 (EnsureThreadUmaskZero): the guest sends its own
// umask with each creation and the backend applies it.
#ifndef VFSD_BACKENDS_PASSTHROUGH_PASSTHROUGH_BACKEND_H_
#define VFSD_BACKENDS_PASSTHROUGH_PASSTHROUGH_BACKEND_H_

#include <atomic>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "backends/backend.h"
#include "backends/backend_config.h"
#include "backends/passthrough/handle_table.h"
#include "backends/passthrough/read_ring.h"
#include "backends/passthrough/fd_cache.h"
#include "backends/passthrough/inode_table.h"
#include "backends/passthrough/lock_waiter.h"
#include "backends/passthrough/posix_lock_table.h"
#include "backends/passthrough/mount_fd_table.h"
#include "backends/passthrough/scoped_fd.h"

namespace vfsd {

class PassthroughBackend : public Backend {
 public:
  // Opens `config.shared_dir` (which must exist and be a directory) as the
  // root node. The registered factory.
  static absl::StatusOr<std::unique_ptr<Backend>> Create(const BackendConfig& config);
  // The same with the fd cache of file-handle nodes (fd_cache.h) holding at
  // most `fd_cache_capacity` unused fds (tests use small ones).
  static absl::StatusOr<std::unique_ptr<Backend>> Create(const BackendConfig& config,
                                                         size_t fd_cache_capacity);
  // The capacity Create(config) uses: a quarter of RLIMIT_NOFILE, 16..4096.
  static size_t DefaultFdCacheCapacity();

  absl::Status Init(const SessionOptions& options) override;
  void Destroy() override;
  // Waiting SETLKW / blocking flock requests get EINTR (CancelLockWaits).
  void CancelBlockingRequests() override { CancelLockWaits(); }
  // READs of the calling thread go into its io_uring (read_ring.h) until
  // EndBatch submits and completes them all (when config.read_rings > 0 and
  // the kernel gave us rings; otherwise each READ is a preadv).
  void BeginBatch() override;
  void EndBatch() override;
  // Rings not taken by a batching thread (tests).
  size_t free_read_rings() const { return read_rings_ ? read_rings_->available() : 0; }

  void Lookup(const RequestContext& ctx, NodeId parent, absl::string_view name,
              Done<Entry> done) override;
  void Forget(NodeId node, uint64_t nlookup) override;
  void GetAttr(const RequestContext& ctx, NodeId node, std::optional<HandleId> handle,
               Done<Attr> done) override;
  void ReadLink(const RequestContext& ctx, NodeId node, Done<std::string> done) override;

  // --- open files (passthrough_file_ops.cc) ---
  void Open(const RequestContext& ctx, NodeId node, uint32_t flags, bool kill_suidgid,
            Done<OpenResult> done) override;
  void Read(const RequestContext& ctx, NodeId node, HandleId handle, uint64_t offset,
            absl::Span<const iovec> dest, Done<size_t> done) override;
  void Flush(const RequestContext& ctx, NodeId node, HandleId handle, uint64_t lock_owner,
             DoneStatus done) override;
  void Release(const RequestContext& ctx, NodeId node, HandleId handle, uint32_t flags,
               std::optional<uint64_t> lock_owner, bool release_flock,
               DoneStatus done) override;

  // --- directory handles (passthrough_dir_ops.cc) ---
  void OpenDir(const RequestContext& ctx, NodeId node, uint32_t flags,
               Done<OpenResult> done) override;
  void ReadDir(const RequestContext& ctx, NodeId node, HandleId handle, uint64_t offset,
               bool plus, DirEntrySink& sink, DoneStatus done) override;
  void ReleaseDir(const RequestContext& ctx, NodeId node, HandleId handle,
                  DoneStatus done) override;

  void StatFs(const RequestContext& ctx, NodeId node, Done<vfsd::StatFs> done) override;
  void Access(const RequestContext& ctx, NodeId node, uint32_t mask, DoneStatus done) override;

  // --- modifying operations (passthrough_write_ops.cc), run with the
  // caller's fsuid/fsgid (fs_credentials.h); EROFS on a read-only share ---
  void SetAttr(const RequestContext& ctx, NodeId node, const SetAttrRequest& request,
               Done<Attr> done) override;
  void Symlink(const RequestContext& ctx, NodeId parent, absl::string_view name,
               absl::string_view target, Done<Entry> done) override;
  void MkNod(const RequestContext& ctx, NodeId parent, absl::string_view name, uint32_t mode,
             uint32_t rdev, uint32_t umask, Done<Entry> done) override;
  void MkDir(const RequestContext& ctx, NodeId parent, absl::string_view name, uint32_t mode,
             uint32_t umask, Done<Entry> done) override;
  void Unlink(const RequestContext& ctx, NodeId parent, absl::string_view name,
              DoneStatus done) override;
  void RmDir(const RequestContext& ctx, NodeId parent, absl::string_view name,
             DoneStatus done) override;
  void Rename(const RequestContext& ctx, NodeId parent, absl::string_view name,
              NodeId new_parent, absl::string_view new_name, uint32_t flags,
              DoneStatus done) override;
  void Link(const RequestContext& ctx, NodeId node, NodeId new_parent,
            absl::string_view new_name, Done<Entry> done) override;
  void Create(const RequestContext& ctx, NodeId parent, absl::string_view name, uint32_t mode,
              uint32_t flags, uint32_t umask, bool kill_suidgid,
              Done<CreateResult> done) override;
  void TmpFile(const RequestContext& ctx, NodeId parent, uint32_t mode, uint32_t flags,
               uint32_t umask, Done<CreateResult> done) override;
  void Write(const RequestContext& ctx, NodeId node, HandleId handle, uint64_t offset,
             absl::Span<const iovec> data, WriteFlags flags, Done<size_t> done) override;
  void Fsync(const RequestContext& ctx, NodeId node, HandleId handle, bool datasync,
             DoneStatus done) override;
  void FsyncDir(const RequestContext& ctx, NodeId node, HandleId handle, bool datasync,
                DoneStatus done) override;
  void Fallocate(const RequestContext& ctx, NodeId node, HandleId handle, uint64_t offset,
                 uint64_t length, uint32_t mode, DoneStatus done) override;
  void Lseek(const RequestContext& ctx, NodeId node, HandleId handle, uint64_t offset,
             uint32_t whence, Done<uint64_t> done) override;
  void CopyFileRange(const RequestContext& ctx, NodeId node_in, HandleId handle_in,
                     uint64_t offset_in, NodeId node_out, HandleId handle_out,
                     uint64_t offset_out, uint64_t length, uint64_t flags,
                     Done<size_t> done) override;
  void SyncFs(const RequestContext& ctx, NodeId node, DoneStatus done) override;

  // --- xattrs, only with BackendConfig::xattr (passthrough_xattr_ops.cc) ---
  void SetXattr(const RequestContext& ctx, NodeId node, absl::string_view name,
                absl::string_view value, uint32_t flags, bool acl_kill_sgid,
                DoneStatus done) override;
  void GetXattr(const RequestContext& ctx, NodeId node, absl::string_view name,
                Done<std::string> done) override;
  void ListXattr(const RequestContext& ctx, NodeId node, Done<std::string> done) override;
  void RemoveXattr(const RequestContext& ctx, NodeId node, absl::string_view name,
                   DoneStatus done) override;

  // --- locks (passthrough_lock_ops.cc) ---
  void GetLk(const RequestContext& ctx, NodeId node, HandleId handle, uint64_t owner,
             const FileLock& lock, Done<FileLock> done) override;
  void SetLk(const RequestContext& ctx, NodeId node, HandleId handle, uint64_t owner,
             const FileLock& lock, bool wait, bool flock, DoneStatus done) override;

  // Nodes and handles currently held (for tests and metrics).
  size_t node_count() const { return inodes_.size(); }
  size_t handle_count() const { return handles_.size(); }
  // POSIX lock-owner fds open, and blocking lock requests waiting.
  size_t lock_owner_fd_count() const { return locks_.size(); }
  size_t waiting_lock_count() const { return lock_waiter_.waiting(); }
  // Fails every waiting SETLKW / blocking flock with EINTR and drops all
  // locks (Destroy does this).
  void CancelAllLocks();
  // Fails every waiting SETLKW / blocking flock with EINTR, keeping the
  // locks held: for whatever waits for in-flight requests before the
  // session ends (a vring stop), which a waiting lock would otherwise hang.
  void CancelLockWaits() { lock_waiter_.CancelAll(); }
  // Whether nodes are kept by file handle (--inode-file-handles and what the
  // host allows), and how many node fds the cache holds open right now.
  bool using_file_handles() const { return use_handles_.load(std::memory_order_relaxed); }
  size_t cached_fd_count() const { return fd_cache_.open_count(); }

 private:
  PassthroughBackend(const BackendConfig& config, ScopedFd proc_self_fd, ScopedFd root_fd,
                     InodeKey root_key, size_t fd_cache_capacity);

  // The node; a file-handle node comes back with its fd pinned (valid) for
  // as long as the returned pointer (or a copy) lives.
  absl::StatusOr<std::shared_ptr<Inode>> GetInode(NodeId node) const;
  absl::StatusOr<std::shared_ptr<OpenHandle>> GetHandle(HandleId handle) const;

  // Resolves `name` (validated, not "." or "..") under directory `parent`
  // and returns its entry with one more lookup reference.
  absl::StatusOr<Entry> LookupChild(const Inode& parent, absl::string_view name);
  // LOOKUP of "." / "..": an existing node, one more reference.
  absl::StatusOr<Entry> LookupDot(const std::shared_ptr<Inode>& parent, bool dotdot);
  // Turns a freshly opened O_PATH fd under `parent` into a referenced Entry.
  absl::StatusOr<Entry> EntryForFd(const Inode& parent, ScopedFd fd);
  // The node for host file `key` (opened as `fd`), one more lookup
  // reference: kept by file handle when those are in use, else by `fd`.
  absl::StatusOr<std::shared_ptr<Inode>> InsertNode(const InodeKey& key, uint32_t type,
                                                    ScopedFd fd);
  // --inode-file-handles=prefer|mandatory: probes name_to_handle_at and
  // open_by_handle_at on the root and sets use_handles_; an error only for
  // mandatory (clear message, the kernel's errno).
  absl::Status SetUpFileHandles();
  absl::Status ProbeFileHandles();

  // openat(dir_fd, name, O_PATH|O_NOFOLLOW) confined to `dir_fd`.
  absl::StatusOr<ScopedFd> OpenChildPath(int dir_fd, const char* name);
  // Reopens a node's O_PATH fd with real open flags via /proc/self/fd.
  absl::StatusOr<ScopedFd> ReopenNode(const Inode& inode, int flags) const;

  // Locks (passthrough_lock_ops.cc): the fd a lock owner gets on the file
  // `handle` has open; flock requests; dropping locks on FLUSH (an owner),
  // RELEASE (a handle and maybe an owner) and FORGET (a node, if gone).
  absl::StatusOr<ScopedFd> OpenLockFd(const OpenHandle& handle) const;
  void SetFlock(std::shared_ptr<OpenHandle> h, HandleId handle, uint32_t type, bool wait,
                DoneStatus done);
  void DropOwnerLocks(NodeId node, uint64_t owner);
  void ReleaseHandleLocks(const OpenHandle& h, HandleId handle,
                          std::optional<uint64_t> lock_owner, bool release_flock);
  void DropForgottenNodeLocks(NodeId node);

  // The host open(2) flags for a guest OPEN of a regular file.
  int HostOpenFlags(uint32_t guest_flags) const;
  // Opens regular file node `inode` for the guest (OPEN, or CREATE of an
  // existing name): HostOpenFlags, plus O_NOATIME with preserve_noatime
  // (dropped again if the host refuses it); with `kill_suidgid` and O_TRUNC,
  // clears setuid/setgid as FUSE_OPEN_KILL_SUIDGID asks
  // (passthrough_file_ops.cc).
  absl::StatusOr<ScopedFd> OpenRegularForGuest(const Inode& inode, uint32_t guest_flags,
                                               bool kill_suidgid) const;
  // Clears setuid (and setgid if group-executable) on open file `fd`, as the
  // kernel does when an unprivileged caller writes or truncates
  // (passthrough_write_ops.cc).
  static absl::Status KillSuidSgid(int fd);

  // EROFS on a read-only share.
  absl::Status CheckWritable() const;
  // The directory node `parent` for creating or removing `name` in it
  // (validated; "." and ".." refused with `dot_errno`), copied NUL-terminated
  // into `cname`.
  absl::StatusOr<std::shared_ptr<Inode>> DirForName(NodeId parent, absl::string_view name,
                                                    int dot_errno, char* cname);
  // The entry for `cname` just created in `parent` (one lookup reference).
  absl::StatusOr<Entry> EntryForCreated(const Inode& parent, const char* cname);
  // Registers an fd opened by CREATE/TMPFILE: its node (via an O_PATH
  // reopen, so no name is resolved again) and a handle.
  absl::StatusOr<CreateResult> RegisterCreated(const Inode& parent, ScopedFd fd);
  absl::StatusOr<Attr> DoSetAttr(const RequestContext& ctx, const Inode& inode,
                                 const SetAttrRequest& request);
  absl::StatusOr<CreateResult> DoCreate(const RequestContext& ctx, NodeId parent,
                                        absl::string_view name, uint32_t mode, uint32_t flags,
                                        uint32_t umask, bool kill_suidgid);
  // The mode to pass to a creating syscall and the thread umask to run it
  // under (passthrough_write_ops.cc): with POSIX ACLs the host kernel must
  // apply the guest's umask itself, because a parent's default ACL replaces
  // the umask (posix_acl_create), as Rust virtiofsd does.
  struct CreateMode {
    mode_t mode;
    mode_t thread_umask;
  };
  CreateMode ModeForCreate(uint32_t mode, uint32_t umask) const;
  // Stores the guest's security context (ctx.security_context, with
  // security_label) as an xattr on just-created node `node`
  // (passthrough_xattr_ops.cc).
  absl::Status ApplySecurityContext(const RequestContext& ctx, NodeId node);
  // ApplySecurityContext for `entry`, just created as `cname` in `dir`; if
  // the label cannot be stored the new name is removed again and the error
  // returned, so no unlabelled file is left behind (passthrough_write_ops.cc).
  absl::StatusOr<Entry> LabelCreated(const RequestContext& ctx, const Inode& dir,
                                     const char* cname, absl::StatusOr<Entry> entry);

  // READ: preadv straight into the guest's buffers (the unbatched path).
  static absl::StatusOr<size_t> ReadNow(int fd, uint64_t offset, absl::Span<const iovec> dest);
  // A batched READ's completion (ReadRing::Flush).
  void FinishBatchedRead(PendingRead& read, ssize_t result);

  const BackendConfig config_;
  // Shared with the threads holding one of its rings (they give it back when
  // they exit, which may be after this backend is gone).
  const std::shared_ptr<ReadRingPool> read_rings_;
  const ScopedFd proc_self_fd_;
  // Before inodes_: handle nodes use both until they are destroyed.
  mutable FdCache fd_cache_;
  MountFdTable mount_fds_;
  std::shared_ptr<const ScopedFd> root_mount_fd_;  // the share's mount, with handles
  std::atomic<bool> use_handles_{false};
  InodeTable inodes_;
  HandleTable handles_;
  std::atomic<bool> writeback_cache_{false};
  // Whether to run modifying calls as the guest caller (the daemon can
  // switch fsuid/fsgid only when it runs as root).
  const bool switch_credentials_;
  // Cleared on the first ENOSYS from openat2 (kernels before 5.6).
  std::atomic<bool> have_openat2_{true};
  // POSIX lock owners' fds, and the thread completing blocking lock
  // requests (last: destroyed first, its completions use locks_).
  PosixLockTable locks_;
  LockWaiter lock_waiter_;
};

}  // namespace vfsd

#endif  // VFSD_BACKENDS_PASSTHROUGH_PASSTHROUGH_BACKEND_H_
