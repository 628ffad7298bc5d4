// Filesystem-wide, xattr and lock operations: STATFS, SYNCFS, ACCESS, the
// xattr family (size queries, ERANGE, limits, disabled mode), GETLK/SETLK.
#include <fcntl.h>
#include <linux/fuse.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "backends/errno_status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "protocol/fuse_test_util.h"

namespace vfsd {
namespace {

using ::testing::_;
using ::testing::AllOf;
using ::testing::Eq;
using ::testing::Field;
using namespace testing_util;

FuseSessionOptions WithXattr() {
  FuseSessionOptions options;
  options.xattr = true;
  return options;
}

class FsOpsTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_EQ(h_.Init().error(), 0); }
  FuseHarness h_{WithXattr()};
};

TEST_F(FsOpsTest, StatFs) {
  StatFs st;
  st.blocks = 1000;
  st.bfree = 500;
  st.bavail = 400;
  st.files = 100;
  st.ffree = 50;
  st.bsize = 4096;
  st.namelen = 255;
  st.frsize = 4096;
  EXPECT_CALL(h_.backend, StatFs(_, 1, _)).WillOnce(CompleteArg<2>(st));
  Reply r = h_.Call(FUSE_STATFS, 1, "");
  ASSERT_EQ(r.error(), 0);
  ASSERT_EQ(r.body.size(), sizeof(fuse_statfs_out));
  fuse_statfs_out out = r.As<fuse_statfs_out>();
  EXPECT_EQ(out.st.blocks, 1000u);
  EXPECT_EQ(out.st.bavail, 400u);
  EXPECT_EQ(out.st.namelen, 255u);
  EXPECT_EQ(out.st.frsize, 4096u);
}

TEST_F(FsOpsTest, SyncFsAndAccess) {
  EXPECT_CALL(h_.backend, SyncFs(_, 1, _)).WillOnce(CompleteArg<2>(absl::OkStatus()));
  fuse_syncfs_in sync = {};
  EXPECT_EQ(h_.Call(FUSE_SYNCFS, 1, Bytes(sync)).error(), 0);

  EXPECT_CALL(h_.backend, Access(_, 4, uint32_t{R_OK | W_OK}, _))
      .WillOnce(CompleteArg<3>(ErrnoStatus(EACCES)));
  fuse_access_in acc = {};
  acc.mask = R_OK | W_OK;
  EXPECT_EQ(h_.Call(FUSE_ACCESS, 4, Bytes(acc)).error(), EACCES);
  acc.mask = 0x100;
  EXPECT_EQ(h_.Call(FUSE_ACCESS, 4, Bytes(acc)).error(), EINVAL);
}

TEST(FsOpsCompatTest, SetXattrWithoutSetxattrExt) {
  FuseHarness h_{WithXattr()};
  ASSERT_EQ(h_.Init(FUSE_KERNEL_MINOR_VERSION, (~uint64_t{0} >> 1) & ~uint64_t{FUSE_SETXATTR_EXT})
                .error(),
            0);
  EXPECT_CALL(h_.backend,
              SetXattr(_, 4, Eq("user.k/v"), Eq(std::string("v\0l", 3)), 1u, false, _))
      .WillOnce(CompleteArg<6>(absl::OkStatus()));
  fuse_setxattr_in in = {};
  in.size = 3;
  in.flags = 1;  // XATTR_CREATE
  // Without FUSE_SETXATTR_EXT the kernel sends the 8-byte compat struct.
  const std::string head = Bytes(in).substr(0, FUSE_COMPAT_SETXATTR_IN_SIZE);
  EXPECT_EQ(h_.Call(FUSE_SETXATTR, 4, head + CName("user.k/v") + std::string("v\0l", 3)).error(),
            0);
  // Value shorter than announced.
  EXPECT_EQ(h_.Call(FUSE_SETXATTR, 4, head + CName("user.k") + "v").error(), EINVAL);
  // Value larger than XATTR_SIZE_MAX.
  in.size = 65537;
  EXPECT_EQ(h_.Call(FUSE_SETXATTR, 4,
                    Bytes(in).substr(0, 8) + CName("user.k") + std::string(65537, 'v'))
                .error(),
            E2BIG);
  // Name too long for an xattr.
  in.size = 0;
  EXPECT_EQ(h_.Call(FUSE_SETXATTR, 4, Bytes(in).substr(0, 8) + CName(std::string(256, 'n')))
                .error(),
            ERANGE);
}

TEST_F(FsOpsTest, GetXattrSizeQueryRangeAndValue) {
  EXPECT_CALL(h_.backend, GetXattr(_, 4, Eq("user.k"), _))
      .Times(3)
      .WillRepeatedly(CompleteArg<3>(std::string("value")));
  fuse_getxattr_in in = {};
  in.size = 0;
  Reply r = h_.Call(FUSE_GETXATTR, 4, Bytes(in) + CName("user.k"));
  ASSERT_EQ(r.error(), 0);
  EXPECT_EQ(r.As<fuse_getxattr_out>().size, 5u);
  in.size = 4;
  EXPECT_EQ(h_.Call(FUSE_GETXATTR, 4, Bytes(in) + CName("user.k")).error(), ERANGE);
  in.size = 64;
  r = h_.Call(FUSE_GETXATTR, 4, Bytes(in) + CName("user.k"));
  ASSERT_EQ(r.error(), 0);
  EXPECT_EQ(r.body, "value");

  EXPECT_CALL(h_.backend, GetXattr(_, 4, Eq("user.none"), _))
      .WillOnce(CompleteArg<3>(ErrnoStatus(ENODATA)));
  EXPECT_EQ(h_.Call(FUSE_GETXATTR, 4, Bytes(in) + CName("user.none")).error(), ENODATA);
  EXPECT_EQ(h_.Call(FUSE_GETXATTR, 4, Bytes(in) + "user.unterminated").error(), EINVAL);
}

TEST_F(FsOpsTest, ListAndRemoveXattr) {
  const std::string names("user.a\0user.b\0", 14);
  EXPECT_CALL(h_.backend, ListXattr(_, 4, _)).Times(2).WillRepeatedly(CompleteArg<2>(names));
  fuse_getxattr_in in = {};
  EXPECT_EQ(h_.Call(FUSE_LISTXATTR, 4, Bytes(in)).As<fuse_getxattr_out>().size, 14u);
  in.size = 100;
  EXPECT_EQ(h_.Call(FUSE_LISTXATTR, 4, Bytes(in)).body, names);

  EXPECT_CALL(h_.backend, RemoveXattr(_, 4, Eq("user.a"), _))
      .WillOnce(CompleteArg<3>(absl::OkStatus()));
  EXPECT_EQ(h_.Call(FUSE_REMOVEXATTR, 4, CName("user.a")).error(), 0);
}

TEST_F(FsOpsTest, SetXattrExtCarriesAclKillSgid) {
  // With xattrs on, INIT negotiates FUSE_SETXATTR_EXT: the 16-byte struct
  // whose setxattr_flags say whether setting an access ACL clears setgid.
  ASSERT_TRUE(h_.session.protocol().setxattr_ext);
  const std::string acl("\x02\0\0\0", 4);
  EXPECT_CALL(h_.backend,
              SetXattr(_, 4, Eq("system.posix_acl_access"), Eq(acl), 0u, true, _))
      .WillOnce(CompleteArg<6>(absl::OkStatus()));
  fuse_setxattr_in in = {};
  in.size = 4;
  in.setxattr_flags = FUSE_SETXATTR_ACL_KILL_SGID;
  EXPECT_EQ(h_.Call(FUSE_SETXATTR, 4, Bytes(in) + CName("system.posix_acl_access") + acl).error(),
            0);
  EXPECT_CALL(h_.backend, SetXattr(_, 4, Eq("user.k"), Eq("v"), 2u, false, _))
      .WillOnce(CompleteArg<6>(absl::OkStatus()));
  in.size = 1;
  in.flags = 2;  // XATTR_REPLACE
  in.setxattr_flags = 0;
  EXPECT_EQ(h_.Call(FUSE_SETXATTR, 4, Bytes(in) + CName("user.k") + "v").error(), 0);
  // The 8-byte compat form is too short once SETXATTR_EXT is negotiated.
  EXPECT_EQ(h_.Call(FUSE_SETXATTR, 4, Bytes(in).substr(0, 8)).error(), EINVAL);
}

TEST(FsOpsXattrOffTest, XattrDisabledIsEnosys) {
  FuseHarness h;  // xattr off by default
  h.Init();
  fuse_getxattr_in in = {};
  EXPECT_EQ(h.Call(FUSE_GETXATTR, 4, Bytes(in) + CName("user.k")).error(), ENOSYS);
  EXPECT_EQ(h.Call(FUSE_LISTXATTR, 4, Bytes(in)).error(), ENOSYS);
  EXPECT_EQ(h.Call(FUSE_REMOVEXATTR, 4, CName("user.k")).error(), ENOSYS);
  EXPECT_EQ(h.Call(FUSE_SETXATTR, 4, Bytes(in) + CName("user.k")).error(), ENOSYS);
}

TEST_F(FsOpsTest, GetLk) {
  FileLock conflict;
  conflict.start = 0;
  conflict.end = 99;
  conflict.type = F_WRLCK;
  conflict.pid = 77;
  EXPECT_CALL(h_.backend, GetLk(_, 4, 2, 0x55, AllOf(Field(&FileLock::start, 10u),
                                                      Field(&FileLock::end, 20u),
                                                      Field(&FileLock::type, uint32_t{F_RDLCK})),
                                _))
      .WillOnce(CompleteArg<5>(conflict));
  fuse_lk_in in = {};
  in.fh = 2;
  in.owner = 0x55;
  in.lk = {10, 20, F_RDLCK, 1};
  Reply r = h_.Call(FUSE_GETLK, 4, Bytes(in));
  ASSERT_EQ(r.error(), 0);
  fuse_lk_out out = r.As<fuse_lk_out>();
  EXPECT_EQ(out.lk.end, 99u);
  EXPECT_EQ(out.lk.type, uint32_t{F_WRLCK});
  EXPECT_EQ(out.lk.pid, 77u);
}

TEST_F(FsOpsTest, SetLkAndSetLkwAndFlock) {
  EXPECT_CALL(h_.backend, SetLk(_, 4, 2, 0x55, _, false, false, _))
      .WillOnce(CompleteArg<7>(ErrnoStatus(EAGAIN)));
  EXPECT_CALL(h_.backend, SetLk(_, 4, 2, 0x55, _, true, true, _))
      .WillOnce(CompleteArg<7>(absl::OkStatus()));
  fuse_lk_in in = {};
  in.fh = 2;
  in.owner = 0x55;
  in.lk = {0, UINT64_MAX, F_WRLCK, 1};
  EXPECT_EQ(h_.Call(FUSE_SETLK, 4, Bytes(in)).error(), EAGAIN);
  in.lk_flags = FUSE_LK_FLOCK;
  EXPECT_EQ(h_.Call(FUSE_SETLKW, 4, Bytes(in)).error(), 0);
  in.lk.type = 7;
  EXPECT_EQ(h_.Call(FUSE_SETLK, 4, Bytes(in)).error(), EINVAL);
  in.lk = {20, 10, F_RDLCK, 1};
  EXPECT_EQ(h_.Call(FUSE_SETLK, 4, Bytes(in)).error(), EINVAL);
}

}  // namespace
}  // namespace vfsd
