// Everything the vfsd binary is told on its command line, parsed once and
// validated before anything is started.
#ifndef VFSD_DAEMON_DAEMON_OPTIONS_H_
#define VFSD_DAEMON_DAEMON_OPTIONS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "backends/backend_config.h"
#include "backends/id_translation/id_map.h"

namespace vfsd {

enum class LogLevel { kOff, kError, kWarn, kInfo, kDebug, kTrace };

// How the daemon confines itself before serving (docs/security.md).
enum class SandboxMode {
  kNamespace,  // new mount/pid/net namespaces, pivot_root into the share
  kChroot,     // chroot(2) into the share (inside containers without CAP_SYS_ADMIN)
  kNone,
};

// What the seccomp filter does with a syscall outside the allowlist.
enum class SeccompAction {
  kKill,  // kill the whole process (SECCOMP_RET_KILL_PROCESS)
  kLog,   // allow it, but have the kernel log it (audit)
  kTrap,  // SIGSYS: the daemon prints the syscall and it fails with ENOSYS
  kNone,  // no filter
};

// One --modcaps edit: add (+) or drop (-) a capability from the default set.
struct CapabilityChange {
  bool add = false;
  std::string name;  // lower-case, without "cap_" (e.g. "sys_admin")
};

struct DaemonOptions {
  // Where the vhost-user socket is created (or the inherited listening fd).
  std::string socket_path;
  std::optional<int> socket_fd;
  std::string socket_group;
  std::string backend = "passthrough";
  std::string shared_dir;
  std::string cache = "auto";
  // 0: requests run on their queue's thread.
  uint32_t thread_pool_size = 0;
  // Request queues (besides hiprio) the device offers in GET_QUEUE_NUM; each
  // queue the VMM starts gets its own worker thread.
  uint32_t max_request_queues = 8;
  // Longest adaptive polling window of a request queue worker, in µs (0: off).
  uint32_t queue_poll_max_us = 32;
  // --io-uring=auto|off: batch each queue wake's READs into one io_uring_enter.
  bool io_uring = true;
  // --host-page-cache=drop: keep guest file data out of the host page cache
  // (backends/passthrough/host_page_cache.h). Off by default, as in both
  // reference daemons, whose --cache modes only govern the guest's caching.
  bool drop_host_page_cache = false;
  LogLevel log_level = LogLevel::kInfo;
  bool readonly = false;
  bool xattr = false;
  bool allow_direct_io = false;
  bool writeback = false;
  bool announce_submounts = false;
  // --posix-acl implies --xattr (as Rust virtiofsd); so does --security-label.
  bool posix_acl = false;
  bool security_label = false;
  bool preserve_noatime = false;
  // Offer FUSE_HANDLE_KILLPRIV_V2 (off by default, as virtiofsd's --killpriv-v2).
  bool killpriv_v2 = false;
  // Offer FUSE_DIRECT_IO_ALLOW_MMAP (--allow-mmap, as Rust virtiofsd).
  bool allow_mmap = false;
  BackendConfig::InodeFileHandles inode_file_handles = BackendConfig::InodeFileHandles::kNever;
  // --translate-uid / --translate-gid, in command-line order (repeatable).
  std::vector<IdMapping> translate_uid;
  std::vector<IdMapping> translate_gid;
  SandboxMode sandbox = SandboxMode::kNamespace;
  SeccompAction seccomp = SeccompAction::kKill;
  std::vector<CapabilityChange> modcaps;
  // RLIMIT_NOFILE to set; unset: raise to min(1000000, fs.file-max - 16384)
  // if the current limit is lower, as virtiofsd does.
  std::optional<uint64_t> rlimit_nofile;
  bool print_capabilities = false;
  bool help = false;
  bool version = false;
};

// Checks what can be checked before starting: required flags present, the
// shared directory exists and is a directory, the backend is registered, the
// cache mode is known. Errors are one line for stderr.
absl::Status ValidateDaemonOptions(const DaemonOptions& options);

}  // namespace vfsd

#endif  // VFSD_DAEMON_DAEMON_OPTIONS_H_
