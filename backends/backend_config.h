// Backend-independent settings of one share, filled by daemon/ from flags or
// a share config and handed to the backend's factory.
#ifndef VFSD_BACKENDS_BACKEND_CONFIG_H_
#define VFSD_BACKENDS_BACKEND_CONFIG_H_

#include <cstdint>
#include <string>

namespace vfsd {

struct BackendConfig {
  // passthrough: io_uring rings for batching READs (one per queue thread
  // that can batch at once; 0: every READ is its own preadv).
  uint32_t read_rings = 0;
  // passthrough: the host directory to share (must exist and be a directory).
  std::string shared_dir;
  // Refuse every modifying operation with EROFS.
  bool readonly = false;
  // Serve extended attributes (otherwise xattr ops answer ENOSYS, which the
  // guest caches as "not supported").
  bool xattr = false;
  // Honour O_DIRECT from the guest (otherwise it is dropped, as virtiofsd does).
  bool allow_direct_io = false;
  // Let file data stay in the host page cache after the backend served it.
  // false with cache=never: the backend drops it (backends that have a host
  // page cache; see backends/passthrough/host_page_cache.h), so a guest does
  // not grow the host's memory footprint.
  bool host_page_cache = true;
  // Honour POSIX ACLs (system.posix_acl_* xattrs, FUSE_POSIX_ACL): the guest
  // kernel enforces them and the backend keeps mode and ACL consistent
  // (setgid cleared on ACL change as SETXATTR_EXT asks). Needs `xattr`.
  bool posix_acl = false;
  // Open files with O_NOATIME where the host allows it (file owner or
  // CAP_FOWNER), so reads by the guest do not update host atimes.
  bool preserve_noatime = false;
  // Report host mount points inside the share as submounts (FUSE_ATTR_SUBMOUNT)
  // so the guest gives each its own st_dev.
  bool announce_submounts = false;
  // Apply the security context (e.g. an SELinux label) the guest sends with
  // CREATE/MKDIR/MKNOD/SYMLINK/TMPFILE (FUSE_SECURITY_CTX).
  bool security_label = false;

  // How the passthrough backend identifies and re-opens inodes, as Rust
  // virtiofsd's --inode-file-handles: `never` holds an O_PATH fd per inode the
  // guest knows; `prefer` holds a file handle (name_to_handle_at) where the
  // host filesystem and CAP_DAC_READ_SEARCH allow it and falls back to an fd;
  // `mandatory` refuses to start (or to serve an inode) without handles.
  enum class InodeFileHandles { kNever, kPrefer, kMandatory };
  InodeFileHandles inode_file_handles = InodeFileHandles::kNever;
};

}  // namespace vfsd

#endif  // VFSD_BACKENDS_BACKEND_CONFIG_H_
