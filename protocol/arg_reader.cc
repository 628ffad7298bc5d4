#include "protocol/arg_reader.h"

#include <cerrno>

#include "backends/errno_status.h"

namespace vfsd {

int ValidateName(absl::string_view name, NameKind kind) {
  if (name.empty()) return EINVAL;
  if (kind == NameKind::kXattr) {
    // setxattr(2)/getxattr(2) answer ERANGE for names over XATTR_NAME_MAX.
    return name.size() > kMaxNameLength ? ERANGE : 0;
  }
  if (name.size() > kMaxNameLength) return ENAMETOOLONG;
  // A '/' would let the backend resolve a path instead of one component.
  if (name.find('/') != absl::string_view::npos) return EINVAL;
  if (kind == NameKind::kEntry && (name == "." || name == "..")) return EINVAL;
  return 0;
}

absl::StatusOr<absl::string_view> ArgReader::CString() {
  const size_t nul = rest_.find('\0');
  if (nul == absl::string_view::npos) {
    return ErrnoStatus(EINVAL, "name not NUL-terminated within the request");
  }
  absl::string_view s = rest_.substr(0, nul);
  rest_.remove_prefix(nul + 1);
  return s;
}

absl::StatusOr<absl::string_view> ArgReader::Name(NameKind kind) {
  absl::StatusOr<absl::string_view> name = CString();
  if (!name.ok()) return name;
  if (int err = ValidateName(*name, kind); err != 0) {
    return ErrnoStatus(err, "invalid name");
  }
  return name;
}

absl::StatusOr<absl::string_view> ArgReader::SymlinkTarget() {
  absl::StatusOr<absl::string_view> target = CString();
  if (!target.ok()) return target;
  if (target->empty()) return ErrnoStatus(ENOENT, "empty symlink target");  // as symlink(2)
  if (target->size() >= kMaxSymlinkTarget) return ErrnoStatus(ENAMETOOLONG, "symlink target");
  return target;
}

bool ArgReader::Bytes(size_t len, absl::string_view* out) {
  if (rest_.size() < len) return false;
  *out = rest_.substr(0, len);
  rest_.remove_prefix(len);
  return true;
}

}  // namespace vfsd
