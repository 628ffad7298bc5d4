// The filesystem sandbox vfsd enters before it serves a guest (--sandbox),
// modelled on Rust virtiofsd's: after it, "/" is the shared directory and
// nothing else of the host's filesystem can be named. docs/security.md has
// the whole sequence and why each step is there.
#ifndef VFSD_DAEMON_SANDBOX_H_
#define VFSD_DAEMON_SANDBOX_H_

#include <string>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "daemon/daemon_options.h"

namespace vfsd {

struct SandboxHooks {
  // Runs once the share is reachable at its host path in the sandbox's view
  // (bind-mounted, with a fresh /proc of the new pid namespace mounted) and
  // just before the root changes. This is where fds that must outlive the
  // root change are opened: the backend's root and /proc/self/fd.
  absl::FunctionRef<absl::Status()> before_root_change;
  // namespace mode only: runs in the (unsandboxed) parent after the
  // sandboxed child exited, before the parent exits with its status.
  absl::FunctionRef<void()> after_child_exit;
};

// Enters `mode`'s sandbox rooted at `shared_dir`. Must be called while the
// process has a single thread (unshare(CLONE_NEWNS) refuses otherwise) and
// with SIGINT/SIGTERM blocked.
//
// kNamespace: unshare(CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWNET) and fork,
//   as virtiofsd does. Only the child returns (as pid 1 of the new pid
//   namespace); the parent stays outside, forwards SIGINT/SIGTERM/SIGHUP to
//   the child, reaps it and exits with its exit status (128+N if signal N
//   killed it). The child dies with SIGKILL if the parent goes away.
// kChroot: chroot(2) + chdir("/") in this process.
// kNone: only runs before_root_change.
// Errors are one line for stderr.
absl::Status EnterSandbox(SandboxMode mode, const std::string& shared_dir,
                          const SandboxHooks& hooks);

}  // namespace vfsd

#endif  // VFSD_DAEMON_SANDBOX_H_
