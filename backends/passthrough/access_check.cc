#include "backends/passthrough/access_check.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "backends/errno_status.h"

namespace vfsd {

absl::Status CheckAccess(const Attr& attr, const RequestContext& ctx, uint32_t mask) {
  if (mask & ~static_cast<uint32_t>(R_OK | W_OK | X_OK)) {
    return ErrnoStatus(EINVAL, "access mask");
  }
  if (mask == F_OK) return absl::OkStatus();
  if (ctx.uid == 0) {
    if ((mask & X_OK) && !S_ISDIR(attr.mode) && (attr.mode & (S_IXUSR | S_IXGRP | S_IXOTH)) == 0) {
      return ErrnoStatus(EACCES, "access: no execute bit");
    }
    return absl::OkStatus();
  }
  uint32_t granted;  // in R_OK/W_OK/X_OK bit positions (4/2/1), like rwx
  if (ctx.uid == attr.uid) {
    granted = (attr.mode >> 6) & 7;
  } else if (ctx.gid == attr.gid) {
    granted = (attr.mode >> 3) & 7;
  } else {
    granted = attr.mode & 7;
  }
  if ((mask & granted) != mask) return ErrnoStatus(EACCES, "access");
  return absl::OkStatus();
}

}  // namespace vfsd
