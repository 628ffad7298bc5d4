// Reading a host file's attributes for the guest: statx on a node or handle
// fd, converted to the backend-neutral Attr and the InodeKey that identifies
// the file in the InodeTable.
#ifndef VFSD_BACKENDS_PASSTHROUGH_HOST_ATTR_H_
#define VFSD_BACKENDS_PASSTHROUGH_HOST_ATTR_H_

#include <fcntl.h>
#include <sys/stat.h>

#include "absl/status/statusor.h"
#include "backends/backend.h"
#include "backends/passthrough/inode_table.h"

namespace vfsd {

// statx(fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) for the basic fields
// plus the mount id. Works on O_PATH fds, so it never opens the file (no
// side effects on FIFOs or devices) and never follows a symlink.
absl::StatusOr<struct statx> StatxFd(int fd);

// The table key of the file `stx` describes; mnt_id is 0 when the kernel did
// not report STATX_MNT_ID.
InodeKey KeyFromStatx(const struct statx& stx);

// The attributes to report to the guest.
Attr AttrFromStatx(const struct statx& stx);

}  // namespace vfsd

#endif  // VFSD_BACKENDS_PASSTHROUGH_HOST_ATTR_H_
