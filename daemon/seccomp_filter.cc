#include "daemon/seccomp_filter.h"

#include <fcntl.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <string.h>
#include <ucontext.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "glog/logging.h"

namespace vfsd {
namespace {

// Grouped by who needs them. Built from what the code calls (grep of
// transport/, protocol/, backends/passthrough/, daemon/) and checked with
// strace -f over the integration tests; docs/security.md says how to extend
// it (--seccomp=trap prints what is refused).
const char* const kAllowed[] = {
    // Memory, threads, signals, time: glibc, libstdc++, abseil, glog.
    "brk", "mmap", "munmap", "mremap", "mprotect", "madvise", "membarrier",
    "clone", "clone3", "set_robust_list", "get_robust_list", "rseq", "set_tid_address",
    "futex", "futex_waitv", "sched_yield", "sched_getaffinity", "exit", "exit_group",
    "getpid", "gettid", "getppid", "tgkill", "rt_sigaction", "rt_sigprocmask",
    "rt_sigreturn", "rt_sigtimedwait", "sigaltstack", "restart_syscall", "nanosleep",
    "clock_nanosleep", "clock_gettime", "clock_getres", "gettimeofday", "time", "getrandom",
    "uname", "getuid", "geteuid", "getgid", "getegid", "getcwd", "prlimit64", "getrlimit",
    "prctl",  // glibc names threads; PR_SET_* of no consequence after no_new_privs
    // Generic fd I/O (glog writes to stderr; the transport reads and writes
    // eventfds and the vhost-user socket).
    "read", "write", "readv", "writev", "close", "close_range", "dup", "dup3", "fcntl",
    "lseek", "pipe2",
    // Transport: vhost-user messages with fds, guest memory, kicks and calls.
    "recvmsg", "sendmsg", "recvfrom", "sendto", "accept", "accept4", "shutdown", "getsockopt",
    "eventfd2", "poll", "ppoll", "epoll_create1", "epoll_ctl", "epoll_wait", "epoll_pwait",
    "epoll_pwait2",
    // Passthrough backend: lookups and reopen through /proc/self/fd.
    "openat", "openat2", "newfstatat", "fstat", "statx", "fstatfs", "statfs", "readlinkat",
    "getdents64", "faccessat", "faccessat2",
    // Passthrough backend: --inode-file-handles (nodes kept by file handle,
    // re-opened on an fd-cache miss; handles are only ever made from fds the
    // backend resolved under the share, see docs/security.md).
    "name_to_handle_at", "open_by_handle_at",
    // Passthrough backend: data.
    "pread64", "pwrite64", "preadv", "pwritev", "preadv2", "pwritev2", "copy_file_range",
    // Passthrough backend: batched READs (read_ring.h). Only entering rings
    // made before this filter: io_uring_setup/register stay forbidden, and
    // the rings are restricted to IORING_OP_READV.
    "io_uring_enter",
    "fallocate", "fsync", "fdatasync", "syncfs", "ftruncate", "truncate", "fadvise64", "flock",
    // Passthrough backend: namespace changes.
    "mkdirat", "mknodat", "symlinkat", "linkat", "unlinkat", "renameat", "renameat2",
    // Passthrough backend: attributes.
    "fchmod", "fchmodat", "fchown", "fchownat", "utimensat", "umask",
    "getxattr", "setxattr", "listxattr", "removexattr", "fgetxattr", "fsetxattr", "flistxattr",
    "fremovexattr", "lgetxattr",
    // Passthrough backend: act with the guest caller's credentials
    // (setfsuid/setfsgid per request). unshare is allowed separately, and
    // only for CLONE_FS (per-thread umask/cwd): new namespaces stay closed.
    "setfsuid", "setfsgid", "setresuid", "setresgid", "fchdir",
    // Transport: checks that kick/call fds are eventfds with readlink of
    // "/proc/self/fd/N"; after pivot_root that path is inside the share and
    // it fails with ENOENT (the transport then takes the fd on trust).
    "readlink",
};

void TrapHandler(int, siginfo_t* info, void* context) {
  // Async-signal-safe: snprintf into a stack buffer is fine in practice for
  // integers, write(2) is safe.
  char line[96];
  int n = snprintf(line, sizeof(line), "vfsd: seccomp refused syscall %d\n", info->si_syscall);
  if (n > 0) (void)!write(STDERR_FILENO, line, static_cast<size_t>(n));
#if defined(__x86_64__)
  // Make the syscall fail with ENOSYS and carry on.
  static_cast<ucontext_t*>(context)->uc_mcontext.gregs[REG_RAX] = -ENOSYS;
#else
  (void)context;
  _exit(159);
#endif
}

absl::Status LibseccompError(int rc, const char* what) {
  return absl::InternalError(absl::StrCat("seccomp: ", what, ": ", strerror(-rc)));
}

}  // namespace

const std::vector<const char*>& AllowedSyscalls() {
  static const auto* names = new std::vector<const char*>(std::begin(kAllowed), std::end(kAllowed));
  return *names;
}

absl::StatusOr<SeccompFilter> SeccompFilter::Build(SeccompAction action) {
  uint32_t default_action;
  switch (action) {
    case SeccompAction::kKill:
      default_action = SCMP_ACT_KILL_PROCESS;
      break;
    case SeccompAction::kLog:
      default_action = SCMP_ACT_LOG;
      break;
    case SeccompAction::kTrap:
      default_action = SCMP_ACT_TRAP;
      break;
    default:
      return absl::InvalidArgumentError("seccomp: no filter for --seccomp=none");
  }
  scmp_filter_ctx ctx = seccomp_init(default_action);
  if (ctx == nullptr) return absl::InternalError("seccomp: seccomp_init failed");
  SeccompFilter filter(ctx);
  // Threads started before the filter (the signal thread) get it too.
  if (int rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1); rc != 0) {
    return LibseccompError(rc, "TSYNC");
  }
  for (const char* name : AllowedSyscalls()) {
    const int nr = seccomp_syscall_resolve_name(name);
    if (nr == __NR_SCMP_ERROR) continue;  // not on this architecture
    if (int rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0); rc != 0) {
      return LibseccompError(rc, name);
    }
    filter.allowed_.push_back(nr);
  }
  // unshare(CLONE_FS) only: the passthrough gives each thread its own umask.
  const int unshare_nr = seccomp_syscall_resolve_name("unshare");
  if (int rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, unshare_nr, 1,
                                SCMP_A0(SCMP_CMP_EQ, static_cast<scmp_datum_t>(CLONE_FS)));
      rc != 0) {
    return LibseccompError(rc, "unshare(CLONE_FS)");
  }
  return filter;
}

SeccompFilter::~SeccompFilter() {
  if (ctx_ != nullptr) seccomp_release(static_cast<scmp_filter_ctx>(ctx_));
}

bool SeccompFilter::Allows(const char* syscall_name) const {
  const int nr = seccomp_syscall_resolve_name(syscall_name);
  if (nr == __NR_SCMP_ERROR) return false;
  for (int allowed : allowed_) {
    if (allowed == nr) return true;
  }
  return false;
}

absl::StatusOr<size_t> SeccompFilter::BpfInstructionCount() const {
  // seccomp_export_bpf writes to an fd: a pipe is enough for our size.
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return absl::InternalError("seccomp: pipe");
  const int rc = seccomp_export_bpf(static_cast<scmp_filter_ctx>(ctx_), fds[1]);
  close(fds[1]);
  size_t bytes = 0;
  char buf[4096];
  for (ssize_t n; (n = read(fds[0], buf, sizeof(buf))) > 0;) bytes += static_cast<size_t>(n);
  close(fds[0]);
  if (rc != 0) return LibseccompError(rc, "export");
  return bytes / 8;  // struct sock_filter is 8 bytes
}

absl::Status SeccompFilter::Load() {
  if (int rc = seccomp_load(static_cast<scmp_filter_ctx>(ctx_)); rc != 0) {
    return LibseccompError(rc, "load");
  }
  return absl::OkStatus();
}

absl::Status InstallSeccompFilter(SeccompAction action) {
  if (action == SeccompAction::kNone) return absl::OkStatus();
  absl::StatusOr<SeccompFilter> filter = SeccompFilter::Build(action);
  if (!filter.ok()) return filter.status();
  if (action == SeccompAction::kTrap) {
    struct sigaction sa = {};
    sa.sa_sigaction = TrapHandler;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGSYS, &sa, nullptr) != 0) {
      return absl::InternalError(absl::StrCat("seccomp: SIGSYS handler: ", strerror(errno)));
    }
  }
  if (absl::Status status = filter->Load(); !status.ok()) return status;
  LOG(INFO) << "seccomp filter installed (" << AllowedSyscalls().size() << " syscalls allowed)";
  return absl::OkStatus();
}

}  // namespace vfsd
