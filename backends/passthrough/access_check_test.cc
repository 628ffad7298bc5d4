#include "backends/passthrough/access_check.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "backends/errno_status.h"
#include "gtest/gtest.h"

namespace vfsd {
namespace {

Attr File(uint32_t perms, uint32_t uid, uint32_t gid) {
  Attr attr;
  attr.mode = S_IFREG | perms;
  attr.uid = uid;
  attr.gid = gid;
  return attr;
}

RequestContext Caller(uint32_t uid, uint32_t gid) {
  RequestContext ctx;
  ctx.uid = uid;
  ctx.gid = gid;
  return ctx;
}

TEST(CheckAccessTest, OwnerGroupOther) {
  Attr attr = File(0640, 1000, 100);
  EXPECT_TRUE(CheckAccess(attr, Caller(1000, 5), R_OK | W_OK).ok());
  EXPECT_EQ(ErrnoOf(CheckAccess(attr, Caller(1000, 5), X_OK)), EACCES);
  EXPECT_TRUE(CheckAccess(attr, Caller(2000, 100), R_OK).ok());
  EXPECT_EQ(ErrnoOf(CheckAccess(attr, Caller(2000, 100), W_OK)), EACCES);
  EXPECT_EQ(ErrnoOf(CheckAccess(attr, Caller(2000, 200), R_OK)), EACCES);
  EXPECT_TRUE(CheckAccess(attr, Caller(2000, 200), F_OK).ok());
}

TEST(CheckAccessTest, OwnerBitsWinEvenIfGroupWouldAllow) {
  // POSIX: the owner class applies to the owner even when it is stricter.
  Attr attr = File(0070, 1000, 100);
  EXPECT_EQ(ErrnoOf(CheckAccess(attr, Caller(1000, 100), R_OK)), EACCES);
}

TEST(CheckAccessTest, Root) {
  EXPECT_TRUE(CheckAccess(File(0000, 1000, 100), Caller(0, 0), R_OK | W_OK).ok());
  EXPECT_EQ(ErrnoOf(CheckAccess(File(0600, 1000, 100), Caller(0, 0), X_OK)), EACCES);
  EXPECT_TRUE(CheckAccess(File(0001, 1000, 100), Caller(0, 0), X_OK).ok());
  Attr dir = File(0000, 1000, 100);
  dir.mode = S_IFDIR;
  EXPECT_TRUE(CheckAccess(dir, Caller(0, 0), X_OK).ok());
}

TEST(CheckAccessTest, RejectsUnknownMaskBits) {
  EXPECT_EQ(ErrnoOf(CheckAccess(File(0777, 0, 0), Caller(0, 0), 8)), EINVAL);
}

}  // namespace
}  // namespace vfsd
