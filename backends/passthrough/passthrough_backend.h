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
// Credentials. This step serves the read side as the daemon's own
// credentials; the guest kernel checks permissions itself (virtio-fs mounts
// use default_permissions). Per-request credential switching
// (setfsuid/setfsgid on the worker thread) comes with the write operations,
// where the ownership of created files depends on it. ACCESS is decided
// from the caller's uid/gid (access_check.h).
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
#include "backends/passthrough/inode_table.h"
#include "backends/passthrough/scoped_fd.h"

namespace vfsd {

class PassthroughBackend : public Backend {
 public:
  // Opens `config.shared_dir` (which must exist and be a directory) as the
  // root node. The registered factory.
  static absl::StatusOr<std::unique_ptr<Backend>> Create(const BackendConfig& config);

  absl::Status Init(const SessionOptions& options) override;
  void Destroy() override;

  void Lookup(const RequestContext& ctx, NodeId parent, absl::string_view name,
              Done<Entry> done) override;
  void Forget(NodeId node, uint64_t nlookup) override;
  void GetAttr(const RequestContext& ctx, NodeId node, std::optional<HandleId> handle,
               Done<Attr> done) override;
  void ReadLink(const RequestContext& ctx, NodeId node, Done<std::string> done) override;

  void Open(const RequestContext& ctx, NodeId node, uint32_t flags,
            Done<OpenResult> done) override;
  void Read(const RequestContext& ctx, NodeId node, HandleId handle, uint64_t offset,
            absl::Span<const iovec> dest, Done<size_t> done) override;
  void Flush(const RequestContext& ctx, NodeId node, HandleId handle, uint64_t lock_owner,
             DoneStatus done) override;
  void Release(const RequestContext& ctx, NodeId node, HandleId handle, uint32_t flags,
               std::optional<uint64_t> lock_owner, bool release_flock,
               DoneStatus done) override;

  void OpenDir(const RequestContext& ctx, NodeId node, uint32_t flags,
               Done<OpenResult> done) override;
  void ReadDir(const RequestContext& ctx, NodeId node, HandleId handle, uint64_t offset,
               bool plus, DirEntrySink& sink, DoneStatus done) override;
  void ReleaseDir(const RequestContext& ctx, NodeId node, HandleId handle,
                  DoneStatus done) override;

  void StatFs(const RequestContext& ctx, NodeId node, Done<vfsd::StatFs> done) override;
  void Access(const RequestContext& ctx, NodeId node, uint32_t mask, DoneStatus done) override;

  // Nodes and handles currently held (for tests and metrics).
  size_t node_count() const { return inodes_.size(); }
  size_t handle_count() const { return handles_.size(); }

 private:
  PassthroughBackend(const BackendConfig& config, ScopedFd proc_self_fd, ScopedFd root_fd,
                     InodeKey root_key);

  absl::StatusOr<std::shared_ptr<Inode>> GetInode(NodeId node) const;
  absl::StatusOr<std::shared_ptr<OpenHandle>> GetHandle(HandleId handle) const;

  // Resolves `name` (validated, not "." or "..") under directory `parent`
  // and returns its entry with one more lookup reference.
  absl::StatusOr<Entry> LookupChild(const Inode& parent, absl::string_view name);
  // LOOKUP of "." / "..": an existing node, one more reference.
  absl::StatusOr<Entry> LookupDot(const std::shared_ptr<Inode>& parent, bool dotdot);
  // Turns a freshly opened O_PATH fd under `parent` into a referenced Entry.
  absl::StatusOr<Entry> EntryForFd(const Inode& parent, ScopedFd fd);

  // openat(dir_fd, name, O_PATH|O_NOFOLLOW) confined to `dir_fd`.
  absl::StatusOr<ScopedFd> OpenChildPath(int dir_fd, const char* name);
  // Reopens a node's O_PATH fd with real open flags via /proc/self/fd.
  absl::StatusOr<ScopedFd> ReopenNode(const Inode& inode, int flags) const;

  // The host open(2) flags for a guest OPEN of a regular file.
  int HostOpenFlags(uint32_t guest_flags) const;

  const BackendConfig config_;
  const ScopedFd proc_self_fd_;
  InodeTable inodes_;
  HandleTable handles_;
  std::atomic<bool> writeback_cache_{false};
  // Cleared on the first ENOSYS from openat2 (kernels before 5.6).
  std::atomic<bool> have_openat2_{true};
};

}  // namespace vfsd

#endif  // VFSD_BACKENDS_PASSTHROUGH_PASSTHROUGH_BACKEND_H_
