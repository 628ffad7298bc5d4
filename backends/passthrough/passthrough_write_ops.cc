// PassthroughBackend's modifying operations: creation, removal, renaming,
// linking, attribute changes and writes. Each runs with the caller's
// fsuid/fsgid (ScopedFsCredentials) so the host applies ownership and
// permission rules as for that user, and every name is one validated
// component resolved under its parent's fd (see passthrough_backend.h).
#include <fcntl.h>
#include <limits.h>
#include <linux/fs.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <utility>

#include "backends/errno_status.h"
#include "backends/passthrough/host_page_cache.h"
#include "backends/passthrough/fs_credentials.h"
#include "backends/passthrough/host_attr.h"
#include "backends/passthrough/name_validation.h"
#include "backends/passthrough/passthrough_backend.h"

namespace vfsd {
namespace {

// "N" for /proc/self/fd/N, relative to the backend's /proc/self/fd fd.
struct ProcFdName {
  explicit ProcFdName(int fd) { std::snprintf(buf, sizeof(buf), "%d", fd); }
  char buf[16];
};

bool FitsOffT(uint64_t v) { return v <= static_cast<uint64_t>(INT64_MAX); }

// The mode bits a write or chown by an unprivileged caller clears:
// set-user-ID always, set-group-ID only with group execute (without it,
// S_ISGID marks mandatory locking, which is kept), as the kernel's
// should_remove_suid() does.
mode_t SuidSgidToKill(mode_t mode) {
  mode_t kill = mode & S_ISUID;
  if ((mode & (S_ISGID | S_IXGRP)) == (S_ISGID | S_IXGRP)) kill |= S_ISGID;
  return kill;
}

// Sets the calling thread's umask for one creating syscall and puts it back
// to 0. Only on threads with their own filesystem context
// (EnsureThreadUmaskZero), so no other thread sees it.
class ScopedThreadUmask {
 public:
  explicit ScopedThreadUmask(mode_t mask) : active_(mask != 0) {
    if (active_) ::umask(mask);
  }
  ~ScopedThreadUmask() {
    if (active_) ::umask(0);
  }
  ScopedThreadUmask(const ScopedThreadUmask&) = delete;
  ScopedThreadUmask& operator=(const ScopedThreadUmask&) = delete;

 private:
  const bool active_;
};

}  // namespace

absl::Status PassthroughBackend::KillSuidSgid(int fd) {
  struct stat st;
  if (::fstat(fd, &st) != 0) return ErrnoFromLastError("kill suid/sgid: fstat");
  const mode_t kill = SuidSgidToKill(st.st_mode);
  if (kill != 0 && ::fchmod(fd, st.st_mode & ~kill & 07777) != 0) {
    return ErrnoFromLastError("kill suid/sgid: fchmod");
  }
  return absl::OkStatus();
}

PassthroughBackend::CreateMode PassthroughBackend::ModeForCreate(uint32_t mode,
                                                                 uint32_t umask) const {
  if (config_.posix_acl) {
    // The host applies the umask only if the parent has no default ACL, as
    // for a local create (FUSE_DONT_MASK left it to us).
    return CreateMode{static_cast<mode_t>(mode & 07777), static_cast<mode_t>(umask & 0777)};
  }
  return CreateMode{static_cast<mode_t>((mode & 07777) & ~umask), 0};
}

absl::StatusOr<Entry> PassthroughBackend::LabelCreated(const RequestContext& ctx,
                                                       const Inode& dir, const char* cname,
                                                       absl::StatusOr<Entry> entry) {
  if (!entry.ok() || ctx.security_context == nullptr) return entry;
  absl::Status status = ApplySecurityContext(ctx, entry->node);
  if (status.ok()) return entry;
  // As Rust virtiofsd: a file the guest's LSM cannot see labelled would be
  // mislabelled for good, so the creation fails as a whole.
  ::unlinkat(dir.fd.get(), cname, S_ISDIR(entry->attr.mode) ? AT_REMOVEDIR : 0);
  inodes_.Forget(entry->node, 1);
  return status;
}

absl::Status PassthroughBackend::CheckWritable() const {
  if (config_.readonly) return ErrnoStatus(EROFS, "read-only share");
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<Inode>> PassthroughBackend::DirForName(NodeId parent,
                                                                      absl::string_view name,
                                                                      int dot_errno, char* cname) {
  if (absl::Status status = CheckWritable(); !status.ok()) return status;
  if (absl::Status status = ValidateName(name); !status.ok()) return status;
  if (IsDotOrDotDot(name)) return ErrnoStatus(dot_errno, "\".\" or \"..\"");
  absl::StatusOr<std::shared_ptr<Inode>> dir = GetInode(parent);
  if (!dir.ok()) return dir.status();
  if ((*dir)->type != S_IFDIR) return ErrnoStatus(ENOTDIR, "parent");
  if (absl::Status status = EnsureThreadUmaskZero(); !status.ok()) return status;
  std::memcpy(cname, name.data(), name.size());
  cname[name.size()] = '\0';
  return dir;
}

absl::StatusOr<Entry> PassthroughBackend::EntryForCreated(const Inode& parent, const char* cname) {
  absl::StatusOr<ScopedFd> fd = OpenChildPath(parent.fd.get(), cname);
  if (!fd.ok()) return fd.status();
  return EntryForFd(parent, *std::move(fd));
}

absl::StatusOr<CreateResult> PassthroughBackend::RegisterCreated(const Inode& parent,
                                                                 ScopedFd fd) {
  // An O_PATH fd on the very file we opened (not on whatever the name
  // points to by now).
  ProcFdName name(fd.get());
  int path_fd = ::openat(proc_self_fd_.get(), name.buf, O_PATH | O_CLOEXEC);
  if (path_fd < 0) return ErrnoFromLastError("reopen O_PATH");
  absl::StatusOr<Entry> entry = EntryForFd(parent, ScopedFd(path_fd));
  if (!entry.ok()) return entry.status();
  CreateResult result;
  result.entry = *entry;
  result.open.handle =
      handles_.Insert(std::make_shared<OpenHandle>(entry->node, /*is_dir=*/false, std::move(fd)));
  return result;
}

void PassthroughBackend::MkDir(const RequestContext& ctx, NodeId parent, absl::string_view name,
                               uint32_t mode, uint32_t umask, Done<Entry> done) {
  char cname[NAME_MAX + 1];
  absl::StatusOr<std::shared_ptr<Inode>> dir = DirForName(parent, name, EEXIST, cname);
  if (!dir.ok()) return done(dir.status());
  absl::StatusOr<Entry> result;
  {
    ScopedFsCredentials creds(ctx, switch_credentials_);
    if (!creds.status().ok()) return done(creds.status());
    const CreateMode create = ModeForCreate(mode, umask);
    int rc;
    {
      ScopedThreadUmask thread_umask(create.thread_umask);
      rc = ::mkdirat((*dir)->fd.get(), cname, create.mode);
    }
    if (rc != 0) {
      result = ErrnoFromLastError("mkdirat");
    } else {
      result = LabelCreated(ctx, **dir, cname, EntryForCreated(**dir, cname));
    }
  }
  done(std::move(result));
}

void PassthroughBackend::MkNod(const RequestContext& ctx, NodeId parent, absl::string_view name,
                               uint32_t mode, uint32_t rdev, uint32_t umask, Done<Entry> done) {
  char cname[NAME_MAX + 1];
  absl::StatusOr<std::shared_ptr<Inode>> dir = DirForName(parent, name, EEXIST, cname);
  if (!dir.ok()) return done(dir.status());
  switch (mode & S_IFMT) {
    case S_IFREG:
    case S_IFIFO:
    case S_IFSOCK:
    case S_IFCHR:
    case S_IFBLK:
      // Device nodes need CAP_MKNOD, which only a guest root keeps; Open
      // refuses to open them anyway, so they are inert on the host.
      break;
    default:
      return done(ErrnoStatus(EINVAL, "mknod: file type"));
  }
  absl::StatusOr<Entry> result;
  {
    ScopedFsCredentials creds(ctx, switch_credentials_);
    if (!creds.status().ok()) return done(creds.status());
    const CreateMode create = ModeForCreate(mode, umask);
    int rc;
    {
      ScopedThreadUmask thread_umask(create.thread_umask);
      rc = ::mknodat((*dir)->fd.get(), cname, (mode & S_IFMT) | create.mode, rdev);
    }
    if (rc != 0) {
      result = ErrnoFromLastError("mknodat");
    } else {
      result = LabelCreated(ctx, **dir, cname, EntryForCreated(**dir, cname));
    }
  }
  done(std::move(result));
}

void PassthroughBackend::Symlink(const RequestContext& ctx, NodeId parent, absl::string_view name,
                                 absl::string_view target, Done<Entry> done) {
  char cname[NAME_MAX + 1];
  absl::StatusOr<std::shared_ptr<Inode>> dir = DirForName(parent, name, EEXIST, cname);
  if (!dir.ok()) return done(dir.status());
  // The target is stored verbatim and never resolved on the host; it only
  // has to be a valid C string of a valid length.
  if (target.empty()) return done(ErrnoStatus(ENOENT, "symlink: empty target"));
  if (target.size() >= PATH_MAX) return done(ErrnoStatus(ENAMETOOLONG, "symlink target"));
  if (target.find('\0') != absl::string_view::npos) {
    return done(ErrnoStatus(EINVAL, "symlink target contains NUL"));
  }
  const std::string ctarget(target);
  absl::StatusOr<Entry> result;
  {
    ScopedFsCredentials creds(ctx, switch_credentials_);
    if (!creds.status().ok()) return done(creds.status());
    if (::symlinkat(ctarget.c_str(), (*dir)->fd.get(), cname) != 0) {
      result = ErrnoFromLastError("symlinkat");
    } else {
      result = LabelCreated(ctx, **dir, cname, EntryForCreated(**dir, cname));
    }
  }
  done(std::move(result));
}

void PassthroughBackend::Unlink(const RequestContext& ctx, NodeId parent, absl::string_view name,
                                DoneStatus done) {
  char cname[NAME_MAX + 1];
  absl::StatusOr<std::shared_ptr<Inode>> dir = DirForName(parent, name, EISDIR, cname);
  if (!dir.ok()) return done(dir.status());
  absl::Status result;
  {
    ScopedFsCredentials creds(ctx, switch_credentials_);
    if (!creds.status().ok()) return done(creds.status());
    if (::unlinkat((*dir)->fd.get(), cname, 0) != 0) result = ErrnoFromLastError("unlinkat");
  }
  done(std::move(result));
}

void PassthroughBackend::RmDir(const RequestContext& ctx, NodeId parent, absl::string_view name,
                               DoneStatus done) {
  char cname[NAME_MAX + 1];
  // rmdir(".") is EINVAL on Linux (and rmdir("..") ENOTEMPTY).
  absl::StatusOr<std::shared_ptr<Inode>> dir =
      DirForName(parent, name, name == ".." ? ENOTEMPTY : EINVAL, cname);
  if (!dir.ok()) return done(dir.status());
  absl::Status result;
  {
    ScopedFsCredentials creds(ctx, switch_credentials_);
    if (!creds.status().ok()) return done(creds.status());
    if (::unlinkat((*dir)->fd.get(), cname, AT_REMOVEDIR) != 0) {
      result = ErrnoFromLastError("unlinkat(AT_REMOVEDIR)");
    }
  }
  done(std::move(result));
}

void PassthroughBackend::Rename(const RequestContext& ctx, NodeId parent, absl::string_view name,
                                NodeId new_parent, absl::string_view new_name, uint32_t flags,
                                DoneStatus done) {
  if (flags & ~static_cast<uint32_t>(RENAME_NOREPLACE | RENAME_EXCHANGE | RENAME_WHITEOUT)) {
    return done(ErrnoStatus(EINVAL, "rename flags"));
  }
  char cname[NAME_MAX + 1];
  char cnew_name[NAME_MAX + 1];
  absl::StatusOr<std::shared_ptr<Inode>> dir = DirForName(parent, name, EBUSY, cname);
  if (!dir.ok()) return done(dir.status());
  absl::StatusOr<std::shared_ptr<Inode>> new_dir =
      DirForName(new_parent, new_name, EBUSY, cnew_name);
  if (!new_dir.ok()) return done(new_dir.status());
  absl::Status result;
  {
    ScopedFsCredentials creds(ctx, switch_credentials_);
    if (!creds.status().ok()) return done(creds.status());
    if (::syscall(SYS_renameat2, (*dir)->fd.get(), cname, (*new_dir)->fd.get(), cnew_name,
                  flags) != 0) {
      result = ErrnoFromLastError("renameat2");
    }
  }
  done(std::move(result));
}

void PassthroughBackend::Link(const RequestContext& ctx, NodeId node, NodeId new_parent,
                              absl::string_view new_name, Done<Entry> done) {
  char cname[NAME_MAX + 1];
  absl::StatusOr<std::shared_ptr<Inode>> dir = DirForName(new_parent, new_name, EEXIST, cname);
  if (!dir.ok()) return done(dir.status());
  absl::StatusOr<std::shared_ptr<Inode>> inode = GetInode(node);
  if (!inode.ok()) return done(inode.status());
  if ((*inode)->type == S_IFDIR) return done(ErrnoStatus(EPERM, "link: directory"));
  absl::StatusOr<Entry> result;
  {
    ScopedFsCredentials creds(ctx, switch_credentials_);
    if (!creds.status().ok()) return done(creds.status());
    // linkat(AT_EMPTY_PATH) needs CAP_DAC_READ_SEARCH, which the switched
    // credentials lack; /proc/self/fd/N with AT_SYMLINK_FOLLOW names the
    // node's own inode (for a symlink node: the symlink itself, as the
    // magic link jumps to the inode without reading its target).
    ProcFdName source((*inode)->fd.get());
    if (::linkat(proc_self_fd_.get(), source.buf, (*dir)->fd.get(), cname, AT_SYMLINK_FOLLOW) !=
        0) {
      result = ErrnoFromLastError("linkat");
    } else {
      result = EntryForCreated(**dir, cname);
    }
  }
  done(std::move(result));
}

absl::StatusOr<CreateResult> PassthroughBackend::DoCreate(const RequestContext& ctx,
                                                          NodeId parent, absl::string_view name,
                                                          uint32_t mode, uint32_t flags,
                                                          uint32_t umask, bool kill_suidgid) {
  char cname[NAME_MAX + 1];
  absl::StatusOr<std::shared_ptr<Inode>> dir = DirForName(parent, name, EEXIST, cname);
  if (!dir.ok()) return dir.status();
  if ((flags & O_ACCMODE) == O_ACCMODE) return ErrnoStatus(EINVAL, "create: access mode");
  ScopedFsCredentials creds(ctx, switch_credentials_);
  if (!creds.status().ok()) return creds.status();
  // Always O_EXCL first: opening an existing name with O_CREAT alone would
  // follow nothing (O_NOFOLLOW) but could open a FIFO (blocking the worker)
  // or a device. If it exists and the guest did not ask for O_EXCL, fall
  // back to OPEN's checks on the existing node.
  // O_NOATIME (preserve_noatime) is always allowed on a file the caller
  // now owns.
  const int host_flags = HostOpenFlags(flags) | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC |
                         (config_.preserve_noatime ? O_NOATIME : 0);
  const CreateMode create = ModeForCreate(mode, umask);
  int fd;
  {
    ScopedThreadUmask thread_umask(create.thread_umask);
    fd = ::openat((*dir)->fd.get(), cname, host_flags, create.mode);
  }
  if (fd >= 0) {
    absl::StatusOr<CreateResult> created = RegisterCreated(**dir, ScopedFd(fd));
    if (!created.ok() || ctx.security_context == nullptr) return created;
    absl::StatusOr<Entry> labelled = LabelCreated(ctx, **dir, cname, created->entry);
    if (!labelled.ok()) {
      handles_.Remove(created->open.handle);
      return labelled.status();
    }
    return created;
  }
  if (errno != EEXIST || (flags & O_EXCL)) return ErrnoFromLastError("openat(O_CREAT)");
  // The name exists: the security context is for new inodes only and is not
  // applied; KILL_SUIDGID is for exactly this case (O_TRUNC of an existing
  // file).
  absl::StatusOr<Entry> entry = EntryForCreated(**dir, cname);
  if (!entry.ok()) return entry.status();
  std::shared_ptr<Inode> inode = inodes_.Get(entry->node);
  absl::Status status;
  if (inode == nullptr) {
    status = ErrnoStatus(ENOENT, "create: node vanished");
  } else if (inode->type == S_IFDIR) {
    status = ErrnoStatus(EISDIR, "create");
  } else if (inode->type == S_IFLNK) {
    status = ErrnoStatus(ELOOP, "create: symlink");
  } else if (inode->type != S_IFREG) {
    status = ErrnoStatus(ENXIO, "create: special file");
  }
  absl::StatusOr<ScopedFd> opened = status.ok() ? OpenRegularForGuest(*inode, flags, kill_suidgid)
                                                : absl::StatusOr<ScopedFd>(status);
  if (!opened.ok()) {
    inodes_.Forget(entry->node, 1);  // the guest never learns of this entry
    return opened.status();
  }
  CreateResult result;
  result.entry = *entry;
  result.open.handle = handles_.Insert(
      std::make_shared<OpenHandle>(entry->node, /*is_dir=*/false, *std::move(opened)));
  return result;
}

void PassthroughBackend::Create(const RequestContext& ctx, NodeId parent, absl::string_view name,
                                uint32_t mode, uint32_t flags, uint32_t umask,
                                bool kill_suidgid, Done<CreateResult> done) {
  done(DoCreate(ctx, parent, name, mode, flags, umask, kill_suidgid));
}

void PassthroughBackend::TmpFile(const RequestContext& ctx, NodeId parent, uint32_t mode,
                                 uint32_t flags, uint32_t umask, Done<CreateResult> done) {
  if (absl::Status status = CheckWritable(); !status.ok()) return done(status);
  absl::StatusOr<std::shared_ptr<Inode>> dir = GetInode(parent);
  if (!dir.ok()) return done(dir.status());
  if ((*dir)->type != S_IFDIR) return done(ErrnoStatus(ENOTDIR, "tmpfile"));
  if (absl::Status status = EnsureThreadUmaskZero(); !status.ok()) return done(status);
  // O_TMPFILE requires write access; an unnamed read-only file is useless.
  if ((flags & O_ACCMODE) == O_RDONLY || (flags & O_ACCMODE) == O_ACCMODE) {
    return done(ErrnoStatus(EINVAL, "tmpfile: access mode"));
  }
  absl::StatusOr<CreateResult> result;
  {
    ScopedFsCredentials creds(ctx, switch_credentials_);
    if (!creds.status().ok()) return done(creds.status());
    const CreateMode create = ModeForCreate(mode, umask);
    int fd;
    {
      ScopedThreadUmask thread_umask(create.thread_umask);
      fd = ::openat((*dir)->fd.get(), ".",
                    (HostOpenFlags(flags) & ~O_TRUNC) | O_TMPFILE | O_CLOEXEC |
                        (config_.preserve_noatime ? O_NOATIME : 0),
                    create.mode);
    }
    result = fd < 0 ? absl::StatusOr<CreateResult>(ErrnoFromLastError("openat(O_TMPFILE)"))
                    : RegisterCreated(**dir, ScopedFd(fd));
    if (result.ok() && ctx.security_context != nullptr) {
      // Unnamed: nothing to unlink if labelling fails, just let it go.
      if (absl::Status status = ApplySecurityContext(ctx, result->entry.node); !status.ok()) {
        handles_.Remove(result->open.handle);
        inodes_.Forget(result->entry.node, 1);
        result = status;
      }
    }
  }
  done(std::move(result));
}

void PassthroughBackend::Write(const RequestContext& ctx, NodeId node, HandleId handle,
                               uint64_t offset, absl::Span<const iovec> data, WriteFlags flags,
                               Done<size_t> done) {
  if (absl::Status status = CheckWritable(); !status.ok()) return done(status);
  absl::StatusOr<std::shared_ptr<OpenHandle>> h = GetHandle(handle);
  if (!h.ok()) return done(h.status());
  if ((*h)->is_dir) return done(ErrnoStatus(EISDIR, "write"));
  if (!FitsOffT(offset)) return done(ErrnoStatus(EFBIG, "write offset"));
  const int fd = (*h)->fd.get();
  size_t total = 0;
  // pwritev straight from the guest's buffers; at most IOV_MAX per call,
  // continuing after short writes as write(2) callers must.
  size_t index = 0;
  iovec first = data.empty() ? iovec{} : data[0];  // the partially written head
  while (index < data.size()) {
    iovec batch[64];
    int count = 0;
    batch[count++] = first;
    for (size_t i = index + 1; i < data.size() && count < 64; ++i) batch[count++] = data[i];
    if (!FitsOffT(offset + total)) break;
    ssize_t n;
    do {
      n = ::pwritev(fd, batch, count, static_cast<off_t>(offset + total));
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
      if (total > 0) break;
      return done(ErrnoFromLastError("pwritev"));
    }
    if (n == 0) break;
    total += static_cast<size_t>(n);
    // Advance over fully written iovecs.
    size_t left = static_cast<size_t>(n);
    while (index < data.size() && left >= first.iov_len) {
      left -= first.iov_len;
      ++index;
      first = index < data.size() ? data[index] : iovec{};
    }
    first.iov_base = static_cast<char*>(first.iov_base) + left;
    first.iov_len -= left;
  }
  if (flags.kill_suidgid && total > 0) {
    // The write itself ran with the daemon's CAP_FSETID, so the host kept
    // the bits; clear them as the guest asked (FUSE_WRITE_KILL_SUIDGID).
    // The data is written and a failure here cannot undo that: the WRITE
    // still reports its bytes (the guest would otherwise retry them).
    KillSuidSgid(fd).IgnoreError();
  }
  if (!config_.host_page_cache) DropWrittenPages(fd, total, (*h)->served_since_sweep);
  done(total);
}

void PassthroughBackend::Fsync(const RequestContext& ctx, NodeId node, HandleId handle,
                               bool datasync, DoneStatus done) {
  absl::StatusOr<std::shared_ptr<OpenHandle>> h = GetHandle(handle);
  if (!h.ok()) return done(h.status());
  const int rc = datasync ? ::fdatasync((*h)->fd.get()) : ::fsync((*h)->fd.get());
  // Synced pages are clean, so this drops all of them.
  if (rc == 0 && !config_.host_page_cache) DropFilePages((*h)->fd.get());
  done(rc == 0 ? absl::OkStatus() : ErrnoFromLastError("fsync"));
}

void PassthroughBackend::FsyncDir(const RequestContext& ctx, NodeId node, HandleId handle,
                                  bool datasync, DoneStatus done) {
  absl::StatusOr<std::shared_ptr<OpenHandle>> h = GetHandle(handle);
  if (!h.ok()) return done(h.status());
  if (!(*h)->is_dir) return done(ErrnoStatus(ENOTDIR, "fsyncdir"));
  const int rc = datasync ? ::fdatasync((*h)->fd.get()) : ::fsync((*h)->fd.get());
  done(rc == 0 ? absl::OkStatus() : ErrnoFromLastError("fsyncdir"));
}

void PassthroughBackend::Fallocate(const RequestContext& ctx, NodeId node, HandleId handle,
                                   uint64_t offset, uint64_t length, uint32_t mode,
                                   DoneStatus done) {
  if (absl::Status status = CheckWritable(); !status.ok()) return done(status);
  absl::StatusOr<std::shared_ptr<OpenHandle>> h = GetHandle(handle);
  if (!h.ok()) return done(h.status());
  if (!FitsOffT(offset) || !FitsOffT(length)) return done(ErrnoStatus(EFBIG, "fallocate"));
  if (::fallocate((*h)->fd.get(), static_cast<int>(mode), static_cast<off_t>(offset),
                  static_cast<off_t>(length)) != 0) {
    return done(ErrnoFromLastError("fallocate"));
  }
  done(absl::OkStatus());
}

void PassthroughBackend::Lseek(const RequestContext& ctx, NodeId node, HandleId handle,
                               uint64_t offset, uint32_t whence, Done<uint64_t> done) {
  absl::StatusOr<std::shared_ptr<OpenHandle>> h = GetHandle(handle);
  if (!h.ok()) return done(h.status());
  if (whence != SEEK_DATA && whence != SEEK_HOLE) return done(ErrnoStatus(EINVAL, "lseek whence"));
  if (!FitsOffT(offset)) return done(ErrnoStatus(ENXIO, "lseek offset"));
  // Moves the shared file offset, which nothing else uses: reads and
  // writes are positional.
  off_t result = ::lseek((*h)->fd.get(), static_cast<off_t>(offset), static_cast<int>(whence));
  if (result < 0) return done(ErrnoFromLastError("lseek"));
  done(static_cast<uint64_t>(result));
}

void PassthroughBackend::CopyFileRange(const RequestContext& ctx, NodeId node_in,
                                       HandleId handle_in, uint64_t offset_in, NodeId node_out,
                                       HandleId handle_out, uint64_t offset_out, uint64_t length,
                                       uint64_t flags, Done<size_t> done) {
  if (absl::Status status = CheckWritable(); !status.ok()) return done(status);
  if (flags != 0) return done(ErrnoStatus(EINVAL, "copy_file_range flags"));
  absl::StatusOr<std::shared_ptr<OpenHandle>> in = GetHandle(handle_in);
  if (!in.ok()) return done(in.status());
  absl::StatusOr<std::shared_ptr<OpenHandle>> out = GetHandle(handle_out);
  if (!out.ok()) return done(out.status());
  if (!FitsOffT(offset_in) || !FitsOffT(offset_out)) {
    return done(ErrnoStatus(EINVAL, "copy_file_range offset"));
  }
  loff_t off_in = static_cast<loff_t>(offset_in);
  loff_t off_out = static_cast<loff_t>(offset_out);
  const size_t len = static_cast<size_t>(std::min<uint64_t>(length, SSIZE_MAX));
  ssize_t n = ::copy_file_range((*in)->fd.get(), &off_in, (*out)->fd.get(), &off_out, len, 0);
  if (n < 0) return done(ErrnoFromLastError("copy_file_range"));
  done(static_cast<size_t>(n));
}

void PassthroughBackend::SyncFs(const RequestContext& ctx, NodeId node, DoneStatus done) {
  absl::StatusOr<std::shared_ptr<Inode>> inode = GetInode(node);
  if (!inode.ok()) return done(inode.status());
  // syncfs() refuses O_PATH fds: open the directory itself (or the root,
  // for a non-directory node, which is on a filesystem of the share too).
  const Inode& dir = (*inode)->type == S_IFDIR ? **inode : *inodes_.root();
  int fd = ::openat(dir.fd.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return done(ErrnoFromLastError("syncfs: open"));
  ScopedFd owned(fd);
  if (::syncfs(fd) != 0) return done(ErrnoFromLastError("syncfs"));
  done(absl::OkStatus());
}

absl::StatusOr<Attr> PassthroughBackend::DoSetAttr(const RequestContext& ctx, const Inode& inode,
                                                   const SetAttrRequest& request) {
  std::shared_ptr<OpenHandle> handle;
  if (request.handle.has_value()) {
    absl::StatusOr<std::shared_ptr<OpenHandle>> h = GetHandle(*request.handle);
    if (!h.ok()) return h.status();
    handle = *std::move(h);
  }
  const bool is_symlink = inode.type == S_IFLNK;
  ProcFdName proc(inode.fd.get());
  ScopedFsCredentials creds(ctx, switch_credentials_);
  if (!creds.status().ok()) return creds.status();

  if (request.mode.has_value()) {
    // Symlink permissions cannot be changed on Linux.
    if (is_symlink) return ErrnoStatus(EOPNOTSUPP, "chmod of a symlink");
    const mode_t mode = *request.mode & 07777;
    const int rc = handle ? ::fchmod(handle->fd.get(), mode)
                          : ::fchmodat(proc_self_fd_.get(), proc.buf, mode, 0);
    if (rc != 0) return ErrnoFromLastError("chmod");
  }
  if (request.uid.has_value() || request.gid.has_value()) {
    const uid_t uid = request.uid.has_value() ? *request.uid : static_cast<uid_t>(-1);
    const gid_t gid = request.gid.has_value() ? *request.gid : static_cast<gid_t>(-1);
    if (::fchownat(inode.fd.get(), "", uid, gid, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) != 0) {
      return ErrnoFromLastError("chown");
    }
  }
  if (request.size.has_value()) {
    if (!FitsOffT(*request.size)) return ErrnoStatus(EFBIG, "truncate size");
    if (inode.type == S_IFDIR) return ErrnoStatus(EISDIR, "truncate");
    if (inode.type != S_IFREG) return ErrnoStatus(EINVAL, "truncate");
    int rc;
    if (handle) {
      rc = ::ftruncate(handle->fd.get(), static_cast<off_t>(*request.size));
    } else {
      // Open for writing through the magic link, relative to our
      // /proc/self/fd fd (so it works inside the sandbox): the host checks
      // write permission for the (switched) caller, as truncate(path) does.
      ScopedFd file(::openat(proc_self_fd_.get(), proc.buf, O_WRONLY | O_NONBLOCK | O_CLOEXEC));
      rc = file.valid() ? ::ftruncate(file.get(), static_cast<off_t>(*request.size)) : -1;
    }
    if (rc != 0) return ErrnoFromLastError("truncate");
  }
  if (request.atime_change != SetAttrRequest::TimeChange::kUnchanged ||
      request.mtime_change != SetAttrRequest::TimeChange::kUnchanged) {
    auto to_timespec = [](SetAttrRequest::TimeChange change, const Timespec& value) {
      struct timespec ts;
      ts.tv_sec = value.sec;
      switch (change) {
        case SetAttrRequest::TimeChange::kUnchanged:
          ts.tv_nsec = UTIME_OMIT;
          break;
        case SetAttrRequest::TimeChange::kNow:
          ts.tv_nsec = UTIME_NOW;
          break;
        case SetAttrRequest::TimeChange::kValue:
          ts.tv_nsec = value.nsec;
          break;
      }
      return ts;
    };
    const struct timespec times[2] = {to_timespec(request.atime_change, request.atime),
                                      to_timespec(request.mtime_change, request.mtime)};
    if (request.atime_change == SetAttrRequest::TimeChange::kValue && times[0].tv_nsec >= 1000000000) {
      return ErrnoStatus(EINVAL, "atime nsec");
    }
    if (request.mtime_change == SetAttrRequest::TimeChange::kValue && times[1].tv_nsec >= 1000000000) {
      return ErrnoStatus(EINVAL, "mtime nsec");
    }
    int rc;
    if (handle) {
      rc = ::futimens(handle->fd.get(), times);
    } else if (is_symlink) {
      rc = ::utimensat(inode.fd.get(), "", times, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW);
    } else {
      rc = ::utimensat(proc_self_fd_.get(), proc.buf, times, 0);
    }
    if (rc != 0) return ErrnoFromLastError("utimensat");
  }
  if (request.kill_suidgid && !is_symlink) {
    absl::StatusOr<struct statx> stx = StatxFd(inode.fd.get());
    if (!stx.ok()) return stx.status();
    if (const mode_t kill = SuidSgidToKill(stx->stx_mode); kill != 0) {
      if (::fchmodat(proc_self_fd_.get(), proc.buf, stx->stx_mode & ~kill & 07777, 0) != 0) {
        return ErrnoFromLastError("kill suid/sgid");
      }
    }
  }
  absl::StatusOr<struct statx> stx = StatxFd(inode.fd.get());
  if (!stx.ok()) return stx.status();
  return AttrFromStatx(*stx);
}

void PassthroughBackend::SetAttr(const RequestContext& ctx, NodeId node,
                                 const SetAttrRequest& request, Done<Attr> done) {
  if (absl::Status status = CheckWritable(); !status.ok()) return done(status);
  absl::StatusOr<std::shared_ptr<Inode>> inode = GetInode(node);
  if (!inode.ok()) return done(inode.status());
  done(DoSetAttr(ctx, **inode, request));
}

}  // namespace vfsd
