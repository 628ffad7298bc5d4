// Statuses that carry the exact errno the guest must see.
//
// FUSE replies are `-errno`; mapping errno to an absl::StatusCode and back
// loses it (EACCES and EPERM are both PermissionDenied), so every backend
// error is built with ErrnoStatus() and the protocol layer turns it back into
// the reply's error with ErrnoOf().
#ifndef VFSD_BACKENDS_ERRNO_STATUS_H_
#define VFSD_BACKENDS_ERRNO_STATUS_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace vfsd {

// A non-OK status whose code approximates `err` and whose payload holds it.
// `err` must be a positive errno value; 0 yields an OK status.
absl::Status ErrnoStatus(int err, absl::string_view context = "");

// ErrnoStatus(errno) for the calling thread's current errno.
absl::Status ErrnoFromLastError(absl::string_view context = "");

// The errno to report for `status`: its payload if it has one, otherwise a
// best-effort mapping of its code (EIO for anything unknown), 0 if OK.
int ErrnoOf(const absl::Status& status);

}  // namespace vfsd

#endif  // VFSD_BACKENDS_ERRNO_STATUS_H_
