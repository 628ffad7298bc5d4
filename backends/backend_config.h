// Backend-independent settings of one share, filled by daemon/ from flags or
// a share config and handed to the backend's factory.
#ifndef VFSD_BACKENDS_BACKEND_CONFIG_H_
#define VFSD_BACKENDS_BACKEND_CONFIG_H_

#include <cstdint>
#include <string>

namespace vfsd {

struct BackendConfig {
  // passthrough: the host directory to share (must exist and be a directory).
  std::string shared_dir;
  // Refuse every modifying operation with EROFS.
  bool readonly = false;
  // Serve extended attributes (otherwise xattr ops answer ENOSYS, which the
  // guest caches as "not supported").
  bool xattr = false;
  // Honour O_DIRECT from the guest (otherwise it is dropped, as virtiofsd does).
  bool allow_direct_io = false;
};

}  // namespace vfsd

#endif  // VFSD_BACKENDS_BACKEND_CONFIG_H_
