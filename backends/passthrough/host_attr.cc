#include "backends/passthrough/host_attr.h"

#include <sys/sysmacros.h>

#include <cerrno>

#include "backends/errno_status.h"

namespace vfsd {

absl::StatusOr<struct statx> StatxFd(int fd) {
  struct statx stx;
  if (::statx(fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW | AT_STATX_SYNC_AS_STAT,
              STATX_BASIC_STATS | STATX_MNT_ID, &stx) != 0) {
    return ErrnoFromLastError("statx");
  }
  return stx;
}

InodeKey KeyFromStatx(const struct statx& stx) {
  InodeKey key;
  key.dev = makedev(stx.stx_dev_major, stx.stx_dev_minor);
  key.ino = stx.stx_ino;
  key.mnt_id = (stx.stx_mask & STATX_MNT_ID) ? stx.stx_mnt_id : 0;
  return key;
}

Attr AttrFromStatx(const struct statx& stx) {
  Attr attr;
  attr.ino = stx.stx_ino;
  attr.size = stx.stx_size;
  attr.blocks = stx.stx_blocks;
  attr.atime = {stx.stx_atime.tv_sec, stx.stx_atime.tv_nsec};
  attr.mtime = {stx.stx_mtime.tv_sec, stx.stx_mtime.tv_nsec};
  attr.ctime = {stx.stx_ctime.tv_sec, stx.stx_ctime.tv_nsec};
  attr.mode = stx.stx_mode;
  attr.nlink = stx.stx_nlink;
  attr.uid = stx.stx_uid;
  attr.gid = stx.stx_gid;
  // FUSE carries rdev in the old 32-bit encoding (new_encode_dev in the
  // guest kernel's fuse_attr handling), which makedev() produces for
  // major < 4096 and minor < 2^20.
  attr.rdev = static_cast<uint32_t>(makedev(stx.stx_rdev_major, stx.stx_rdev_minor));
  attr.blksize = stx.stx_blksize;
  return attr;
}

}  // namespace vfsd
