// What the daemon lets a FUSE session offer the guest at INIT.
#ifndef VFSD_PROTOCOL_FUSE_SESSION_OPTIONS_H_
#define VFSD_PROTOCOL_FUSE_SESSION_OPTIONS_H_

#include <cstdint>

#include "protocol/cache_policy.h"

namespace vfsd {

struct FuseSessionOptions {
  CacheMode cache_mode = CacheMode::kAuto;
  // Largest WRITE (and READ) payload, in bytes; advertised as max_write and,
  // with FUSE_MAX_PAGES, as max_pages = max_write / 4 KiB.
  uint32_t max_write = 1 << 20;
  // Offer FUSE_DO_READDIRPLUS | FUSE_READDIRPLUS_AUTO (off for cache=never,
  // as virtiofsd).
  bool readdirplus = true;
  bool writeback = false;           // FUSE_WRITEBACK_CACHE
  bool posix_acl = false;           // FUSE_POSIX_ACL (needs xattr)
  bool announce_submounts = false;  // FUSE_SUBMOUNTS
  // FUSE_SECURITY_CTX. Not offered yet: the Backend interface has no way to
  // receive the creating process's security context (see docs/protocol.md).
  bool security_label = false;
  bool posix_locks = true;  // FUSE_POSIX_LOCKS: record locks go to the backend
  bool flock = true;        // FUSE_FLOCK_LOCKS: flock(2) goes to the backend
  // Serve SETXATTR/GETXATTR/LISTXATTR/REMOVEXATTR. When off they answer
  // ENOSYS, which the kernel remembers (fc->no_xattr...) and turns into
  // EOPNOTSUPP without asking again.
  bool xattr = false;
  // FUSE_DONT_MASK: the kernel leaves the umask to us, which default POSIX
  // ACLs need. Safe because the Backend contract passes `umask` to every
  // creating call and backends apply it; a backend that ignores `umask`
  // must run with this off.
  bool dont_mask = true;
  // FUSE_HANDLE_KILLPRIV_V2: the backend clears setuid/setgid on write,
  // truncate and chown. Off by default (as virtiofsd's --killpriv-v2):
  // Backend::Open cannot receive FUSE_OPEN_KILL_SUIDGID yet, so an O_TRUNC
  // open would not clear the bits; without the flag the kernel clears them
  // itself with a SETATTR.
  bool killpriv_v2 = false;
  // FUSE_DIRECT_IO_ALLOW_MMAP (Linux 6.6+ guests): shared mmap of files
  // opened with FOPEN_DIRECT_IO (cache=never) goes through the guest's page
  // cache instead of failing with ENODEV. Off by default, as Rust
  // virtiofsd's --allow-mmap; older guests never offer it.
  bool direct_io_allow_mmap = false;
};

}  // namespace vfsd

#endif  // VFSD_PROTOCOL_FUSE_SESSION_OPTIONS_H_
