// FuseClient against real daemons: what lookup/getattr/readdir/read/statfs
// /readlink/access return must match what the host has in the shared dir;
// errors carry the exact errno; forgets and queue depth 16 work.
#include "testing/fuse_client.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <set>
#include <string>

#include "absl/strings/str_cat.h"
#include "backends/errno_status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/fake_vmm_session.h"

namespace vfsd {
namespace {

using ::testing::IsSupersetOf;

std::string Pattern(size_t size) {
  std::string s(size, '\0');
  for (size_t i = 0; i < size; ++i) s[i] = static_cast<char>('a' + (i * 7 + i / 251) % 26);
  return s;
}

class FuseClientTest : public ::testing::TestWithParam<DaemonSpec> {
 protected:
  void SetUp() override {
    absl::StatusOr<std::string> dir = MakeTempDir("share");
    ASSERT_TRUE(dir.ok()) << dir.status();
    dir_ = *dir;
    content_ = Pattern(300000);
    std::ofstream(dir_ + "/hello.txt") << "hello, virtio-fs\n";
    std::ofstream(dir_ + "/big.bin") << content_;
    ASSERT_EQ(mkdir((dir_ + "/sub").c_str(), 0755), 0);
    std::ofstream(dir_ + "/sub/inner") << "x";
    ASSERT_EQ(symlink("hello.txt", (dir_ + "/link").c_str()), 0);
    ASSERT_EQ(chmod((dir_ + "/hello.txt").c_str(), 0640), 0);
  }

  void Start(FakeVmmSessionOptions options = {}) {
    absl::StatusOr<std::unique_ptr<FakeVmmSession>> session =
        FakeVmmSession::Start(GetParam(), dir_, options);
    ASSERT_TRUE(session.ok()) << session.status();
    session_ = std::move(*session);
    fuse_ = session_->fuse.get();
  }

  std::string dir_;
  std::string content_;
  std::unique_ptr<FakeVmmSession> session_;
  FuseClient* fuse_ = nullptr;
};

TEST_P(FuseClientTest, LookupAndGetAttrMatchHost) {
  ASSERT_NO_FATAL_FAILURE(Start());
  struct stat host;
  ASSERT_EQ(stat((dir_ + "/hello.txt").c_str(), &host), 0);
  absl::StatusOr<fuse_entry_out> entry = fuse_->Lookup(FUSE_ROOT_ID, "hello.txt");
  ASSERT_TRUE(entry.ok()) << entry.status();
  EXPECT_NE(entry->nodeid, 0u);
  EXPECT_EQ(entry->attr.ino, host.st_ino);
  EXPECT_EQ(entry->attr.size, static_cast<uint64_t>(host.st_size));
  EXPECT_EQ(entry->attr.mode, host.st_mode);
  EXPECT_EQ(entry->attr.nlink, host.st_nlink);
  EXPECT_EQ(entry->attr.uid, host.st_uid);
  absl::StatusOr<fuse_attr_out> attr = fuse_->GetAttr(entry->nodeid);
  ASSERT_TRUE(attr.ok()) << attr.status();
  EXPECT_EQ(attr->attr.ino, host.st_ino);
  EXPECT_EQ(attr->attr.mtime, static_cast<uint64_t>(host.st_mtim.tv_sec));
  EXPECT_EQ(attr->attr.mtimensec, static_cast<uint32_t>(host.st_mtim.tv_nsec));

  absl::StatusOr<fuse_entry_out> sub = fuse_->Lookup(FUSE_ROOT_ID, "sub");
  ASSERT_TRUE(sub.ok()) << sub.status();
  EXPECT_TRUE(S_ISDIR(sub->attr.mode));
  absl::StatusOr<fuse_entry_out> inner = fuse_->Lookup(sub->nodeid, "inner");
  ASSERT_TRUE(inner.ok()) << inner.status();
  EXPECT_EQ(inner->attr.size, 1u);
}

TEST_P(FuseClientTest, MissingNameIsEnoent) {
  ASSERT_NO_FATAL_FAILURE(Start());
  absl::StatusOr<fuse_entry_out> entry = fuse_->Lookup(FUSE_ROOT_ID, "nope");
  ASSERT_FALSE(entry.ok());
  EXPECT_EQ(ErrnoOf(entry.status()), ENOENT);
}

TEST_P(FuseClientTest, ReadDirAndReadDirPlusListHostEntries) {
  ASSERT_NO_FATAL_FAILURE(Start());
  absl::StatusOr<fuse_open_out> dir = fuse_->OpenDir(FUSE_ROOT_ID);
  ASSERT_TRUE(dir.ok()) << dir.status();
  std::set<std::string> names;
  uint64_t offset = 0;
  for (int round = 0; round < 100; ++round) {
    absl::StatusOr<std::vector<FuseDirEntry>> entries =
        fuse_->ReadDir(FUSE_ROOT_ID, dir->fh, offset, 80);  // small: forces resuming
    ASSERT_TRUE(entries.ok()) << entries.status();
    if (entries->empty()) break;
    for (const FuseDirEntry& e : *entries) {
      names.insert(e.name);
      offset = e.off;
      if (e.name == "sub") {
        EXPECT_EQ(e.type, static_cast<uint32_t>(DT_DIR));
      }
      if (e.name == "link") {
        EXPECT_EQ(e.type, static_cast<uint32_t>(DT_LNK));
      }
    }
  }
  EXPECT_THAT(names, IsSupersetOf({".", "..", "hello.txt", "big.bin", "sub", "link"}));
  EXPECT_EQ(names.size(), 6u);

  absl::StatusOr<std::vector<FuseDirEntryPlus>> plus =
      fuse_->ReadDirPlus(FUSE_ROOT_ID, dir->fh, 0, 64 * 1024);
  ASSERT_TRUE(plus.ok()) << plus.status();
  std::map<std::string, fuse_entry_out> by_name;
  for (const FuseDirEntryPlus& e : *plus) by_name[e.dirent.name] = e.entry;
  ASSERT_TRUE(by_name.count("big.bin"));
  EXPECT_EQ(by_name["big.bin"].attr.size, content_.size());
  EXPECT_NE(by_name["big.bin"].nodeid, 0u);
  EXPECT_TRUE(fuse_->ReleaseDir(FUSE_ROOT_ID, dir->fh).ok());
}

TEST_P(FuseClientTest, ReadReturnsHostBytes) {
  ASSERT_NO_FATAL_FAILURE(Start());
  absl::StatusOr<fuse_entry_out> entry = fuse_->Lookup(FUSE_ROOT_ID, "big.bin");
  ASSERT_TRUE(entry.ok()) << entry.status();
  absl::StatusOr<fuse_open_out> file = fuse_->Open(entry->nodeid, O_RDONLY);
  ASSERT_TRUE(file.ok()) << file.status();
  for (uint64_t offset : {0ul, 4096ul, 12345ul, 299000ul}) {
    absl::StatusOr<std::string> data = fuse_->Read(entry->nodeid, file->fh, offset, 4096);
    ASSERT_TRUE(data.ok()) << data.status();
    EXPECT_EQ(*data, content_.substr(offset, 4096)) << "offset " << offset;
  }
  absl::StatusOr<std::string> big = fuse_->Read(entry->nodeid, file->fh, 0, 128 * 1024);
  ASSERT_TRUE(big.ok()) << big.status();
  EXPECT_EQ(*big, content_.substr(0, 128 * 1024));
  absl::StatusOr<std::string> past_end =
      fuse_->Read(entry->nodeid, file->fh, content_.size() + 10, 4096);
  ASSERT_TRUE(past_end.ok());
  EXPECT_TRUE(past_end->empty());
  EXPECT_TRUE(fuse_->Flush(entry->nodeid, file->fh).ok());
  EXPECT_TRUE(fuse_->Release(entry->nodeid, file->fh).ok());
}

TEST_P(FuseClientTest, StatFsReadLinkAccess) {
  ASSERT_NO_FATAL_FAILURE(Start());
  struct statvfs host;
  ASSERT_EQ(statvfs(dir_.c_str(), &host), 0);
  absl::StatusOr<fuse_statfs_out> st = fuse_->StatFs(FUSE_ROOT_ID);
  ASSERT_TRUE(st.ok()) << st.status();
  EXPECT_EQ(st->st.blocks, host.f_blocks);
  EXPECT_EQ(st->st.bsize, host.f_bsize);

  absl::StatusOr<fuse_entry_out> link = fuse_->Lookup(FUSE_ROOT_ID, "link");
  ASSERT_TRUE(link.ok()) << link.status();
  EXPECT_TRUE(S_ISLNK(link->attr.mode));
  absl::StatusOr<std::string> target = fuse_->ReadLink(link->nodeid);
  ASSERT_TRUE(target.ok()) << target.status();
  EXPECT_EQ(*target, "hello.txt");

  // The reference virtiofsd has no access handler and answers ENOSYS,
  // which the kernel caches as "permission checks are local" (fc->no_access).
  absl::Status access = fuse_->Access(FUSE_ROOT_ID, R_OK | X_OK);
  EXPECT_TRUE(access.ok() || ErrnoOf(access) == ENOSYS) << access;
}

TEST_P(FuseClientTest, ForgetAndBatchForgetOnHiprioQueue) {
  ASSERT_NO_FATAL_FAILURE(Start());
  absl::StatusOr<fuse_entry_out> a = fuse_->Lookup(FUSE_ROOT_ID, "hello.txt");
  absl::StatusOr<fuse_entry_out> b = fuse_->Lookup(FUSE_ROOT_ID, "sub");
  absl::StatusOr<fuse_entry_out> b2 = fuse_->Lookup(FUSE_ROOT_ID, "sub");
  ASSERT_TRUE(a.ok() && b.ok() && b2.ok());
  EXPECT_TRUE(fuse_->Forget(a->nodeid, 1).ok());
  const fuse_forget_one forgets[] = {{b->nodeid, 2}};
  EXPECT_TRUE(fuse_->BatchForget(forgets).ok());
  EXPECT_EQ(session_->vmm->hiprio_queue().avail_idx(), 2);
  // The daemon still works, and a fresh lookup gives a usable node.
  absl::StatusOr<fuse_entry_out> again = fuse_->Lookup(FUSE_ROOT_ID, "hello.txt");
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_TRUE(fuse_->GetAttr(again->nodeid).ok());
}

// Queue depth 16, in the indirect and the direct descriptor layouts, over
// three memory regions: every reply carries the right data.
TEST_P(FuseClientTest, SixteenReadsInFlight) {
  for (bool indirect : {false, true}) {
    SCOPED_TRACE(indirect ? "indirect" : "direct");
    FakeVmmSessionOptions options;
    options.client.indirect = indirect;
    options.client.max_in_flight = 16;
    options.vmm.memory.region_sizes = {8ull << 20, 8ull << 20, 16ull << 20};
    ASSERT_NO_FATAL_FAILURE(Start(options));
    absl::StatusOr<fuse_entry_out> entry = fuse_->Lookup(FUSE_ROOT_ID, "big.bin");
    ASSERT_TRUE(entry.ok()) << entry.status();
    absl::StatusOr<fuse_open_out> file = fuse_->Open(entry->nodeid, O_RDONLY);
    ASSERT_TRUE(file.ok()) << file.status();
    std::map<uint64_t, uint64_t> offset_of;  // unique -> offset
    for (int round = 0; round < 4; ++round) {
      for (int i = 0; i < 16; ++i) {
        fuse_read_in in{};
        in.fh = file->fh;
        in.offset = static_cast<uint64_t>(round * 16 + i) * 4096;
        in.size = 4096;
        absl::StatusOr<uint64_t> unique = fuse_->Submit(
            FUSE_READ, entry->nodeid,
            {absl::Span<const uint8_t>(reinterpret_cast<const uint8_t*>(&in), sizeof(in))},
            4096);
        ASSERT_TRUE(unique.ok()) << unique.status();
        offset_of[*unique] = in.offset;
      }
      EXPECT_FALSE(fuse_->Submit(FUSE_GETATTR, FUSE_ROOT_ID, {}, 128).ok());  // full
      ASSERT_TRUE(fuse_->Kick().ok());
      for (int i = 0; i < 16; ++i) {
        absl::StatusOr<FuseCompletion> done = fuse_->WaitCompletion();
        ASSERT_TRUE(done.ok()) << done.status();
        ASSERT_EQ(done->error, 0);
        ASSERT_TRUE(offset_of.count(done->unique));
        const uint64_t offset = offset_of[done->unique];
        offset_of.erase(done->unique);
        EXPECT_EQ(std::string(done->payload.begin(), done->payload.end()),
                  content_.substr(offset, 4096));
      }
    }
    EXPECT_TRUE(offset_of.empty());
    EXPECT_EQ(fuse_->in_flight(), 0);
    session_.reset();
  }
}

TEST_P(FuseClientTest, GenericCallReportsErrors) {
  ASSERT_NO_FATAL_FAILURE(Start());
  // GETATTR of a nodeid the daemon never handed out.
  fuse_getattr_in in{};
  absl::StatusOr<FuseReply> reply = fuse_->Call(
      FUSE_GETATTR, 0xdead0000, absl::Span<const uint8_t>(reinterpret_cast<uint8_t*>(&in),
                                                          sizeof(in)),
      sizeof(fuse_attr_out));
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_LT(reply->error, 0);
  EXPECT_TRUE(reply->payload.empty());
}

INSTANTIATE_TEST_SUITE_P(Daemons, FuseClientTest, ::testing::ValuesIn(DaemonsUnderTest()),
                         [](const ::testing::TestParamInfo<DaemonSpec>& info) {
                           return info.param.name;
                         });
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(FuseClientTest);

}  // namespace
}  // namespace vfsd
