// Sequential decoder for the argument bytes of one FUSE request.
//
// The session copies a request's arguments out of guest memory once (so the
// guest cannot change them between validation and use) and the per-opcode
// handlers then consume them front to back with this reader: fixed structs
// (possibly shorter for old protocol minors, zero-filled) and NUL-terminated
// names, each validated before the backend sees it.
#ifndef VFSD_PROTOCOL_ARG_READER_H_
#define VFSD_PROTOCOL_ARG_READER_H_

#include <cstddef>
#include <cstring>
#include <type_traits>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace vfsd {

// What a name is used for decides which names are acceptable.
enum class NameKind {
  // A name the backend resolves (LOOKUP): "." and ".." are allowed because
  // the kernel looks them up for NFS export (fuse_get_parent sends "..",
  // fuse_get_dentry sends "."); the backend keeps ".." at the root in place.
  kLookup,
  // A name that is created, removed or renamed: "." and ".." are refused
  // (the guest VFS never sends them; a hostile guest could use them to act
  // on a parent directory).
  kEntry,
  // An extended attribute name: may contain '/', limited to XATTR_NAME_MAX.
  kXattr,
};

// The longest file name a guest may send (NAME_MAX).
inline constexpr size_t kMaxNameLength = 255;
// The longest symlink target, including its NUL (PATH_MAX).
inline constexpr size_t kMaxSymlinkTarget = 4096;
// The longest extended attribute value (XATTR_SIZE_MAX).
inline constexpr size_t kMaxXattrValue = 65536;

// Checks a name of kind `kind` (without its NUL). Returns the FUSE errno:
// EINVAL for empty, '/'-containing (entries) or dot names (entries),
// ENAMETOOLONG (entries) / ERANGE (xattrs, as setxattr(2)) when too long;
// 0 if acceptable.
int ValidateName(absl::string_view name, NameKind kind);

class ArgReader {
 public:
  explicit ArgReader(absl::string_view args) : rest_(args) {}

  // Copies the next `size` bytes (<= sizeof(T)) into `*out`, zero-filling
  // the rest of `*out` (older minors send shorter structs). False if fewer
  // than `size` bytes remain.
  template <typename T>
  bool Read(T* out, size_t size = sizeof(T)) {
    static_assert(std::is_trivially_copyable_v<T>);
    if (size > sizeof(T) || rest_.size() < size) return false;
    std::memset(out, 0, sizeof(T));
    std::memcpy(out, rest_.data(), size);
    rest_.remove_prefix(size);
    return true;
  }

  // Consumes a NUL-terminated name and validates it; the view points into
  // the reader's buffer. Errors carry the errno for the reply.
  absl::StatusOr<absl::string_view> Name(NameKind kind);

  // Consumes a NUL-terminated symlink target (non-empty, < PATH_MAX).
  absl::StatusOr<absl::string_view> SymlinkTarget();

  // Consumes exactly `len` bytes; false if fewer remain.
  bool Bytes(size_t len, absl::string_view* out);

  absl::string_view rest() const { return rest_; }

 private:
  // The bytes up to (not including) the next NUL, consuming the NUL; EINVAL
  // if there is none within the request.
  absl::StatusOr<absl::string_view> CString();

  absl::string_view rest_;
};

}  // namespace vfsd

#endif  // VFSD_PROTOCOL_ARG_READER_H_
