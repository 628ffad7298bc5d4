#include "backends/errno_status.h"

#include <cerrno>

#include "gtest/gtest.h"

namespace vfsd {
namespace {

TEST(ErrnoStatusTest, RoundTripsExactErrno) {
  for (int err : {ENOENT, EACCES, EPERM, EEXIST, ENOTEMPTY, EROFS, ENAMETOOLONG, EXDEV, EIO}) {
    absl::Status status = ErrnoStatus(err, "op");
    EXPECT_FALSE(status.ok());
    EXPECT_EQ(ErrnoOf(status), err) << status;
  }
}

TEST(ErrnoStatusTest, ZeroIsOk) {
  EXPECT_TRUE(ErrnoStatus(0).ok());
  EXPECT_EQ(ErrnoOf(absl::OkStatus()), 0);
}

TEST(ErrnoStatusTest, PlainStatusesMapToPlausibleErrno) {
  EXPECT_EQ(ErrnoOf(absl::NotFoundError("x")), ENOENT);
  EXPECT_EQ(ErrnoOf(absl::InternalError("x")), EIO);
  EXPECT_EQ(ErrnoOf(absl::UnimplementedError("x")), ENOSYS);
}

TEST(ErrnoStatusTest, LastErrorUsesErrno) {
  errno = EBADF;
  EXPECT_EQ(ErrnoOf(ErrnoFromLastError()), EBADF);
}

}  // namespace
}  // namespace vfsd
