// ScopedFsCredentials: runs a host filesystem call as the guest caller.
//
// Files the guest creates must belong to the guest's uid/gid, and the host
// must check permissions as that caller, not as the (root) daemon. Linux
// keeps a per-thread filesystem uid/gid (setfsuid(2)/setfsgid(2)) used for
// exactly these checks; the raw syscalls change only the calling thread
// (glibc's setuid() family would broadcast to every thread). Moving fsuid
// away from 0 also clears the thread's filesystem capabilities
// (CAP_DAC_OVERRIDE, CAP_FOWNER, CAP_FSETID, CAP_MKNOD, ...; see
// capabilities(7)), so the host enforces permissions as for that user.
//
// Limits: the daemon's own supplementary groups stay in effect (FUSE sends
// none for the caller). Switching is only possible with CAP_SETUID and
// CAP_SETGID; an unprivileged daemon creates files as itself (as virtiofsd
// does when not run as root), which `enabled = false` selects.
#ifndef VFSD_BACKENDS_PASSTHROUGH_FS_CREDENTIALS_H_
#define VFSD_BACKENDS_PASSTHROUGH_FS_CREDENTIALS_H_

#include <sys/types.h>

#include "absl/status/status.h"
#include "backends/backend.h"

namespace vfsd {

class ScopedFsCredentials {
 public:
  // Switches the calling thread's fsgid then fsuid to the caller's when
  // `enabled`; check status() before relying on it.
  ScopedFsCredentials(const RequestContext& ctx, bool enabled);
  // Restores fsuid then fsgid to the values saved at construction.
  ~ScopedFsCredentials();

  ScopedFsCredentials(const ScopedFsCredentials&) = delete;
  ScopedFsCredentials& operator=(const ScopedFsCredentials&) = delete;

  // EPERM if the switch did not take effect (missing capabilities).
  const absl::Status& status() const { return status_; }

 private:
  bool switched_uid_ = false;
  bool switched_gid_ = false;
  uid_t saved_uid_ = 0;
  gid_t saved_gid_ = 0;
  absl::Status status_;
};

// Gives the calling thread its own filesystem context (unshare(CLONE_FS):
// cwd, root and umask) with umask 0, once per thread. Creation calls then
// apply exactly the mode the guest computed with its own umask, without
// changing the process umask, which would also loosen every file and socket
// the rest of the daemon creates (the vhost-user socket among them). The
// approach of virtiofsd. Cheap after the first call on a thread.
absl::Status EnsureThreadUmaskZero();

}  // namespace vfsd

#endif  // VFSD_BACKENDS_PASSTHROUGH_FS_CREDENTIALS_H_
