// The ACCESS decision for a caller the guest names by uid/gid.
//
// The daemon runs as host root, so asking the host (faccessat) as ourselves
// would grant everything. Switching fsuid/fsgid per thread would still
// leave the daemon's own supplementary groups in effect (the guest sends no
// supplementary groups at all). So ACCESS is decided here from the file's
// mode, owner and group as POSIX defines it for a process whose only group
// is the request's gid:
//   - uid 0: read and write always granted; execute only if some x bit is
//     set or the file is a directory (capabilities(7), CAP_DAC_OVERRIDE);
//   - owner: the user bits; else gid match: the group bits; else other bits.
// POSIX ACLs and supplementary groups are not considered: with virtio-fs
// the guest kernel checks permissions itself (default_permissions), so this
// only answers explicit access(2) calls. EROFS for W_OK on a read-only
// share is the backend's job (it knows the config).
#ifndef VFSD_BACKENDS_PASSTHROUGH_ACCESS_CHECK_H_
#define VFSD_BACKENDS_PASSTHROUGH_ACCESS_CHECK_H_

#include <cstdint>

#include "absl/status/status.h"
#include "backends/backend.h"

namespace vfsd {

// OK if `ctx` may access a file with `attr` as `mask` (F_OK or any of
// R_OK | W_OK | X_OK) asks; EACCES otherwise, EINVAL for unknown mask bits.
absl::Status CheckAccess(const Attr& attr, const RequestContext& ctx, uint32_t mask);

}  // namespace vfsd

#endif  // VFSD_BACKENDS_PASSTHROUGH_ACCESS_CHECK_H_
