// Open-file operations: OPEN/CREATE/TMPFILE replies and cache flags, READ
// zero-copy into the reply buffers, WRITE payload passed in place, and the
// validation of every length and flag.
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fuse.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "backends/errno_status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "protocol/fuse_test_util.h"
#include "protocol/iovec_io.h"

namespace vfsd {
namespace {

using ::testing::_;
using ::testing::Eq;
using ::testing::Field;
using ::testing::Optional;
using namespace testing_util;

class FileOpsTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_EQ(h_.Init().error(), 0); }
  FuseHarness h_;
};

OpenResult Handle(HandleId fh) {
  OpenResult r;
  r.handle = fh;
  return r;
}

TEST_F(FileOpsTest, OpenPassesFlagsAndRepliesHandle) {
  EXPECT_CALL(h_.backend, Open(_, 5, uint32_t{O_RDWR | O_TRUNC}, false, _))
      .WillOnce(CompleteArg<4>(Handle(33)));
  fuse_open_in in = {};
  in.flags = O_RDWR | O_TRUNC;
  Reply r = h_.Call(FUSE_OPEN, 5, Bytes(in));
  ASSERT_EQ(r.error(), 0);
  ASSERT_EQ(r.body.size(), sizeof(fuse_open_out));
  EXPECT_EQ(r.As<fuse_open_out>().fh, 33u);
  EXPECT_EQ(r.As<fuse_open_out>().open_flags, 0u);  // cache=auto
  EXPECT_EQ(h_.Call(FUSE_OPEN, 5, "abc").error(), EINVAL);
}

TEST(FileOpsCacheTest, OpenFlagsFollowCacheMode) {
  FuseSessionOptions options;
  options.cache_mode = CacheMode::kNever;
  FuseHarness h(options);
  h.Init();
  EXPECT_CALL(h.backend, Open(_, 5, _, _, _)).WillOnce(CompleteArg<4>(Handle(1)));
  fuse_open_in in = {};
  EXPECT_EQ(h.Call(FUSE_OPEN, 5, Bytes(in)).As<fuse_open_out>().open_flags,
            uint32_t{FOPEN_DIRECT_IO});
}

TEST_F(FileOpsTest, CreateRepliesEntryAndOpen) {
  CreateResult created;
  created.entry = SampleEntry(70);
  created.open.handle = 71;
  created.open.keep_cache = true;
  EXPECT_CALL(h_.backend,
              Create(_, 1, Eq("new"), 0100600u, uint32_t{O_CREAT | O_WRONLY}, 022u, false, _))
      .WillOnce(CompleteArg<7>(created));
  fuse_create_in in = {};
  in.flags = O_CREAT | O_WRONLY;
  in.mode = 0100600;
  in.umask = 022;
  Reply r = h_.Call(FUSE_CREATE, 1, Bytes(in) + CName("new"));
  ASSERT_EQ(r.error(), 0);
  ASSERT_EQ(r.body.size(), sizeof(fuse_entry_out) + sizeof(fuse_open_out));
  EXPECT_EQ(r.As<fuse_entry_out>().nodeid, 70u);
  fuse_open_out open;
  memcpy(&open, r.body.data() + sizeof(fuse_entry_out), sizeof(open));
  EXPECT_EQ(open.fh, 71u);
  EXPECT_EQ(open.open_flags, uint32_t{FOPEN_KEEP_CACHE});

  EXPECT_EQ(h_.Call(FUSE_CREATE, 1, Bytes(in) + CName("a/b")).error(), EINVAL);
  EXPECT_EQ(h_.Call(FUSE_CREATE, 1, Bytes(in)).error(), EINVAL);
}

TEST_F(FileOpsTest, OpenAndCreatePassKillSuidgid) {
  // HANDLE_KILLPRIV_V2: the guest asks the daemon to clear setuid/setgid on
  // an O_TRUNC open or create by an unprivileged caller.
  EXPECT_CALL(h_.backend, Open(_, 5, uint32_t{O_WRONLY | O_TRUNC}, true, _))
      .WillOnce(CompleteArg<4>(Handle(34)));
  fuse_open_in open = {};
  open.flags = O_WRONLY | O_TRUNC;
  open.open_flags = FUSE_OPEN_KILL_SUIDGID;
  EXPECT_EQ(h_.Call(FUSE_OPEN, 5, Bytes(open)).error(), 0);

  CreateResult created;
  created.entry = SampleEntry(72);
  EXPECT_CALL(h_.backend, Create(_, 1, Eq("f"), 0100644u, uint32_t{O_CREAT | O_TRUNC}, 0u, true, _))
      .WillOnce(CompleteArg<7>(created));
  fuse_create_in create = {};
  create.flags = O_CREAT | O_TRUNC;
  create.mode = 0100644;
  create.open_flags = FUSE_OPEN_KILL_SUIDGID;
  EXPECT_EQ(h_.Call(FUSE_CREATE, 1, Bytes(create) + CName("f")).error(), 0);
}

TEST_F(FileOpsTest, TmpFile) {
  CreateResult created;
  created.entry = SampleEntry(80);
  created.open.handle = 81;
  EXPECT_CALL(h_.backend, TmpFile(_, 1, 0100600u, uint32_t{O_RDWR}, 077u, _))
      .WillOnce(CompleteArg<5>(created));
  fuse_create_in in = {};
  in.flags = O_RDWR;
  in.mode = 0100600;
  in.umask = 077;
  Reply r = h_.Call(FUSE_TMPFILE, 1, Bytes(in));
  ASSERT_EQ(r.error(), 0);
  EXPECT_EQ(r.body.size(), sizeof(fuse_entry_out) + sizeof(fuse_open_out));
}

TEST_F(FileOpsTest, ReadWritesStraightIntoReplyBuffers) {
  const ScatteredBuffer* out = nullptr;
  bool dest_in_out = false;
  size_t dest_len = 0;
  EXPECT_CALL(h_.backend, Read(_, 5, 33, 4096, _, _))
      .WillOnce([&](const RequestContext&, NodeId, HandleId, uint64_t,
                    absl::Span<const iovec> dest, Done<size_t> done) {
        out = h_.last_out();
        dest_len = IovecTotalLength(dest);
        dest_in_out = true;
        for (const iovec& seg : dest) dest_in_out &= out->Contains(seg.iov_base);
        // The first byte of dest is the first byte after the out header.
        const iovec first_out = out->iov()[1];
        EXPECT_EQ(dest[0].iov_base, static_cast<char*>(first_out.iov_base) + 3);  // 16 = 13 + 3
        std::string data = "hello, zero copy";
        CopyToIovecs(dest, 0, data.data(), data.size());
        done(data.size());
      });
  fuse_read_in in = {};
  in.fh = 33;
  in.offset = 4096;
  in.size = 100;
  Reply r = h_.Call(FUSE_READ, 5, Bytes(in), /*out_size=*/16 + 100);
  ASSERT_EQ(r.error(), 0);
  EXPECT_TRUE(dest_in_out);
  EXPECT_EQ(dest_len, 100u);
  EXPECT_EQ(r.body, "hello, zero copy");
  EXPECT_EQ(r.written, 16u + 16u);
}

TEST_F(FileOpsTest, ReadIsClampedToTheReplyBuffer) {
  EXPECT_CALL(h_.backend, Read(_, 5, 1, 0, _, _))
      .WillOnce([&](const RequestContext&, NodeId, HandleId, uint64_t,
                    absl::Span<const iovec> dest, Done<size_t> done) {
        EXPECT_EQ(IovecTotalLength(dest), 64u);
        done(64);
      });
  fuse_read_in in = {};
  in.fh = 1;
  in.size = 1 << 20;
  Reply r = h_.Call(FUSE_READ, 5, Bytes(in), /*out_size=*/16 + 64);
  EXPECT_EQ(r.error(), 0);
  EXPECT_EQ(r.written, 80u);
}

TEST_F(FileOpsTest, ReadErrorsAndOverrun) {
  EXPECT_CALL(h_.backend, Read(_, 5, 1, 0, _, _)).WillOnce(CompleteArg<5>(ErrnoStatus(EBADF)));
  fuse_read_in in = {};
  in.fh = 1;
  in.size = 10;
  EXPECT_EQ(h_.Call(FUSE_READ, 5, Bytes(in)).error(), EBADF);
  // A backend claiming more than the buffer is a bug: EIO, not garbage.
  EXPECT_CALL(h_.backend, Read(_, 5, 1, 0, _, _)).WillOnce(CompleteArg<5>(size_t{11}));
  EXPECT_EQ(h_.Call(FUSE_READ, 5, Bytes(in)).error(), EIO);
  // Zero-length read: answered without the backend.
  in.size = 0;
  EXPECT_EQ(h_.Call(FUSE_READ, 5, Bytes(in)).written, 16u);
  in.offset = uint64_t{1} << 63;
  in.size = 1;
  EXPECT_EQ(h_.Call(FUSE_READ, 5, Bytes(in)).error(), EINVAL);
  EXPECT_EQ(h_.Call(FUSE_READ, 5, Bytes(in).substr(0, 20)).error(), EINVAL);
}

TEST_F(FileOpsTest, WritePassesGuestPayloadInPlace) {
  const std::string payload = "0123456789abcdefghijklmnopqrstuvwxyz";
  fuse_write_in in = {};
  in.fh = 44;
  in.offset = 10;
  in.size = payload.size();
  in.write_flags = FUSE_WRITE_KILL_SUIDGID;
  EXPECT_CALL(h_.backend, Write(_, 5, 44, 10, _, Field(&WriteFlags::kill_suidgid, true), _))
      .WillOnce([&](const RequestContext&, NodeId, HandleId, uint64_t,
                    absl::Span<const iovec> data, WriteFlags, Done<size_t> done) {
        std::string got(IovecTotalLength(data), '\0');
        CopyFromIovecs(data, 0, got.data(), got.size());
        EXPECT_EQ(got, payload);
        EXPECT_GT(data.size(), 1u);  // scattered over the 7-byte request segments
        done(got.size());
      });
  Reply r = h_.Call(FUSE_WRITE, 5, Bytes(in) + payload);
  ASSERT_EQ(r.error(), 0);
  ASSERT_EQ(r.body.size(), sizeof(fuse_write_out));
  EXPECT_EQ(r.As<fuse_write_out>().size, payload.size());
}

TEST_F(FileOpsTest, WriteSizeMustMatchPayload) {
  fuse_write_in in = {};
  in.fh = 1;
  in.size = 10;
  EXPECT_EQ(h_.Call(FUSE_WRITE, 5, Bytes(in) + "short").error(), EINVAL);
  EXPECT_EQ(h_.Call(FUSE_WRITE, 5, Bytes(in) + std::string(11, 'x')).error(), EINVAL);
  EXPECT_EQ(h_.Call(FUSE_WRITE, 5, Bytes(in).substr(0, 30)).error(), EINVAL);
  in.size = (1 << 20) + 1;  // beyond max_write
  EXPECT_EQ(h_.Call(FUSE_WRITE, 5, Bytes(in) + std::string(in.size, 'x')).error(), EINVAL);
}

TEST(FileOpsMaxWriteTest, TinyMaxWriteIsRaisedToOnePageLikeInit) {
  FuseSessionOptions options;
  options.max_write = 100;
  FuseHarness h(options);
  EXPECT_EQ(h.Init().As<fuse_init_out>().max_write, 4096u);
  EXPECT_CALL(h.backend, Write(_, 5, 1, 0, _, _, _)).WillOnce(CompleteArg<6>(size_t{4096}));
  fuse_write_in in = {};
  in.fh = 1;
  in.size = 4096;
  EXPECT_EQ(h.Call(FUSE_WRITE, 5, Bytes(in) + std::string(4096, 'w')).error(), 0);
}

TEST_F(FileOpsTest, FlushReleaseFsync) {
  EXPECT_CALL(h_.backend, Flush(_, 5, 2, 0xabcu, _)).WillOnce(CompleteArg<4>(absl::OkStatus()));
  fuse_flush_in fl = {};
  fl.fh = 2;
  fl.lock_owner = 0xabc;
  EXPECT_EQ(h_.Call(FUSE_FLUSH, 5, Bytes(fl)).error(), 0);

  EXPECT_CALL(h_.backend, Release(_, 5, 2, uint32_t{O_RDONLY}, Optional(0xdefu), true, _))
      .WillOnce(CompleteArg<6>(absl::OkStatus()));
  fuse_release_in rel = {};
  rel.fh = 2;
  rel.flags = O_RDONLY;
  rel.release_flags = FUSE_RELEASE_FLUSH | FUSE_RELEASE_FLOCK_UNLOCK;
  rel.lock_owner = 0xdef;
  EXPECT_EQ(h_.Call(FUSE_RELEASE, 5, Bytes(rel)).error(), 0);

  EXPECT_CALL(h_.backend, Release(_, 5, 2, _, Eq(std::nullopt), false, _))
      .WillOnce(CompleteArg<6>(absl::OkStatus()));
  rel.release_flags = 0;
  EXPECT_EQ(h_.Call(FUSE_RELEASE, 5, Bytes(rel)).error(), 0);

  EXPECT_CALL(h_.backend, Fsync(_, 5, 2, true, _)).WillOnce(CompleteArg<4>(ErrnoStatus(EIO)));
  fuse_fsync_in fs = {};
  fs.fh = 2;
  fs.fsync_flags = FUSE_FSYNC_FDATASYNC;
  EXPECT_EQ(h_.Call(FUSE_FSYNC, 5, Bytes(fs)).error(), EIO);
  EXPECT_EQ(h_.Call(FUSE_FSYNC, 5, "x").error(), EINVAL);
}

TEST_F(FileOpsTest, FallocateValidatesRange) {
  EXPECT_CALL(h_.backend, Fallocate(_, 5, 2, 100, 200, uint32_t{FALLOC_FL_KEEP_SIZE}, _))
      .WillOnce(CompleteArg<6>(absl::OkStatus()));
  fuse_fallocate_in in = {};
  in.fh = 2;
  in.offset = 100;
  in.length = 200;
  in.mode = FALLOC_FL_KEEP_SIZE;
  EXPECT_EQ(h_.Call(FUSE_FALLOCATE, 5, Bytes(in)).error(), 0);
  in.length = 0;
  EXPECT_EQ(h_.Call(FUSE_FALLOCATE, 5, Bytes(in)).error(), EINVAL);
  in.length = uint64_t{1} << 63;
  EXPECT_EQ(h_.Call(FUSE_FALLOCATE, 5, Bytes(in)).error(), EINVAL);
  in.offset = (uint64_t{1} << 63) - 10;
  in.length = 20;
  EXPECT_EQ(h_.Call(FUSE_FALLOCATE, 5, Bytes(in)).error(), EFBIG);
}

TEST_F(FileOpsTest, LseekDataAndHoleOnly) {
  EXPECT_CALL(h_.backend, Lseek(_, 5, 2, 10, uint32_t{SEEK_DATA}, _))
      .WillOnce(CompleteArg<5>(uint64_t{4096}));
  fuse_lseek_in in = {};
  in.fh = 2;
  in.offset = 10;
  in.whence = SEEK_DATA;
  Reply r = h_.Call(FUSE_LSEEK, 5, Bytes(in));
  ASSERT_EQ(r.error(), 0);
  EXPECT_EQ(r.As<fuse_lseek_out>().offset, 4096u);
  in.whence = SEEK_END;
  EXPECT_EQ(h_.Call(FUSE_LSEEK, 5, Bytes(in)).error(), EINVAL);
  EXPECT_CALL(h_.backend, Lseek(_, 5, 2, 10, uint32_t{SEEK_HOLE}, _))
      .WillOnce(CompleteArg<5>(ErrnoStatus(ENXIO)));
  in.whence = SEEK_HOLE;
  EXPECT_EQ(h_.Call(FUSE_LSEEK, 5, Bytes(in)).error(), ENXIO);
}

TEST_F(FileOpsTest, CopyFileRange) {
  EXPECT_CALL(h_.backend, CopyFileRange(_, 5, 2, 0, 6, 3, 512, 1000, 0, _))
      .WillOnce(CompleteArg<9>(size_t{1000}));
  fuse_copy_file_range_in in = {};
  in.fh_in = 2;
  in.nodeid_out = 6;
  in.fh_out = 3;
  in.off_out = 512;
  in.len = 1000;
  Reply r = h_.Call(FUSE_COPY_FILE_RANGE, 5, Bytes(in));
  ASSERT_EQ(r.error(), 0);
  EXPECT_EQ(r.As<fuse_write_out>().size, 1000u);
  in.nodeid_out = 0;
  EXPECT_EQ(h_.Call(FUSE_COPY_FILE_RANGE, 5, Bytes(in)).error(), EINVAL);
}

}  // namespace
}  // namespace vfsd
