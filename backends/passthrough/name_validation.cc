#include "backends/passthrough/name_validation.h"

#include <linux/limits.h>

#include <cerrno>

#include "backends/errno_status.h"

namespace vfsd {

absl::Status ValidateName(absl::string_view name) {
  // Length first: that is the errno Linux reports for an over-long component
  // regardless of its content.
  if (name.size() > NAME_MAX) return ErrnoStatus(ENAMETOOLONG, "name longer than NAME_MAX");
  if (name.empty()) return ErrnoStatus(EINVAL, "empty name");
  // One pass over the bytes; names are short and this is on every lookup.
  for (char c : name) {
    if (c == '/' || c == '\0') return ErrnoStatus(EINVAL, "name is not a single path component");
  }
  return absl::OkStatus();
}

}  // namespace vfsd
