#include "backends/passthrough/fs_credentials.h"

#include <sched.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

#include "backends/errno_status.h"
#include "glog/logging.h"

namespace vfsd {
namespace {

// setfsuid/setfsgid return the previous id and never fail visibly; asking
// with an invalid id (-1) changes nothing and returns the current one.
uid_t CurrentFsUid() { return static_cast<uid_t>(::syscall(SYS_setfsuid, -1)); }
gid_t CurrentFsGid() { return static_cast<gid_t>(::syscall(SYS_setfsgid, -1)); }

}  // namespace

ScopedFsCredentials::ScopedFsCredentials(const RequestContext& ctx, bool enabled) {
  if (!enabled) return;
  saved_gid_ = CurrentFsGid();
  saved_uid_ = CurrentFsUid();
  // gid first: it needs CAP_SETGID, which changing fsuid does not drop, but
  // the conventional order keeps that reasoning unnecessary.
  if (ctx.gid != saved_gid_) {
    ::syscall(SYS_setfsgid, ctx.gid);
    switched_gid_ = true;
    if (CurrentFsGid() != ctx.gid) {
      status_ = ErrnoStatus(EPERM, "setfsgid");
      return;
    }
  }
  if (ctx.uid != saved_uid_) {
    ::syscall(SYS_setfsuid, ctx.uid);
    switched_uid_ = true;
    if (CurrentFsUid() != ctx.uid) status_ = ErrnoStatus(EPERM, "setfsuid");
  }
}

absl::Status EnsureThreadUmaskZero() {
  thread_local bool done = false;
  if (done) return absl::OkStatus();
  if (::unshare(CLONE_FS) != 0) return ErrnoFromLastError("unshare(CLONE_FS)");
  ::umask(0);
  done = true;
  return absl::OkStatus();
}

ScopedFsCredentials::~ScopedFsCredentials() {
  if (switched_uid_) ::syscall(SYS_setfsuid, saved_uid_);
  if (switched_gid_) ::syscall(SYS_setfsgid, saved_gid_);
  // A worker thread left with a guest's fsuid would serve the next request
  // with the wrong identity; that is a daemon bug, not guest input.
  if (switched_uid_) CHECK_EQ(CurrentFsUid(), saved_uid_) << "could not restore fsuid";
  if (switched_gid_) CHECK_EQ(CurrentFsGid(), saved_gid_) << "could not restore fsgid";
}

}  // namespace vfsd
