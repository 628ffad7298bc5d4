// Validation of one path component received from the guest.
//
// Every name the guest sends (LOOKUP, MKDIR, ...) is resolved with
// openat(parent_fd, name, ...), so a name must be exactly one component:
// a '/' would let the guest walk anywhere below (or, with "..", above) the
// parent without the per-component checks, and an embedded NUL would make
// the host see a different name than the one validated. The protocol layer
// checks this too; the backend defends on its own because it is the last
// line before the host filesystem.
#ifndef VFSD_BACKENDS_PASSTHROUGH_NAME_VALIDATION_H_
#define VFSD_BACKENDS_PASSTHROUGH_NAME_VALIDATION_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace vfsd {

// OK if `name` is a single, non-empty path component of at most NAME_MAX
// bytes without '/' or NUL. Errors: ENAMETOOLONG for an over-long name,
// EINVAL for an empty name or one containing '/' or NUL. "." and ".." pass:
// callers decide what they mean for their operation (IsDotOrDotDot).
absl::Status ValidateName(absl::string_view name);

// True for "." and "..", which name no new directory entry (creating or
// removing them is refused by the host with EEXIST/EINVAL/ENOTEMPTY anyway,
// but Lookup must map them onto existing nodes instead of opening them).
inline bool IsDotOrDotDot(absl::string_view name) { return name == "." || name == ".."; }

}  // namespace vfsd

#endif  // VFSD_BACKENDS_PASSTHROUGH_NAME_VALIDATION_H_
