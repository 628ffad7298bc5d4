// EXPECT_ERRNO(expr, err): `expr` (an absl::Status or absl::StatusOr) failed
// with exactly errno `err`, as the guest would see it (vfsd::ErrnoOf).
#ifndef VFSD_TESTING_CONFORMANCE_EXPECT_ERRNO_H_
#define VFSD_TESTING_CONFORMANCE_EXPECT_ERRNO_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "backends/errno_status.h"
#include "gtest/gtest.h"

namespace vfsd {
namespace testing_internal {

inline const absl::Status& StatusOf(const absl::Status& s) { return s; }
template <typename T>
absl::Status StatusOf(const absl::StatusOr<T>& s) {
  return s.status();
}

}  // namespace testing_internal
}  // namespace vfsd

#define EXPECT_ERRNO(expr, err)                                                    \
  do {                                                                             \
    const auto& vfsd_result_ = (expr);                                             \
    const absl::Status vfsd_status_ = ::vfsd::testing_internal::StatusOf(vfsd_result_); \
    EXPECT_FALSE(vfsd_status_.ok()) << #expr " succeeded";                         \
    EXPECT_EQ(::vfsd::ErrnoOf(vfsd_status_), (err)) << #expr ": " << vfsd_status_; \
  } while (0)

#endif  // VFSD_TESTING_CONFORMANCE_EXPECT_ERRNO_H_
