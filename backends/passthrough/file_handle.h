// FileHandle: a host file's persistent identity (name_to_handle_at(2)), the
// way a passthrough node is kept with --inode-file-handles=prefer|mandatory
// instead of an open O_PATH fd, and re-opened with open_by_handle_at(2).
//
// Trust. open_by_handle_at can open *any* inode of the filesystem behind
// the mount fd, inside the share or not (hence CAP_DAC_READ_SEARCH). So a
// handle is only ever created here, by name_to_handle_at on an fd the
// backend itself resolved under the share; handles never come from, or go
// to, the guest (FUSE node ids stay table keys).
//
// Generations. A handle encodes the inode generation (on filesystems that
// have one), so a handle whose file was deleted and whose inode number was
// reused opens nothing (ESTALE) instead of the new file.
#ifndef VFSD_BACKENDS_PASSTHROUGH_FILE_HANDLE_H_
#define VFSD_BACKENDS_PASSTHROUGH_FILE_HANDLE_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "backends/passthrough/scoped_fd.h"

namespace vfsd {

class FileHandle {
 public:
  // name_to_handle_at(fd, "", AT_EMPTY_PATH) on an O_PATH fd. Errors keep
  // the kernel's errno: EOPNOTSUPP for a filesystem without export support
  // (e.g. procfs), EOVERFLOW never (MAX_HANDLE_SZ is always offered).
  static absl::StatusOr<FileHandle> ForFd(int fd);

  // open_by_handle_at(mount_fd, handle, flags | O_CLOEXEC). `mount_fd` is
  // any non-O_PATH fd on the mount the handle came from (the kernel refuses
  // O_PATH fds there with EBADF). ESTALE: the file is gone; EPERM: no
  // CAP_DAC_READ_SEARCH.
  absl::StatusOr<ScopedFd> Open(int mount_fd, int flags) const;

  // The mount id name_to_handle_at reported (the same id as statx's
  // STATX_MNT_ID and /proc/self/mountinfo).
  int mount_id() const { return mount_id_; }
  int type() const { return type_; }
  const std::string& bytes() const { return bytes_; }

  friend bool operator==(const FileHandle& a, const FileHandle& b) {
    return a.mount_id_ == b.mount_id_ && a.type_ == b.type_ && a.bytes_ == b.bytes_;
  }
  friend bool operator!=(const FileHandle& a, const FileHandle& b) { return !(a == b); }

 private:
  FileHandle(int mount_id, int type, std::string bytes)
      : mount_id_(mount_id), type_(type), bytes_(std::move(bytes)) {}

  int mount_id_;
  int type_;
  // The opaque f_handle bytes (8 for ext4, about 20 for btrfs/xfs): short
  // enough for std::string's inline buffer on the common filesystems.
  std::string bytes_;
};

}  // namespace vfsd

#endif  // VFSD_BACKENDS_PASSTHROUGH_FILE_HANDLE_H_
