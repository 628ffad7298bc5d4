// Name and node operations: happy paths (decoded arguments, encoded replies)
// and validation errors.
#include <linux/fuse.h>
#include <stdio.h>

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
using ::testing::Optional;
using namespace testing_util;

class NodeOpsTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_EQ(h_.Init().error(), 0); }
  FuseHarness h_;
};

MATCHER(IsGuestContext, "") {
  return arg.uid == kUid && arg.gid == kGid && arg.pid == kPid;
}

TEST_F(NodeOpsTest, LookupEncodesEntry) {
  EXPECT_CALL(h_.backend, Lookup(IsGuestContext(), 1, Eq("file"), _))
      .WillOnce(CompleteArg<3>(SampleEntry(42)));
  Reply r = h_.Call(FUSE_LOOKUP, 1, CName("file"));
  ASSERT_EQ(r.error(), 0);
  ASSERT_EQ(r.body.size(), sizeof(fuse_entry_out));
  fuse_entry_out e = r.As<fuse_entry_out>();
  EXPECT_EQ(e.nodeid, 42u);
  EXPECT_EQ(e.generation, 7u);
  EXPECT_EQ(e.entry_valid, 1u);  // cache=auto
  EXPECT_EQ(e.attr_valid, 1u);
  EXPECT_EQ(e.attr.ino, 142u);
  EXPECT_EQ(e.attr.size, 4096u + 142);
  EXPECT_EQ(e.attr.mode, 0100644u);
  EXPECT_EQ(e.attr.mtime, 1700000001u);
  EXPECT_EQ(e.attr.mtimensec, 2u);
  EXPECT_EQ(e.attr.blksize, 4096u);
  EXPECT_EQ(e.attr.flags, 0u);
}

TEST_F(NodeOpsTest, LookupAllowsDotAndDotDot) {
  EXPECT_CALL(h_.backend, Lookup(_, 5, Eq(".."), _)).WillOnce(CompleteArg<3>(SampleEntry(1)));
  EXPECT_CALL(h_.backend, Lookup(_, 5, Eq("."), _)).WillOnce(CompleteArg<3>(SampleEntry(5)));
  EXPECT_EQ(h_.Call(FUSE_LOOKUP, 5, CName("..")).error(), 0);
  EXPECT_EQ(h_.Call(FUSE_LOOKUP, 5, CName(".")).error(), 0);
}

TEST_F(NodeOpsTest, LookupNameValidation) {
  // StrictMock: none of these reach the backend.
  EXPECT_EQ(h_.Call(FUSE_LOOKUP, 1, "noterminator").error(), EINVAL);
  EXPECT_EQ(h_.Call(FUSE_LOOKUP, 1, "").error(), EINVAL);
  EXPECT_EQ(h_.Call(FUSE_LOOKUP, 1, CName("")).error(), EINVAL);
  EXPECT_EQ(h_.Call(FUSE_LOOKUP, 1, CName("a/b")).error(), EINVAL);
  EXPECT_EQ(h_.Call(FUSE_LOOKUP, 1, CName(std::string(256, 'n'))).error(), ENAMETOOLONG);
}

TEST_F(NodeOpsTest, ForgetAndBatchForgetHaveNoReply) {
  EXPECT_CALL(h_.backend, Forget(9, 3));
  fuse_forget_in f = {};
  f.nlookup = 3;
  Reply r = h_.Call(FUSE_FORGET, 9, Bytes(f));
  EXPECT_TRUE(r.completed);
  EXPECT_EQ(r.written, 0u);

  EXPECT_CALL(h_.backend, Forget(10, 1));
  EXPECT_CALL(h_.backend, Forget(11, 2));
  fuse_batch_forget_in b = {};
  b.count = 2;
  fuse_forget_one one = {10, 1}, two = {11, 2};
  r = h_.Call(FUSE_BATCH_FORGET, 0, Bytes(b) + Bytes(one) + Bytes(two));
  EXPECT_EQ(r.written, 0u);
}

TEST_F(NodeOpsTest, BatchForgetWithOverlongCountIsIgnored) {
  fuse_batch_forget_in b = {};
  b.count = 3;  // only one present
  fuse_forget_one one = {10, 1};
  Reply r = h_.Call(FUSE_BATCH_FORGET, 0, Bytes(b) + Bytes(one));
  EXPECT_TRUE(r.completed);
  EXPECT_EQ(r.written, 0u);
  // Short FORGET: ignored, still no reply.
  EXPECT_EQ(h_.Call(FUSE_FORGET, 9, "abc").written, 0u);
}

TEST_F(NodeOpsTest, GetAttrWithAndWithoutHandle) {
  EXPECT_CALL(h_.backend, GetAttr(_, 7, Optional(77u), _))
      .WillOnce(CompleteArg<3>(SampleAttr(7)));
  fuse_getattr_in in = {};
  in.getattr_flags = FUSE_GETATTR_FH;
  in.fh = 77;
  Reply r = h_.Call(FUSE_GETATTR, 7, Bytes(in));
  ASSERT_EQ(r.error(), 0);
  ASSERT_EQ(r.body.size(), sizeof(fuse_attr_out));
  EXPECT_EQ(r.As<fuse_attr_out>().attr_valid, 1u);
  EXPECT_EQ(r.As<fuse_attr_out>().attr.ino, 7u);

  EXPECT_CALL(h_.backend, GetAttr(_, 7, Eq(std::nullopt), _))
      .WillOnce(CompleteArg<3>(SampleAttr(7)));
  in.getattr_flags = 0;
  EXPECT_EQ(h_.Call(FUSE_GETATTR, 7, Bytes(in)).error(), 0);

  EXPECT_EQ(h_.Call(FUSE_GETATTR, 7, "short").error(), EINVAL);
}

TEST_F(NodeOpsTest, SetAttrDecodesEveryField) {
  SetAttrRequest seen;
  EXPECT_CALL(h_.backend, SetAttr(_, 7, _, _))
      .WillOnce([&](const RequestContext&, NodeId, const SetAttrRequest& req, Done<Attr> done) {
        seen = req;
        done(SampleAttr(7));
      });
  fuse_setattr_in in = {};
  in.valid = FATTR_MODE | FATTR_UID | FATTR_SIZE | FATTR_FH | FATTR_ATIME | FATTR_ATIME_NOW |
             FATTR_MTIME | FATTR_LOCKOWNER | FATTR_KILL_SUIDGID | FATTR_CTIME;
  in.mode = 0104755;
  in.uid = 5;
  in.gid = 6;  // not valid: ignored
  in.size = 1234;
  in.fh = 3;
  in.lock_owner = 99;
  in.mtime = 1000;
  in.mtimensec = 5;
  in.ctime = 2000;
  in.ctimensec = 6;
  Reply r = h_.Call(FUSE_SETATTR, 7, Bytes(in));
  ASSERT_EQ(r.error(), 0);
  EXPECT_EQ(r.body.size(), sizeof(fuse_attr_out));
  EXPECT_THAT(seen.mode, Optional(04755u));  // permission bits only
  EXPECT_THAT(seen.uid, Optional(5u));
  EXPECT_EQ(seen.gid, std::nullopt);
  EXPECT_THAT(seen.size, Optional(1234u));
  EXPECT_THAT(seen.handle, Optional(3u));
  EXPECT_THAT(seen.lock_owner, Optional(99u));
  EXPECT_TRUE(seen.kill_suidgid);
  EXPECT_EQ(seen.atime_change, SetAttrRequest::TimeChange::kNow);
  EXPECT_EQ(seen.mtime_change, SetAttrRequest::TimeChange::kValue);
  EXPECT_EQ(seen.mtime.sec, 1000);
  EXPECT_EQ(seen.mtime.nsec, 5u);
  ASSERT_TRUE(seen.ctime.has_value());
  EXPECT_EQ(seen.ctime->sec, 2000);
}

TEST_F(NodeOpsTest, SetAttrRejectsBadNanoseconds) {
  fuse_setattr_in in = {};
  in.valid = FATTR_MTIME;
  in.mtimensec = 1000000000;
  EXPECT_EQ(h_.Call(FUSE_SETATTR, 7, Bytes(in)).error(), EINVAL);
  EXPECT_EQ(h_.Call(FUSE_SETATTR, 7, Bytes(in).substr(0, 40)).error(), EINVAL);
}

TEST_F(NodeOpsTest, ReadLinkRepliesTargetWithoutNul) {
  EXPECT_CALL(h_.backend, ReadLink(_, 8, _)).WillOnce(CompleteArg<2>(std::string("../target")));
  Reply r = h_.Call(FUSE_READLINK, 8, "");
  ASSERT_EQ(r.error(), 0);
  EXPECT_EQ(r.body, "../target");
}

TEST_F(NodeOpsTest, Symlink) {
  EXPECT_CALL(h_.backend, Symlink(_, 1, Eq("link"), Eq("/some/where"), _))
      .WillOnce(CompleteArg<4>(SampleEntry(50)));
  Reply r = h_.Call(FUSE_SYMLINK, 1, CName("link") + CName("/some/where"));
  ASSERT_EQ(r.error(), 0);
  EXPECT_EQ(r.As<fuse_entry_out>().nodeid, 50u);
  EXPECT_EQ(h_.Call(FUSE_SYMLINK, 1, CName("link") + "/unterminated").error(), EINVAL);
  EXPECT_EQ(h_.Call(FUSE_SYMLINK, 1, CName("..") + CName("x")).error(), EINVAL);
  EXPECT_EQ(h_.Call(FUSE_SYMLINK, 1, CName("l") + CName("")).error(), ENOENT);
}

TEST_F(NodeOpsTest, MkNodAndMkDir) {
  EXPECT_CALL(h_.backend, MkNod(_, 1, Eq("fifo"), 010644u, 0u, 022u, _))
      .WillOnce(CompleteArg<6>(SampleEntry(60)));
  fuse_mknod_in mk = {};
  mk.mode = 010644;
  mk.umask = 022;
  EXPECT_EQ(h_.Call(FUSE_MKNOD, 1, Bytes(mk) + CName("fifo")).error(), 0);

  EXPECT_CALL(h_.backend, MkDir(_, 1, Eq("dir"), 0755u, 022u, _))
      .WillOnce(CompleteArg<5>(SampleEntry(61)));
  fuse_mkdir_in md = {};
  md.mode = 0755;
  md.umask = 022;
  Reply r = h_.Call(FUSE_MKDIR, 1, Bytes(md) + CName("dir"));
  ASSERT_EQ(r.error(), 0);
  EXPECT_EQ(r.As<fuse_entry_out>().nodeid, 61u);

  EXPECT_EQ(h_.Call(FUSE_MKDIR, 1, Bytes(md) + CName(".")).error(), EINVAL);
  EXPECT_EQ(h_.Call(FUSE_MKDIR, 1, Bytes(md) + CName("a/b")).error(), EINVAL);
  EXPECT_EQ(h_.Call(FUSE_MKDIR, 1, Bytes(md)).error(), EINVAL);  // no name
  EXPECT_EQ(h_.Call(FUSE_MKDIR, 1, "abc").error(), EINVAL);      // short struct
  EXPECT_EQ(h_.Call(FUSE_MKNOD, 1, Bytes(mk) + CName(std::string(300, 'x'))).error(),
            ENAMETOOLONG);
}

TEST_F(NodeOpsTest, UnlinkAndRmDir) {
  EXPECT_CALL(h_.backend, Unlink(_, 1, Eq("f"), _)).WillOnce(CompleteArg<3>(absl::OkStatus()));
  Reply r = h_.Call(FUSE_UNLINK, 1, CName("f"));
  EXPECT_EQ(r.error(), 0);
  EXPECT_EQ(r.written, sizeof(fuse_out_header));
  EXPECT_CALL(h_.backend, RmDir(_, 1, Eq("d"), _))
      .WillOnce(CompleteArg<3>(ErrnoStatus(ENOTEMPTY)));
  EXPECT_EQ(h_.Call(FUSE_RMDIR, 1, CName("d")).error(), ENOTEMPTY);
  EXPECT_EQ(h_.Call(FUSE_RMDIR, 1, CName("..")).error(), EINVAL);
  EXPECT_EQ(h_.Call(FUSE_UNLINK, 1, CName(".")).error(), EINVAL);
}

TEST_F(NodeOpsTest, RenameAndRename2) {
  EXPECT_CALL(h_.backend, Rename(_, 1, Eq("a"), 2, Eq("b"), 0u, _))
      .WillOnce(CompleteArg<6>(absl::OkStatus()));
  fuse_rename_in rn = {};
  rn.newdir = 2;
  EXPECT_EQ(h_.Call(FUSE_RENAME, 1, Bytes(rn) + CName("a") + CName("b")).error(), 0);

  EXPECT_CALL(h_.backend, Rename(_, 1, Eq("a"), 3, Eq("c"), uint32_t{RENAME_EXCHANGE}, _))
      .WillOnce(CompleteArg<6>(absl::OkStatus()));
  fuse_rename2_in r2 = {};
  r2.newdir = 3;
  r2.flags = RENAME_EXCHANGE;
  EXPECT_EQ(h_.Call(FUSE_RENAME2, 1, Bytes(r2) + CName("a") + CName("c")).error(), 0);

  r2.flags = 1u << 20;
  EXPECT_EQ(h_.Call(FUSE_RENAME2, 1, Bytes(r2) + CName("a") + CName("c")).error(), EINVAL);
  r2.flags = 0;
  r2.newdir = 0;
  EXPECT_EQ(h_.Call(FUSE_RENAME2, 1, Bytes(r2) + CName("a") + CName("c")).error(), EINVAL);
  EXPECT_EQ(h_.Call(FUSE_RENAME, 1, Bytes(rn) + CName("a")).error(), EINVAL);  // one name
  EXPECT_EQ(h_.Call(FUSE_RENAME, 1, Bytes(rn) + CName("a") + CName("..")).error(), EINVAL);
}

TEST_F(NodeOpsTest, LinkUsesHeaderAsNewParent) {
  EXPECT_CALL(h_.backend, Link(_, 9, 1, Eq("hard"), _)).WillOnce(CompleteArg<4>(SampleEntry(9)));
  fuse_link_in in = {};
  in.oldnodeid = 9;
  EXPECT_EQ(h_.Call(FUSE_LINK, 1, Bytes(in) + CName("hard")).error(), 0);
  in.oldnodeid = 0;
  EXPECT_EQ(h_.Call(FUSE_LINK, 1, Bytes(in) + CName("hard")).error(), EINVAL);
}

TEST(NodeOpsCacheTest, TimeoutsFollowCacheMode) {
  for (auto [mode, timeout] : {std::pair{CacheMode::kNever, 0u}, std::pair{CacheMode::kAlways, 86400u},
                               std::pair{CacheMode::kMetadata, 86400u}}) {
    FuseSessionOptions options;
    options.cache_mode = mode;
    FuseHarness h(options);
    h.Init();
    EXPECT_CALL(h.backend, Lookup(_, 1, _, _)).WillOnce(CompleteArg<3>(SampleEntry(2)));
    fuse_entry_out e = h.Call(FUSE_LOOKUP, 1, CName("x")).As<fuse_entry_out>();
    EXPECT_EQ(e.entry_valid, timeout);
    EXPECT_EQ(e.attr_valid, timeout);
  }
}

TEST(NodeOpsCompatTest, OldMinorsGetShortEntryAndAttr) {
  FuseHarness h;
  h.Init(/*minor=*/8);
  EXPECT_CALL(h.backend, Lookup(_, 1, _, _)).WillOnce(CompleteArg<3>(SampleEntry(2)));
  EXPECT_EQ(h.Call(FUSE_LOOKUP, 1, CName("x")).body.size(), size_t{FUSE_COMPAT_ENTRY_OUT_SIZE});
  // 7.8 GETATTR has no fuse_getattr_in.
  EXPECT_CALL(h.backend, GetAttr(_, 2, Eq(std::nullopt), _)).WillOnce(CompleteArg<3>(SampleAttr(2)));
  EXPECT_EQ(h.Call(FUSE_GETATTR, 2, "").body.size(), size_t{FUSE_COMPAT_ATTR_OUT_SIZE});
  // 7.8 MKNOD has the 8-byte fuse_mknod_in (no umask).
  EXPECT_CALL(h.backend, MkNod(_, 1, Eq("n"), 0644u, 0u, 0u, _)).WillOnce(CompleteArg<6>(SampleEntry(3)));
  fuse_mknod_in mk = {};
  mk.mode = 0644;
  EXPECT_EQ(h.Call(FUSE_MKNOD, 1, Bytes(mk).substr(0, FUSE_COMPAT_MKNOD_IN_SIZE) + CName("n")).error(),
            0);
}

TEST(NodeOpsSubmountTest, SubmountFlagOnlyWhenNegotiated) {
  FuseSessionOptions options;
  options.announce_submounts = true;
  FuseHarness h(options);
  h.Init();
  Entry e = SampleEntry(4);
  e.attr.submount = true;
  EXPECT_CALL(h.backend, Lookup(_, 1, _, _)).WillOnce(CompleteArg<3>(e));
  EXPECT_EQ(h.Call(FUSE_LOOKUP, 1, CName("mnt")).As<fuse_entry_out>().attr.flags,
            uint32_t{FUSE_ATTR_SUBMOUNT});

  // GETATTR and MKDIR replies carry it too.
  EXPECT_CALL(h.backend, GetAttr(_, 4, _, _)).WillOnce(CompleteArg<3>(e.attr));
  fuse_getattr_in getattr = {};
  EXPECT_EQ(h.Call(FUSE_GETATTR, 4, Bytes(getattr)).As<fuse_attr_out>().attr.flags,
            uint32_t{FUSE_ATTR_SUBMOUNT});
  EXPECT_CALL(h.backend, MkDir(_, 1, _, _, _, _)).WillOnce(CompleteArg<5>(e));
  fuse_mkdir_in mkdir = {};
  EXPECT_EQ(h.Call(FUSE_MKDIR, 1, Bytes(mkdir) + CName("d")).As<fuse_entry_out>().attr.flags,
            uint32_t{FUSE_ATTR_SUBMOUNT});

  FuseHarness plain;
  plain.Init();
  EXPECT_CALL(plain.backend, Lookup(_, 1, _, _)).WillOnce(CompleteArg<3>(e));
  EXPECT_EQ(plain.Call(FUSE_LOOKUP, 1, CName("mnt")).As<fuse_entry_out>().attr.flags, 0u);
  EXPECT_CALL(plain.backend, GetAttr(_, 4, _, _)).WillOnce(CompleteArg<3>(e.attr));
  EXPECT_EQ(plain.Call(FUSE_GETATTR, 4, Bytes(getattr)).As<fuse_attr_out>().attr.flags, 0u);

  // Offered by the daemon but not by the guest: not negotiated, not sent.
  FuseHarness old_guest(options);
  old_guest.Init(FUSE_KERNEL_MINOR_VERSION, (~uint64_t{0} >> 1) & ~uint64_t{FUSE_SUBMOUNTS});
  EXPECT_FALSE(old_guest.session.protocol().submounts);
  EXPECT_CALL(old_guest.backend, Lookup(_, 1, _, _)).WillOnce(CompleteArg<3>(e));
  EXPECT_EQ(old_guest.Call(FUSE_LOOKUP, 1, CName("mnt")).As<fuse_entry_out>().attr.flags, 0u);
}

}  // namespace
}  // namespace vfsd
