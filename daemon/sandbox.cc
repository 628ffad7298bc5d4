#include "daemon/sandbox.h"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "backends/errno_status.h"
#include "glog/logging.h"

namespace vfsd {
namespace {

absl::Status SysError(const std::string& what) {
  const int err = errno;
  return ErrnoStatus(err, absl::StrCat("sandbox: ", what, ": ", strerror(err)));
}

// Closes an fd on scope exit.
struct FdCloser {
  int fd;
  ~FdCloser() {
    if (fd >= 0) close(fd);
  }
};

// The child's side of the namespace sandbox: mounts, then pivot_root.
absl::Status SetUpMountNamespace(const std::string& shared_dir, const SandboxHooks& hooks) {
  // Nothing we mount or unmount from here on may propagate back to the host
  // (MS_SLAVE, not MS_PRIVATE: the host's later unmounts, e.g. of a removed
  // USB disk under the share, still reach us, as virtiofsd chose).
  if (mount(nullptr, "/", nullptr, MS_SLAVE | MS_REC, nullptr) != 0) {
    return SysError("making mounts slave");
  }
  // A /proc of the new pid namespace: /proc/self/fd is what the passthrough
  // backend reopens O_PATH fds through; the fd it opens here survives the
  // pivot (the detached mount lives as long as an fd references it).
  if (mount("proc", "/proc", "proc", MS_NODEV | MS_NOEXEC | MS_NOSUID | MS_RELATIME, nullptr) !=
      0) {
    return SysError("mounting /proc");
  }
  // pivot_root needs the new root to be a mount point.
  if (mount(shared_dir.c_str(), shared_dir.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0) {
    return SysError(absl::StrCat("bind-mounting '", shared_dir, "' onto itself"));
  }
  if (absl::Status status = hooks.before_root_change(); !status.ok()) return status;

  FdCloser old_root{open("/", O_DIRECTORY | O_RDONLY | O_CLOEXEC)};
  if (old_root.fd < 0) return SysError("opening /");
  FdCloser new_root{open(shared_dir.c_str(), O_DIRECTORY | O_RDONLY | O_CLOEXEC)};
  if (new_root.fd < 0) return SysError(absl::StrCat("opening '", shared_dir, "'"));
  // pivot_root(".", "."): the old root ends up stacked on "/"; unmounting it
  // (lazily: our own fds may still pin it) leaves the share as the only tree
  // (pivot_root(2), "new_root and put_old may be the same directory").
  if (fchdir(new_root.fd) != 0) return SysError("fchdir to the share");
  if (syscall(SYS_pivot_root, ".", ".") != 0) return SysError("pivot_root");
  if (fchdir(old_root.fd) != 0) return SysError("fchdir to the old root");
  if (mount(nullptr, ".", nullptr, MS_SLAVE | MS_REC, nullptr) != 0) {
    return SysError("making the old root slave");
  }
  if (umount2(".", MNT_DETACH) != 0) return SysError("unmounting the old root");
  if (chdir("/") != 0) return SysError("chdir /");
  return absl::OkStatus();
}

// The parent's side: forward termination signals, reap, exit with the
// child's status. Never returns.
[[noreturn]] void SuperviseChild(pid_t child, const sigset_t& waited, const SandboxHooks& hooks) {
  for (;;) {
    siginfo_t info;
    if (sigwaitinfo(&waited, &info) < 0) continue;  // EINTR
    if (info.si_signo != SIGCHLD) {
      // The child is pid 1 of its namespace: it only sees signals it blocks
      // or handles, which the daemon does for SIGINT/SIGTERM.
      kill(child, info.si_signo == SIGHUP ? SIGTERM : info.si_signo);
      continue;
    }
    int status = 0;
    pid_t reaped = waitpid(child, &status, WNOHANG);
    if (reaped != child) continue;
    hooks.after_child_exit();
    if (WIFEXITED(status)) _exit(WEXITSTATUS(status));
    if (WIFSIGNALED(status)) {
      std::fprintf(stderr, "vfsd: sandboxed daemon killed by signal %d (%s)%s\n",
                   WTERMSIG(status), strsignal(WTERMSIG(status)),
                   WTERMSIG(status) == SIGSYS ? ": a syscall outside the seccomp allowlist" : "");
      _exit(128 + WTERMSIG(status));
    }
    _exit(1);
  }
}

absl::Status EnterNamespaceSandbox(const std::string& shared_dir, const SandboxHooks& hooks) {
  // virtiofsd's set without a user namespace (we run as root or with
  // CAP_SYS_ADMIN): a mount namespace for pivot_root, a pid namespace so
  // /proc shows no host process, a network namespace with only "lo" (the
  // vhost-user socket is already bound and lives in the filesystem).
  if (unshare(CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWNET) != 0) {
    const int err = errno;
    if (err == EPERM) {
      return ErrnoStatus(err,
                         "sandbox: creating namespaces needs root (CAP_SYS_ADMIN); use "
                         "--sandbox=chroot or --sandbox=none");
    }
    return SysError(err == EINVAL ? "unshare (is the process multithreaded?)"
                                  : "unshare(CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWNET)");
  }
  sigset_t waited, old_mask;
  sigemptyset(&waited);
  sigaddset(&waited, SIGCHLD);
  sigaddset(&waited, SIGINT);
  sigaddset(&waited, SIGTERM);
  sigaddset(&waited, SIGHUP);
  // Block before forking so that a signal that arrives meanwhile stays
  // pending for the parent's sigwaitinfo instead of being lost.
  pthread_sigmask(SIG_BLOCK, &waited, &old_mask);
  // The parent holds the write end open for its lifetime: the child's only
  // way to see whether it died before PR_SET_PDEATHSIG took effect
  // (getppid() is 0 across the pid namespace boundary).
  int alive[2];
  if (pipe2(alive, O_CLOEXEC) != 0) return SysError("pipe");
  const pid_t child = fork();
  if (child < 0) return SysError("fork");
  if (child > 0) {
    close(alive[0]);
    SuperviseChild(child, waited, hooks);
  }

  // Child. Dies with its supervisor (e.g. SIGKILLed by a test harness or
  // libvirt) instead of serving on, orphaned.
  close(alive[1]);
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) return SysError("prctl(PR_SET_PDEATHSIG)");
  struct pollfd parent_alive = {alive[0], POLLIN, 0};
  if (poll(&parent_alive, 1, 0) != 0) _exit(1);  // EOF: the parent already died
  close(alive[0]);
  // Back to the caller's mask (SIGINT/SIGTERM stay blocked for its signal
  // thread; SIGCHLD/SIGHUP are the parent's business).
  pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
  return SetUpMountNamespace(shared_dir, hooks);
}

}  // namespace

absl::Status EnterSandbox(SandboxMode mode, const std::string& shared_dir,
                          const SandboxHooks& hooks) {
  switch (mode) {
    case SandboxMode::kNone:
      return hooks.before_root_change();
    case SandboxMode::kChroot:
      if (absl::Status status = hooks.before_root_change(); !status.ok()) return status;
      if (chroot(shared_dir.c_str()) != 0) return SysError(absl::StrCat("chroot '", shared_dir, "'"));
      if (chdir("/") != 0) return SysError("chdir /");
      return absl::OkStatus();
    case SandboxMode::kNamespace:
      return EnterNamespaceSandbox(shared_dir, hooks);
  }
  return absl::InvalidArgumentError("sandbox: unknown mode");
}

}  // namespace vfsd
