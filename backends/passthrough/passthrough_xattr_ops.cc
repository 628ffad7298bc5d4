// PassthroughBackend's extended attributes.
//
// Extended attributes (only with BackendConfig::xattr; otherwise ENOSYS,
// which the guest kernel remembers as "not supported" and stops asking).
// Every node is reached as "N" relative to /proc/self/fd (see PathForXattr),
// which names the node's own inode without resolving any guest path and
// never follows a symlink node to its target; the kernel then answers for
// symlinks and special files as it does for lgetxattr() on them.

#include <fcntl.h>
#include <limits.h>
#include <linux/limits.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/xattr.h>

#include <cerrno>
#include <cstdio>
#include <optional>
#include <string>

#include "backends/errno_status.h"
#include "backends/passthrough/fs_credentials.h"
#include "backends/passthrough/passthrough_backend.h"

namespace vfsd {
namespace {

// A name for a node's inode that the path-based xattr calls accept: "N",
// relative to /proc/self/fd as the calling thread's working directory. The
// magic link resolves to the inode the O_PATH fd holds (a symlink itself,
// never its target), and being relative it works inside the sandbox, where
// /proc is not mounted at its usual place. Worker threads have their own
// working directory (unshare(CLONE_FS) in EnsureThreadUmaskZero), so the
// fchdir changes no other thread's view. As virtiofsd does.
struct XattrPath {
  char path[16];
};

absl::StatusOr<XattrPath> PathForXattr(const Inode& inode, int proc_self_fd) {
  if (absl::Status status = EnsureThreadUmaskZero(); !status.ok()) return status;
  if (::fchdir(proc_self_fd) != 0) return ErrnoFromLastError("fchdir(/proc/self/fd)");
  XattrPath p;
  std::snprintf(p.path, sizeof(p.path), "%d", inode.fd.get());
  return p;
}

absl::Status ValidateXattrName(absl::string_view name, std::string* cname) {
  // As the kernel: empty or over-long names are ERANGE.
  if (name.empty() || name.size() > XATTR_NAME_MAX) return ErrnoStatus(ERANGE, "xattr name");
  if (name.find('\0') != absl::string_view::npos) return ErrnoStatus(EINVAL, "xattr name");
  cname->assign(name.data(), name.size());
  return absl::OkStatus();
}

// Calls `fetch(buffer, size)` (getxattr/listxattr shaped) until the value
// fits: attributes may grow between the size query and the read.
template <typename Fetch>
absl::StatusOr<std::string> FetchGrowing(Fetch fetch, const char* what) {
  for (int attempt = 0; attempt < 8; ++attempt) {
    ssize_t size = fetch(nullptr, 0);
    if (size < 0) return ErrnoFromLastError(what);
    std::string value(static_cast<size_t>(size), '\0');
    if (size == 0) return value;
    ssize_t n = fetch(value.data(), value.size());
    if (n >= 0) {
      value.resize(static_cast<size_t>(n));
      return value;
    }
    if (errno != ERANGE) return ErrnoFromLastError(what);
  }
  return ErrnoStatus(EAGAIN, what);
}

constexpr char kAclAccessXattr[] = "system.posix_acl_access";
constexpr char kSecurityPrefix[] = "security.";

// The mode of the inode behind /proc/self/fd-relative `path`.
absl::StatusOr<mode_t> ModeOf(const XattrPath& path) {
  struct stat st;
  if (::fstatat(AT_FDCWD, path.path, &st, 0) != 0) return ErrnoFromLastError("stat");
  return st.st_mode;
}

}  // namespace

absl::Status PassthroughBackend::ApplySecurityContext(const RequestContext& ctx, NodeId node) {
  const SecurityContext* secctx = ctx.security_context;
  if (secctx == nullptr) return absl::OkStatus();
  // Only when the share asked for labels; otherwise INIT never offered
  // FUSE_SECURITY_CTX and a context here is a protocol-layer bug.
  if (!config_.security_label) return ErrnoStatus(EOPNOTSUPP, "security labels disabled");
  std::string cname;
  if (absl::Status status = ValidateXattrName(secctx->name, &cname); !status.ok()) return status;
  // Only the security namespace: the guest must not reach trusted.* or
  // system.* (ACLs) through this path.
  if (cname.compare(0, sizeof(kSecurityPrefix) - 1, kSecurityPrefix) != 0 ||
      cname.size() == sizeof(kSecurityPrefix) - 1) {
    return ErrnoStatus(EINVAL, "security context name");
  }
  if (secctx->value.size() > XATTR_SIZE_MAX) return ErrnoStatus(E2BIG, "security context");
  absl::StatusOr<std::shared_ptr<Inode>> inode = GetInode(node);
  if (!inode.ok()) return inode.status();
  absl::StatusOr<XattrPath> path = PathForXattr(**inode, proc_self_fd_.get());
  if (!path.ok()) return path.status();
  // setxattr, not lsetxattr: the path is the /proc/self/fd magic link,
  // which must be followed; it leads to the node's own inode (for a symlink
  // node the link itself, never its target), which gets the label.
  if (::setxattr(path->path, cname.c_str(), secctx->value.data(), secctx->value.size(), 0) !=
      0) {
    return ErrnoFromLastError("set security context");
  }
  return absl::OkStatus();
}

void PassthroughBackend::SetXattr(const RequestContext& ctx, NodeId node, absl::string_view name,
                                  absl::string_view value, uint32_t flags, bool acl_kill_sgid,
                                  DoneStatus done) {
  if (!config_.xattr) return done(ErrnoStatus(ENOSYS, "xattrs disabled for this share"));
  if (absl::Status status = CheckWritable(); !status.ok()) return done(status);
  std::string cname;
  if (absl::Status status = ValidateXattrName(name, &cname); !status.ok()) return done(status);
  if (value.size() > XATTR_SIZE_MAX) return done(ErrnoStatus(E2BIG, "xattr value"));
  if (flags & ~static_cast<uint32_t>(XATTR_CREATE | XATTR_REPLACE)) {
    return done(ErrnoStatus(EINVAL, "setxattr flags"));
  }
  absl::StatusOr<std::shared_ptr<Inode>> inode = GetInode(node);
  if (!inode.ok()) return done(inode.status());
  absl::StatusOr<XattrPath> path = PathForXattr(**inode, proc_self_fd_.get());
  if (!path.ok()) return done(path.status());
  // With POSIX ACLs the guest kernel decides whether setting an access ACL
  // clears setgid (FUSE_SETXATTR_ACL_KILL_SGID); the host's own decision
  // would use the daemon's groups and capabilities, not the caller's, so
  // the bit is put right afterwards: cleared when asked, otherwise kept.
  const bool acl_access = config_.posix_acl && cname == kAclAccessXattr;
  std::optional<mode_t> mode_before;
  if (acl_access) {
    absl::StatusOr<mode_t> mode = ModeOf(*path);
    if (!mode.ok()) return done(mode.status());
    mode_before = *mode;
  }
  absl::Status result;
  {
    ScopedFsCredentials creds(ctx, switch_credentials_);
    if (!creds.status().ok()) return done(creds.status());
    if (::setxattr(path->path, cname.c_str(), value.data(), value.size(),
                   static_cast<int>(flags)) != 0) {
      result = ErrnoFromLastError("setxattr");
    }
  }
  if (result.ok() && mode_before.has_value() && !S_ISLNK(*mode_before)) {
    absl::StatusOr<mode_t> mode_after = ModeOf(*path);
    if (!mode_after.ok()) return done(mode_after.status());
    mode_t want = *mode_after;
    if (acl_kill_sgid) {
      want &= ~S_ISGID;
    } else if (*mode_before & S_ISGID) {
      want |= S_ISGID;
    }
    // As the daemon (CAP_FSETID): only the setgid bit changes, so the ACL
    // just stored stays as it is (chmod rewrites only the mask entry from
    // the unchanged permission bits).
    // fchmodat relative to the /proc/self/fd fd: chmod(2) itself is not in
    // the seccomp allowlist.
    if (want != *mode_after &&
        ::fchmodat(proc_self_fd_.get(), path->path, want & 07777, 0) != 0) {
      result = ErrnoFromLastError("setxattr: setgid");
    }
  }
  done(std::move(result));
}

void PassthroughBackend::GetXattr(const RequestContext& ctx, NodeId node, absl::string_view name,
                                  Done<std::string> done) {
  if (!config_.xattr) return done(ErrnoStatus(ENOSYS, "xattrs disabled for this share"));
  std::string cname;
  if (absl::Status status = ValidateXattrName(name, &cname); !status.ok()) return done(status);
  absl::StatusOr<std::shared_ptr<Inode>> inode = GetInode(node);
  if (!inode.ok()) return done(inode.status());
  if ((*inode)->type != S_IFREG && (*inode)->type != S_IFDIR) {
    return done(ErrnoStatus(ENODATA, "getxattr"));
  }
  absl::StatusOr<XattrPath> path = PathForXattr(**inode, proc_self_fd_.get());
  if (!path.ok()) return done(path.status());
  done(FetchGrowing(
      [&](char* buf, size_t size) { return ::getxattr(path->path, cname.c_str(), buf, size); },
      "getxattr"));
}

void PassthroughBackend::ListXattr(const RequestContext& ctx, NodeId node,
                                   Done<std::string> done) {
  if (!config_.xattr) return done(ErrnoStatus(ENOSYS, "xattrs disabled for this share"));
  absl::StatusOr<std::shared_ptr<Inode>> inode = GetInode(node);
  if (!inode.ok()) return done(inode.status());
  if ((*inode)->type != S_IFREG && (*inode)->type != S_IFDIR) return done(std::string());
  absl::StatusOr<XattrPath> path = PathForXattr(**inode, proc_self_fd_.get());
  if (!path.ok()) return done(path.status());
  done(FetchGrowing([&](char* buf, size_t size) { return ::listxattr(path->path, buf, size); },
                    "listxattr"));
}

void PassthroughBackend::RemoveXattr(const RequestContext& ctx, NodeId node,
                                     absl::string_view name, DoneStatus done) {
  if (!config_.xattr) return done(ErrnoStatus(ENOSYS, "xattrs disabled for this share"));
  if (absl::Status status = CheckWritable(); !status.ok()) return done(status);
  std::string cname;
  if (absl::Status status = ValidateXattrName(name, &cname); !status.ok()) return done(status);
  absl::StatusOr<std::shared_ptr<Inode>> inode = GetInode(node);
  if (!inode.ok()) return done(inode.status());
  absl::StatusOr<XattrPath> path = PathForXattr(**inode, proc_self_fd_.get());
  if (!path.ok()) return done(path.status());
  absl::Status result;
  {
    ScopedFsCredentials creds(ctx, switch_credentials_);
    if (!creds.status().ok()) return done(creds.status());
    if (::removexattr(path->path, cname.c_str()) != 0) result = ErrnoFromLastError("removexattr");
  }
  done(std::move(result));
}

}  // namespace vfsd
