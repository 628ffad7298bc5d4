// FUSE_INIT negotiation: which protocol minor and capability flags the
// session uses with this guest, and what the backend must be told.
//
// Kept apart from the session so the negotiation rules (version handling,
// "offer a flag only if the guest offered it", old minors' short reply) are
// a pure function that tests can drive directly.
#ifndef VFSD_PROTOCOL_FUSE_INIT_H_
#define VFSD_PROTOCOL_FUSE_INIT_H_

#include <linux/fuse.h>

#include <cstddef>
#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "backends/backend.h"
#include "protocol/fuse_session_options.h"

namespace vfsd {

// The oldest and newest protocol minors this daemon speaks (major 7).
inline constexpr uint32_t kFuseMajor = FUSE_KERNEL_VERSION;
inline constexpr uint32_t kFuseMaxMinor = FUSE_KERNEL_MINOR_VERSION;
// The smallest max_write advertised (one 4 KiB page).
inline constexpr uint32_t kMinMaxWrite = 4096;

// What every request decoder needs to know about the negotiated session.
struct NegotiatedProtocol {
  uint32_t minor = 0;
  bool submounts = false;     // report FUSE_ATTR_SUBMOUNT in attributes
  bool setxattr_ext = false;  // SETXATTR carries the 16-byte fuse_setxattr_in
};

struct InitReply {
  // Only the first `size` bytes are sent (shorter for old minors).
  fuse_init_out out = {};
  size_t size = 0;
  // False when the guest's major is newer than ours: the reply only tells
  // it our version and the guest sends a second INIT (libfuse's rule).
  bool initialised = false;
  NegotiatedProtocol protocol;
  SessionOptions backend_options;
};

// Decides the reply to an INIT whose arguments are `args`. Errors carry the
// reply's errno: EINVAL if too short, EPROTO for major < 7.
absl::StatusOr<InitReply> NegotiateInit(absl::string_view args, const FuseSessionOptions& options);

}  // namespace vfsd

#endif  // VFSD_PROTOCOL_FUSE_INIT_H_
