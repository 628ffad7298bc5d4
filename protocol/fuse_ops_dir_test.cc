// Directory operations: OPENDIR flags, READDIR/READDIRPLUS record packing
// (alignment, truncation at the guest's size), partial results on error.
#include <dirent.h>
#include <linux/fuse.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "backends/errno_status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "protocol/dirent_writer.h"
#include "protocol/fuse_test_util.h"

namespace vfsd {
namespace {

using ::testing::_;
using namespace testing_util;

class DirOpsTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_EQ(h_.Init().error(), 0); }
  FuseHarness h_;
};

// A backend directory: adds entries from `names` starting after `offset`
// while they fit, as a real backend does.
auto ListDir(std::vector<std::string> names, absl::Status status = absl::OkStatus()) {
  return [names, status](const RequestContext&, NodeId, HandleId, uint64_t offset, bool plus,
                         DirEntrySink& sink, DoneStatus done) {
    for (size_t i = offset; i < names.size(); ++i) {
      if (!sink.Fits(names[i].size())) break;
      DirEntry d;
      d.ino = 100 + i;
      d.next_offset = i + 1;
      d.type = DT_REG;
      d.name = names[i];
      Entry e = SampleEntry(200 + i);
      const bool dot = names[i] == "." || names[i] == "..";
      sink.Add(d, plus && !dot ? &e : nullptr);
    }
    done(status);
  };
}

struct Dirent {
  uint64_t ino, off;
  uint32_t type;
  std::string name;
  uint64_t nodeid = 0;
};

std::vector<Dirent> ParseDirents(const std::string& body, bool plus) {
  std::vector<Dirent> out;
  size_t at = 0;
  while (at < body.size()) {
    Dirent d;
    size_t head = at;
    if (plus) {
      fuse_entry_out e;
      memcpy(&e, body.data() + at, sizeof(e));
      d.nodeid = e.nodeid;
      head += sizeof(e);
    }
    fuse_dirent fd;
    memcpy(&fd, body.data() + head, FUSE_NAME_OFFSET);
    d.ino = fd.ino;
    d.off = fd.off;
    d.type = fd.type;
    d.name = body.substr(head + FUSE_NAME_OFFSET, fd.namelen);
    const size_t rec = FUSE_DIRENT_ALIGN(head - at + FUSE_NAME_OFFSET + fd.namelen);
    EXPECT_EQ(rec % 8, 0u);
    // Padding is zeroed.
    for (size_t p = head + FUSE_NAME_OFFSET + fd.namelen; p < at + rec; ++p) {
      EXPECT_EQ(body[p], '\0');
    }
    at += rec;
    out.push_back(d);
  }
  EXPECT_EQ(at, body.size());
  return out;
}

TEST_F(DirOpsTest, OpenDir) {
  OpenResult open;
  open.handle = 12;
  EXPECT_CALL(h_.backend, OpenDir(_, 3, 0u, _)).WillOnce(CompleteArg<3>(open));
  fuse_open_in in = {};
  Reply r = h_.Call(FUSE_OPENDIR, 3, Bytes(in));
  ASSERT_EQ(r.error(), 0);
  EXPECT_EQ(r.As<fuse_open_out>().fh, 12u);
  EXPECT_EQ(r.As<fuse_open_out>().open_flags, 0u);
}

TEST(DirOpsCacheTest, OpenDirCachesWithCacheAlways) {
  FuseSessionOptions options;
  options.cache_mode = CacheMode::kAlways;
  FuseHarness h(options);
  h.Init();
  EXPECT_CALL(h.backend, OpenDir(_, 3, _, _)).WillOnce(CompleteArg<3>(OpenResult{}));
  fuse_open_in in = {};
  EXPECT_EQ(h.Call(FUSE_OPENDIR, 3, Bytes(in)).As<fuse_open_out>().open_flags,
            uint32_t{FOPEN_KEEP_CACHE | FOPEN_CACHE_DIR});
}

TEST_F(DirOpsTest, ReadDirPacksAlignedRecords) {
  EXPECT_CALL(h_.backend, ReadDir(_, 3, 12, 0, false, _, _))
      .WillOnce(ListDir({".", "..", "a", "seven77", "eight888"}));
  fuse_read_in in = {};
  in.fh = 12;
  in.size = 4096;
  Reply r = h_.Call(FUSE_READDIR, 3, Bytes(in));
  ASSERT_EQ(r.error(), 0);
  std::vector<Dirent> d = ParseDirents(r.body, false);
  ASSERT_EQ(d.size(), 5u);
  EXPECT_EQ(d[0].name, ".");
  EXPECT_EQ(d[2].name, "a");
  EXPECT_EQ(d[2].ino, 102u);
  EXPECT_EQ(d[2].off, 3u);
  EXPECT_EQ(d[2].type, uint32_t{DT_REG});
  EXPECT_EQ(d[3].name, "seven77");
  EXPECT_EQ(d[4].name, "eight888");
  // 24-byte header + name, rounded up to 8: 32, 32, 32, 32, 32.
  EXPECT_EQ(r.body.size(), 5u * 32);
}

TEST_F(DirOpsTest, ReadDirStopsAtTheGuestsSize) {
  EXPECT_CALL(h_.backend, ReadDir(_, 3, 12, 0, false, _, _))
      .WillOnce(ListDir({"aaaa", "bbbb", "cccc"}));
  fuse_read_in in = {};
  in.fh = 12;
  in.size = 70;  // two 32-byte records fit, the third does not
  Reply r = h_.Call(FUSE_READDIR, 3, Bytes(in));
  ASSERT_EQ(r.error(), 0);
  std::vector<Dirent> d = ParseDirents(r.body, false);
  ASSERT_EQ(d.size(), 2u);
  EXPECT_EQ(d[1].off, 2u);  // the guest resumes from here
}

TEST_F(DirOpsTest, ReadDirStopsAtTheReplyBuffer) {
  EXPECT_CALL(h_.backend, ReadDir(_, 3, 12, 0, false, _, _))
      .WillOnce(ListDir({"aaaa", "bbbb", "cccc"}));
  fuse_read_in in = {};
  in.fh = 12;
  in.size = 4096;
  Reply r = h_.Call(FUSE_READDIR, 3, Bytes(in), /*out_size=*/16 + 40);
  ASSERT_EQ(r.error(), 0);
  EXPECT_EQ(ParseDirents(r.body, false).size(), 1u);
}

TEST_F(DirOpsTest, ReadDirPlusCarriesEntries) {
  EXPECT_CALL(h_.backend, ReadDir(_, 3, 12, 1, true, _, _))
      .WillOnce(ListDir({".", "..", "file"}));
  fuse_read_in in = {};
  in.fh = 12;
  in.offset = 1;
  in.size = 4096;
  Reply r = h_.Call(FUSE_READDIRPLUS, 3, Bytes(in));
  ASSERT_EQ(r.error(), 0);
  std::vector<Dirent> d = ParseDirents(r.body, true);
  ASSERT_EQ(d.size(), 2u);
  EXPECT_EQ(d[0].name, "..");
  EXPECT_EQ(d[0].nodeid, 0u);  // no entry: the kernel makes no dentry
  EXPECT_EQ(d[1].name, "file");
  EXPECT_EQ(d[1].nodeid, 202u);
  fuse_entry_out e;
  memcpy(&e, r.body.data() + FUSE_DIRENT_ALIGN(FUSE_NAME_OFFSET_DIRENTPLUS + 2), sizeof(e));
  EXPECT_EQ(e.entry_valid, 1u);
  EXPECT_EQ(e.attr.ino, 302u);
}

TEST_F(DirOpsTest, ReadDirErrorWithoutEntriesIsReported) {
  EXPECT_CALL(h_.backend, ReadDir(_, 3, 12, 0, false, _, _))
      .WillOnce(ListDir({}, ErrnoStatus(EBADF)));
  fuse_read_in in = {};
  in.fh = 12;
  in.size = 4096;
  EXPECT_EQ(h_.Call(FUSE_READDIR, 3, Bytes(in)).error(), EBADF);
}

TEST_F(DirOpsTest, ReadDirErrorAfterEntriesKeepsThem) {
  // READDIRPLUS entries hold lookup references: they must reach the guest.
  EXPECT_CALL(h_.backend, ReadDir(_, 3, 12, 0, true, _, _))
      .WillOnce(ListDir({"x", "y"}, ErrnoStatus(EIO)));
  fuse_read_in in = {};
  in.fh = 12;
  in.size = 4096;
  Reply r = h_.Call(FUSE_READDIRPLUS, 3, Bytes(in));
  ASSERT_EQ(r.error(), 0);
  EXPECT_EQ(ParseDirents(r.body, true).size(), 2u);
}

TEST_F(DirOpsTest, ReleaseDirAndFsyncDir) {
  EXPECT_CALL(h_.backend, ReleaseDir(_, 3, 12, _)).WillOnce(CompleteArg<3>(absl::OkStatus()));
  fuse_release_in rel = {};
  rel.fh = 12;
  EXPECT_EQ(h_.Call(FUSE_RELEASEDIR, 3, Bytes(rel)).error(), 0);
  EXPECT_CALL(h_.backend, FsyncDir(_, 3, 12, false, _)).WillOnce(CompleteArg<4>(absl::OkStatus()));
  fuse_fsync_in fs = {};
  fs.fh = 12;
  EXPECT_EQ(h_.Call(FUSE_FSYNCDIR, 3, Bytes(fs)).error(), 0);
  EXPECT_EQ(h_.Call(FUSE_RELEASEDIR, 3, "tiny").error(), EINVAL);
  EXPECT_EQ(h_.Call(FUSE_READDIR, 3, "tiny").error(), EINVAL);
}

TEST(DirentWriterTest, FitsAndDropsBadNames) {
  std::string buf(64, 'x');
  iovec iov{buf.data(), buf.size()};
  DirentWriter w(absl::MakeConstSpan(&iov, 1), 0, 64, /*plus=*/false, 1, false);
  EXPECT_TRUE(w.Fits(8));    // 32 bytes
  EXPECT_FALSE(w.Fits(41));  // 72 bytes
  DirEntry d;
  d.name = "";
  w.Add(d, nullptr);  // dropped: the kernel would reject a 0-length name
  EXPECT_EQ(w.count(), 0u);
  d.name = "a/b";
  w.Add(d, nullptr);  // dropped: the kernel rejects names with '/'
  EXPECT_EQ(w.count(), 0u);
  d.name = "12345678";
  w.Add(d, nullptr);
  w.Add(d, nullptr);
  w.Add(d, nullptr);  // does not fit: dropped, nothing written past 64 bytes
  EXPECT_EQ(w.count(), 2u);
  EXPECT_EQ(w.size(), 64u);
}

}  // namespace
}  // namespace vfsd
