#include "backends/errno_status.h"

#include <cerrno>
#include <cstring>
#include <string>

#include "absl/strings/cord.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace vfsd {
namespace {

constexpr absl::string_view kErrnoPayloadUrl = "vfsd/errno";

absl::StatusCode CodeForErrno(int err) {
  switch (err) {
    case ENOENT:
      return absl::StatusCode::kNotFound;
    case EEXIST:
    case ENOTEMPTY:
      return absl::StatusCode::kAlreadyExists;
    case EACCES:
    case EPERM:
    case EROFS:
      return absl::StatusCode::kPermissionDenied;
    case EINVAL:
    case ENAMETOOLONG:
    case ENOTDIR:
    case EISDIR:
    case ELOOP:
    case EBADF:
      return absl::StatusCode::kInvalidArgument;
    case ENOSYS:
    case EOPNOTSUPP:
    case ENOTTY:
      return absl::StatusCode::kUnimplemented;
    case ENOSPC:
    case EDQUOT:
    case EMFILE:
    case ENFILE:
    case ENOMEM:
      return absl::StatusCode::kResourceExhausted;
    case EAGAIN:
    case EINTR:
      return absl::StatusCode::kUnavailable;
    case ERANGE:
    case EFBIG:
    case EOVERFLOW:
      return absl::StatusCode::kOutOfRange;
    case ETIMEDOUT:
      return absl::StatusCode::kDeadlineExceeded;
    default:
      return absl::StatusCode::kUnknown;
  }
}

int ErrnoForCode(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kOk:
      return 0;
    case absl::StatusCode::kNotFound:
      return ENOENT;
    case absl::StatusCode::kAlreadyExists:
      return EEXIST;
    case absl::StatusCode::kPermissionDenied:
      return EACCES;
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kFailedPrecondition:
      return EINVAL;
    case absl::StatusCode::kUnimplemented:
      return ENOSYS;
    case absl::StatusCode::kResourceExhausted:
      return ENOSPC;
    case absl::StatusCode::kUnavailable:
      return EAGAIN;
    case absl::StatusCode::kOutOfRange:
      return ERANGE;
    case absl::StatusCode::kDeadlineExceeded:
      return ETIMEDOUT;
    case absl::StatusCode::kCancelled:
      return EINTR;
    default:
      return EIO;
  }
}

}  // namespace

absl::Status ErrnoStatus(int err, absl::string_view context) {
  if (err == 0) return absl::OkStatus();
  std::string message =
      context.empty() ? std::string(strerrordesc_np(err))
                      : absl::StrCat(context, ": ", strerrordesc_np(err));
  absl::Status status(CodeForErrno(err), message);
  status.SetPayload(kErrnoPayloadUrl, absl::Cord(absl::StrCat(err)));
  return status;
}

absl::Status ErrnoFromLastError(absl::string_view context) {
  int err = errno;
  return ErrnoStatus(err == 0 ? EIO : err, context);
}

int ErrnoOf(const absl::Status& status) {
  if (status.ok()) return 0;
  if (auto payload = status.GetPayload(kErrnoPayloadUrl)) {
    int err = 0;
    if (absl::SimpleAtoi(std::string(*payload), &err) && err > 0) return err;
  }
  return ErrnoForCode(status.code());
}

}  // namespace vfsd
