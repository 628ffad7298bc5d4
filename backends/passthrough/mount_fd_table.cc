#include "backends/passthrough/mount_fd_table.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdio>

#include "backends/errno_status.h"

namespace vfsd {

absl::StatusOr<std::shared_ptr<const ScopedFd>> MountFdTable::Get(int mount_id, int node_fd,
                                                                   uint32_t type) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = by_mount_.find(mount_id);
  if (it != by_mount_.end()) {
    if (std::shared_ptr<const ScopedFd> fd = it->second.lock()) return fd;
  }
  // Opening under the lock: it happens once per mount, and a second opener
  // of the same mount would only have to close its fd again.
  int fd;
  if (type == S_IFDIR) {
    do {
      fd = ::openat(node_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    } while (fd < 0 && errno == EINTR);
  } else if (type == S_IFREG) {
    char name[16];
    std::snprintf(name, sizeof(name), "%d", node_fd);
    do {
      fd = ::openat(proc_self_fd_, name, O_RDONLY | O_NOCTTY | O_CLOEXEC);
    } while (fd < 0 && errno == EINTR);
  } else {
    return ErrnoStatus(EOPNOTSUPP, "no fd for a new mount: its first node is not a directory "
                                   "or regular file");
  }
  if (fd < 0) return ErrnoFromLastError("open mount fd");
  auto shared = std::make_shared<const ScopedFd>(fd);
  by_mount_[mount_id] = shared;
  // Drop entries of mounts whose last node is gone, so the map stays the
  // size of the mounts in use.
  for (auto entry = by_mount_.begin(); entry != by_mount_.end();) {
    if (entry->second.expired()) {
      by_mount_.erase(entry++);
    } else {
      ++entry;
    }
  }
  return shared;
}

size_t MountFdTable::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  size_t live = 0;
  for (const auto& entry : by_mount_) live += entry.second.expired() ? 0 : 1;
  return live;
}

}  // namespace vfsd
