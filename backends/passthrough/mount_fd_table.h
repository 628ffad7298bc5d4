// MountFdTable: one open fd per host mount that file handles came from,
// the `mount_fd` argument open_by_handle_at(2) needs to know which
// filesystem a handle belongs to.
//
// The fd is opened from the first node seen on that mount (its own file,
// so it is on the right mount by construction; no path and no
// /proc/self/mountinfo lookup is involved): a directory is opened with
// O_RDONLY|O_DIRECTORY, a regular file (a file bind mount) is re-opened
// O_RDONLY through /proc/self/fd. Other types (devices, FIFOs, sockets) are
// never opened, since opening has side effects: a node of such a type on a
// mount not yet seen gets no handle (ENOTSUP).
//
// Lifetime. Nodes hold their mount's fd by shared_ptr and the table only a
// weak_ptr, so the fd closes with the last node on that mount and a host
// administrator can unmount a submount the guest has forgotten (an open fd
// would keep it busy).
#ifndef VFSD_BACKENDS_PASSTHROUGH_MOUNT_FD_TABLE_H_
#define VFSD_BACKENDS_PASSTHROUGH_MOUNT_FD_TABLE_H_

#include <cstdint>
#include <memory>
#include <mutex>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "backends/passthrough/scoped_fd.h"

namespace vfsd {

class MountFdTable {
 public:
  // `proc_self_fd`: an O_PATH fd on /proc/self/fd (re-opening file nodes).
  explicit MountFdTable(int proc_self_fd) : proc_self_fd_(proc_self_fd) {}

  MountFdTable(const MountFdTable&) = delete;
  MountFdTable& operator=(const MountFdTable&) = delete;

  // The fd of mount `mount_id`, opened from `node_fd` (an O_PATH fd of type
  // `type`, S_IFMT bits, on that mount) if no live node holds one yet.
  absl::StatusOr<std::shared_ptr<const ScopedFd>> Get(int mount_id, int node_fd, uint32_t type);

  // Mounts with a live fd (for tests).
  size_t size() const;

 private:
  const int proc_self_fd_;
  mutable std::mutex mu_;
  absl::flat_hash_map<int, std::weak_ptr<const ScopedFd>> by_mount_;  // guarded by mu_
};

}  // namespace vfsd

#endif  // VFSD_BACKENDS_PASSTHROUGH_MOUNT_FD_TABLE_H_
