#include "backends/passthrough/passthrough_backend.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <optional>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "backends/backend_registry.h"
#include "backends/errno_status.h"
#include "backends/passthrough/access_check.h"
#include "backends/passthrough/dir_reader.h"
#include "backends/passthrough/file_handle.h"
#include "backends/passthrough/host_attr.h"
#include "backends/passthrough/name_validation.h"
#include "glog/logging.h"

namespace vfsd {

absl::StatusOr<std::unique_ptr<Backend>> PassthroughBackend::Create(const BackendConfig& config,
                                                                  size_t fd_cache_capacity) {
  if (config.shared_dir.empty()) {
    return absl::InvalidArgumentError("passthrough: shared_dir is not set");
  }
  // The configured root itself may be reached through symlinks: it is the
  // administrator's choice, not guest input.
  ScopedFd root_fd(::open(config.shared_dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root_fd.valid()) {
    const int err = errno;
    if (err == ENOENT) {
      return absl::NotFoundError(
          absl::StrCat("passthrough: shared directory '", config.shared_dir, "' does not exist"));
    }
    if (err == ENOTDIR) {
      return absl::InvalidArgumentError(absl::StrCat(
          "passthrough: shared directory '", config.shared_dir, "' is not a directory"));
    }
    return ErrnoStatus(err, absl::StrCat("passthrough: cannot open shared directory '",
                                         config.shared_dir, "'"));
  }
  ScopedFd proc_self_fd(::open("/proc/self/fd", O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!proc_self_fd.valid()) {
    return ErrnoFromLastError(
        "passthrough: cannot open /proc/self/fd (needed to reopen files safely; is /proc "
        "mounted?)");
  }
  absl::StatusOr<struct statx> stx = StatxFd(root_fd.get());
  if (!stx.ok()) return stx.status();
  LOG(INFO) << "passthrough: sharing " << config.shared_dir << (config.readonly ? " (read-only)" : "");
  std::unique_ptr<PassthroughBackend> backend(
      new PassthroughBackend(config, std::move(proc_self_fd), std::move(root_fd),
                             KeyFromStatx(*stx), fd_cache_capacity));
  if (config.inode_file_handles != BackendConfig::InodeFileHandles::kNever) {
    if (absl::Status status = backend->SetUpFileHandles(); !status.ok()) return status;
  }
  return std::unique_ptr<Backend>(std::move(backend));
}

absl::StatusOr<std::unique_ptr<Backend>> PassthroughBackend::Create(const BackendConfig& config) {
  return Create(config, DefaultFdCacheCapacity());
}

size_t PassthroughBackend::DefaultFdCacheCapacity() {
  // A few thousand unused fds keep a guest's working set open (a miss costs
  // one open_by_handle_at); a quarter of RLIMIT_NOFILE leaves the rest for
  // open files, directory handles and nodes without handles.
  constexpr size_t kMax = 4096;
  constexpr size_t kMin = 16;
  struct rlimit limit;
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) return kMax;
  return std::clamp<size_t>(static_cast<size_t>(limit.rlim_cur / 4), kMin, kMax);
}

absl::Status PassthroughBackend::ProbeFileHandles() {
  // Both halves on the root: name_to_handle_at needs export support from
  // the filesystem, open_by_handle_at needs CAP_DAC_READ_SEARCH.
  const Inode& root = *inodes_.root();
  absl::StatusOr<FileHandle> handle = FileHandle::ForFd(root.fd.get());
  if (!handle.ok()) return handle.status();
  absl::StatusOr<std::shared_ptr<const ScopedFd>> mount_fd =
      mount_fds_.Get(handle->mount_id(), root.fd.get(), S_IFDIR);
  if (!mount_fd.ok()) return mount_fd.status();
  absl::StatusOr<ScopedFd> reopened = handle->Open((*mount_fd)->get(), O_PATH | O_NOFOLLOW);
  if (!reopened.ok()) return reopened.status();
  // Kept for the backend's life, so the share's own mount fd is open from
  // the start (a FIFO as the first node seen there would have no file to
  // open it from).
  root_mount_fd_ = *std::move(mount_fd);
  return absl::OkStatus();
}

absl::Status PassthroughBackend::SetUpFileHandles() {
  absl::Status probe = ProbeFileHandles();
  const bool mandatory =
      config_.inode_file_handles == BackendConfig::InodeFileHandles::kMandatory;
  if (probe.ok()) {
    use_handles_.store(true, std::memory_order_relaxed);
    VLOG(1) << "passthrough: nodes are kept by file handle (fd cache of "
            << fd_cache_.capacity() << ")";
    return absl::OkStatus();
  }
  use_handles_.store(false, std::memory_order_relaxed);
  const int err = ErrnoOf(probe);
  const std::string why =
      err == EPERM ? "open_by_handle_at needs CAP_DAC_READ_SEARCH (run as root; the capability "
                     "set must keep dac_read_search)"
                   : absl::StrCat("the filesystem of the shared directory does not support "
                                  "file handles (",
                                  probe.message(), ")");
  if (mandatory) {
    return ErrnoStatus(err, absl::StrCat("--inode-file-handles=mandatory: ", why));
  }
  LOG(WARNING) << "--inode-file-handles=prefer: holding an fd per inode instead: " << why;
  return absl::OkStatus();
}

namespace {
absl::StatusOr<std::unique_ptr<Backend>> CreatePassthroughBackend(const BackendConfig& config) {
  return PassthroughBackend::Create(config);
}
}  // namespace

VFSD_REGISTER_BACKEND("passthrough", CreatePassthroughBackend);

PassthroughBackend::PassthroughBackend(const BackendConfig& config, ScopedFd proc_self_fd,
                                       ScopedFd root_fd, InodeKey root_key,
                                       size_t fd_cache_capacity)
    : config_(config),
      read_rings_(config.read_rings > 0 ? std::make_shared<ReadRingPool>(config.read_rings)
                                        : nullptr),
      proc_self_fd_(std::move(proc_self_fd)),
      fd_cache_(fd_cache_capacity),
      mount_fds_(proc_self_fd_.get()),
      inodes_(std::move(root_fd), root_key),
      switch_credentials_(::geteuid() == 0) {}

absl::Status PassthroughBackend::Init(const SessionOptions& options) {
  writeback_cache_.store(options.writeback_cache, std::memory_order_relaxed);
  // Probed again: since Create() the daemon may have dropped capabilities
  // (CAP_DAC_READ_SEARCH) or installed its seccomp filter. Only the root is
  // in the table at INIT, so switching to held fds here mixes nothing.
  if (use_handles_.load(std::memory_order_relaxed)) {
    if (absl::Status status = SetUpFileHandles(); !status.ok()) return status;
  }
  return absl::OkStatus();
}

void PassthroughBackend::Destroy() {
  CancelAllLocks();  // first: waiting locks complete (EINTR) before their handles go
  handles_.Clear();
  inodes_.Clear();
}

absl::StatusOr<std::shared_ptr<Inode>> PassthroughBackend::GetInode(NodeId node) const {
  std::shared_ptr<Inode> inode = inodes_.Get(node);
  if (inode == nullptr) return ErrnoStatus(EBADF, "unknown node id");
  if (!inode->fd.cached()) return inode;
  // A handle node: pin its fd (re-opening it from the handle on a cache
  // miss) for as long as the caller holds the returned pointer, which
  // shares ownership with `inode` and unpins when the last copy goes.
  if (absl::Status status = fd_cache_.Pin(inode->fd, [&] { return inode->OpenFromHandle(); });
      !status.ok()) {
    return status;
  }
  Inode* raw = inode.get();
  return std::shared_ptr<Inode>(raw, [owner = std::move(inode), cache = &fd_cache_](Inode*) {
    cache->Unpin(owner->fd);
  });
}

absl::StatusOr<std::shared_ptr<OpenHandle>> PassthroughBackend::GetHandle(HandleId handle) const {
  std::shared_ptr<OpenHandle> h = handles_.Get(handle);
  if (h == nullptr) return ErrnoStatus(EBADF, "unknown handle");
  return h;
}

absl::StatusOr<ScopedFd> PassthroughBackend::OpenChildPath(int dir_fd, const char* name) {
  if (have_openat2_.load(std::memory_order_relaxed)) {
    // RESOLVE_BENEATH refuses "..", absolute paths and anything that would
    // leave dir_fd; RESOLVE_NO_SYMLINKS/NO_MAGICLINKS refuse any symlink on
    // the way (with O_NOFOLLOW a trailing symlink is returned as itself).
    struct open_how how = {};
    how.flags = O_PATH | O_NOFOLLOW | O_CLOEXEC;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
    // EAGAIN: a concurrent rename or mount raced the confinement check;
    // retry a few times, then report it (a guest cannot spin a worker).
    long fd;
    int attempts = 0;
    do {
      fd = ::syscall(SYS_openat2, dir_fd, name, &how, sizeof(how));
    } while (fd < 0 && (errno == EINTR || errno == EAGAIN) && ++attempts < 16);
    if (fd >= 0) return ScopedFd(static_cast<int>(fd));
    if (errno != ENOSYS) return ErrnoFromLastError("openat2");
    have_openat2_.store(false, std::memory_order_relaxed);
  }
  // The name is one validated component, so with O_NOFOLLOW nothing but the
  // parent directory is involved in resolving it.
  int fd;
  do {
    fd = ::openat(dir_fd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return ErrnoFromLastError("openat");
  return ScopedFd(fd);
}

absl::StatusOr<ScopedFd> PassthroughBackend::ReopenNode(const Inode& inode, int flags) const {
  // A handle node is pinned here too (pins nest), so callers may pass a node
  // they did not get from GetInode().
  if (inode.fd.cached()) {
    if (absl::Status status = fd_cache_.Pin(inode.fd, [&] { return inode.OpenFromHandle(); });
        !status.ok()) {
      return status;
    }
  }
  // /proc/self/fd/N names the very file the O_PATH fd holds, whatever has
  // been renamed since; no guest-controlled path is involved.
  char name[16];
  std::snprintf(name, sizeof(name), "%d", inode.fd.get());
  int fd;
  do {
    fd = ::openat(proc_self_fd_.get(), name, flags | O_CLOEXEC);
  } while (fd < 0 && errno == EINTR);
  const int err = errno;
  if (inode.fd.cached()) fd_cache_.Unpin(inode.fd);
  if (fd < 0) return ErrnoStatus(err, "reopen");
  return ScopedFd(fd);
}

absl::StatusOr<Entry> PassthroughBackend::EntryForFd(const Inode& parent, ScopedFd fd) {
  absl::StatusOr<struct statx> stx = StatxFd(fd.get());
  if (!stx.ok()) return stx.status();
  const InodeKey key = KeyFromStatx(*stx);
  Entry entry;
  entry.attr = AttrFromStatx(*stx);
  // A directory on another mount than its parent is a submount: the guest
  // shows it as its own mount so st_dev stays unique per filesystem there
  // (Rust virtiofsd's --announce-submounts: same test, directories only).
  entry.attr.submount = config_.announce_submounts && S_ISDIR(stx->stx_mode) &&
                        (key.dev != parent.key.dev || key.mnt_id != parent.key.mnt_id);
  absl::StatusOr<std::shared_ptr<Inode>> inode = InsertNode(key, stx->stx_mode & S_IFMT, std::move(fd));
  if (!inode.ok()) return inode.status();
  entry.node = (*inode)->id;
  entry.generation = (*inode)->generation;
  return entry;
}

absl::StatusOr<std::shared_ptr<Inode>> PassthroughBackend::InsertNode(const InodeKey& key,
                                                                     uint32_t type, ScopedFd fd) {
  if (!use_handles_.load(std::memory_order_relaxed)) {
    return inodes_.GetOrInsert(key, type, std::move(fd));
  }
  absl::StatusOr<FileHandle> handle = FileHandle::ForFd(fd.get());
  absl::StatusOr<std::shared_ptr<const ScopedFd>> mount_fd;
  if (handle.ok()) {
    mount_fd = mount_fds_.Get(handle->mount_id(), fd.get(), type);
    if (mount_fd.ok()) {
      return inodes_.GetOrInsertWithHandle(key, type, std::move(fd), *std::move(handle),
                                           *std::move(mount_fd), &fd_cache_);
    }
  }
  const absl::Status& why = handle.ok() ? mount_fd.status() : handle.status();
  if (config_.inode_file_handles == BackendConfig::InodeFileHandles::kMandatory) {
    // Refused with the kernel's errno (EOPNOTSUPP from a filesystem without
    // export support, e.g. procfs or a FUSE mount inside the share), as
    // Rust virtiofsd does: serving the node with a held fd would break the
    // fd bound mandatory promises.
    return ErrnoStatus(ErrnoOf(why),
                       absl::StrCat("--inode-file-handles=mandatory: no file handle: ",
                                    why.message()));
  }
  // prefer: this filesystem (a submount) cannot do handles; hold the fd.
  VLOG(1) << "passthrough: holding an fd for a node without file handle: " << why;
  return inodes_.GetOrInsert(key, type, std::move(fd));
}

namespace {

// LOOKUP (and READDIRPLUS) of a name whose file is already a node holding
// its fd, the common case once the guest has seen a directory: one statx by
// name and a reference on the existing node, where the general path opens
// an O_PATH fd, statx()es it and closes the duplicate (3 syscalls). Also
// answers a missing name (ENOENT) with that one syscall. nullopt when it
// does not apply (unknown file, file-handle node, other statx errors): the
// caller then takes the general path.
//
// As confined as that path: `cname` is one validated component (no '/', not
// "." or ".."), AT_SYMLINK_NOFOLLOW stats a symlink itself as O_NOFOLLOW
// opens it, and the node's held fd pins the host inode, so a key match is
// the file that had this name at statx time.
std::optional<absl::StatusOr<Entry>> ReferenceKnownChild(InodeTable& inodes, const Inode& parent,
                                                         const char* cname,
                                                         bool announce_submounts) {
  struct statx stx;
  if (::statx(parent.fd.get(), cname, AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT | AT_STATX_SYNC_AS_STAT,
              STATX_BASIC_STATS | STATX_MNT_ID, &stx) != 0) {
    if (errno == ENOENT) return absl::StatusOr<Entry>(ErrnoStatus(ENOENT, "lookup"));
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
  return absl::StatusOr<Entry>(std::move(entry));
}

}  // namespace

absl::StatusOr<Entry> PassthroughBackend::LookupChild(const Inode& parent, absl::string_view name) {
  if (parent.type != S_IFDIR) return ErrnoStatus(ENOTDIR, "lookup");
  // `name` is validated (no NUL), but not NUL-terminated: copy to the stack.
  char cname[NAME_MAX + 1];
  std::copy(name.begin(), name.end(), cname);
  cname[name.size()] = '\0';
  if (std::optional<absl::StatusOr<Entry>> known =
          ReferenceKnownChild(inodes_, parent, cname, config_.announce_submounts)) {
    return *std::move(known);
  }
  absl::StatusOr<ScopedFd> fd = OpenChildPath(parent.fd.get(), cname);
  if (!fd.ok()) return fd.status();
  return EntryForFd(parent, *std::move(fd));
}

absl::StatusOr<Entry> PassthroughBackend::LookupDot(const std::shared_ptr<Inode>& parent,
                                                    bool dotdot) {
  if (parent->type != S_IFDIR) return ErrnoStatus(ENOTDIR, "lookup");
  std::shared_ptr<Inode> target = parent;
  if (dotdot && parent->id != kRootNodeId) {
    // ".." of a node below the root: the parent directory on the host. It is
    // inside the share unless the host itself moved the directory out.
    int fd = ::openat(parent->fd.get(), "..", O_PATH | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return ErrnoFromLastError("openat(..)");
    return EntryForFd(*parent, ScopedFd(fd));
  }
  // "." anywhere, and ".." of the root (which stays the root: the guest
  // must never see the host directory above the share).
  absl::StatusOr<struct statx> stx = StatxFd(target->fd.get());
  if (!stx.ok()) return stx.status();
  if (!inodes_.Ref(target)) return ErrnoStatus(ENOENT, "lookup: node forgotten");
  Entry entry;
  entry.node = target->id;
  entry.generation = target->generation;
  entry.attr = AttrFromStatx(*stx);
  return entry;
}

void PassthroughBackend::Lookup(const RequestContext& ctx, NodeId parent, absl::string_view name,
                                Done<Entry> done) {
  if (absl::Status status = ValidateName(name); !status.ok()) return done(status);
  absl::StatusOr<std::shared_ptr<Inode>> dir = GetInode(parent);
  if (!dir.ok()) return done(dir.status());
  if (IsDotOrDotDot(name)) return done(LookupDot(*dir, name.size() == 2));
  done(LookupChild(**dir, name));
}

void PassthroughBackend::Forget(NodeId node, uint64_t nlookup) {
  inodes_.Forget(node, nlookup);
  DropForgottenNodeLocks(node);
}

void PassthroughBackend::GetAttr(const RequestContext& ctx, NodeId node,
                                 std::optional<HandleId> handle, Done<Attr> done) {
  absl::StatusOr<std::shared_ptr<Inode>> inode = GetInode(node);
  if (!inode.ok()) return done(inode.status());
  absl::StatusOr<struct statx> stx;
  if (handle.has_value()) {
    // The guest names an open file (fstat): stat what that handle has open.
    absl::StatusOr<std::shared_ptr<OpenHandle>> h = GetHandle(*handle);
    if (!h.ok()) return done(h.status());
    stx = StatxFd((*h)->fd.get());
  } else {
    stx = StatxFd((*inode)->fd.get());
  }
  if (!stx.ok()) return done(stx.status());
  done(AttrFromStatx(*stx));
}

void PassthroughBackend::ReadLink(const RequestContext& ctx, NodeId node,
                                  Done<std::string> done) {
  absl::StatusOr<std::shared_ptr<Inode>> inode = GetInode(node);
  if (!inode.ok()) return done(inode.status());
  if ((*inode)->type != S_IFLNK) return done(ErrnoStatus(EINVAL, "readlink: not a symlink"));
  std::string target(PATH_MAX, '\0');
  // readlinkat(fd, "") reads the symlink an O_PATH|O_NOFOLLOW fd refers to.
  ssize_t n = ::readlinkat((*inode)->fd.get(), "", target.data(), target.size());
  if (n < 0) return done(ErrnoFromLastError("readlinkat"));
  target.resize(static_cast<size_t>(n));
  done(std::move(target));
}

void PassthroughBackend::StatFs(const RequestContext& ctx, NodeId node,
                                Done<vfsd::StatFs> done) {
  absl::StatusOr<std::shared_ptr<Inode>> inode = GetInode(node);
  if (!inode.ok()) return done(inode.status());
  struct statfs st;
  if (::fstatfs((*inode)->fd.get(), &st) != 0) return done(ErrnoFromLastError("fstatfs"));
  vfsd::StatFs out;
  out.blocks = st.f_blocks;
  out.bfree = st.f_bfree;
  out.bavail = st.f_bavail;
  out.files = st.f_files;
  out.ffree = st.f_ffree;
  out.bsize = static_cast<uint32_t>(st.f_bsize);
  out.namelen = static_cast<uint32_t>(st.f_namelen);
  out.frsize = static_cast<uint32_t>(st.f_frsize);
  done(out);
}

void PassthroughBackend::Access(const RequestContext& ctx, NodeId node, uint32_t mask,
                                DoneStatus done) {
  absl::StatusOr<std::shared_ptr<Inode>> inode = GetInode(node);
  if (!inode.ok()) return done(inode.status());
  absl::StatusOr<struct statx> stx = StatxFd((*inode)->fd.get());
  if (!stx.ok()) return done(stx.status());
  if (absl::Status status = CheckAccess(AttrFromStatx(*stx), ctx, mask); !status.ok()) {
    return done(status);
  }
  // access(2) answers EROFS for W_OK on a read-only filesystem (except for
  // devices and FIFOs, which are not stored there).
  if ((mask & W_OK) && config_.readonly) {
    const uint32_t type = (*inode)->type;
    if (type == S_IFREG || type == S_IFDIR || type == S_IFLNK) {
      return done(ErrnoStatus(EROFS, "access: read-only share"));
    }
  }
  done(absl::OkStatus());
}

}  // namespace vfsd
