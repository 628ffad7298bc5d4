// PassthroughBackend READDIR/READDIRPLUS across pages on one handle: the
// handle's DirReader cursor (resume without lseek) must give exactly what a
// seek to the guest's offset would, whatever offset the guest sends next
// (continue, rewind to 0, seekdir back, another handle interleaved) and
// whatever changes in the directory between pages.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "backends/passthrough/passthrough_backend.h"
#include "gtest/gtest.h"
#include "testing/conformance/host_tree.h"
#include "testing/conformance/sync_backend.h"

namespace vfsd {
namespace {

using Records = std::vector<RecordingDirSink::Record>;

// A FUSE page holds ~100 short fuse_dirent records; tests use smaller pages
// so a few hundred files span many replies.
constexpr size_t kPage = 1024;

class PassthroughDirOpsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<TempShare> share = TempShare::Create();
    ASSERT_TRUE(share.ok()) << share.status();
    share_ = std::make_unique<TempShare>(*std::move(share));
    ASSERT_TRUE(::mkdir(HostPath("d").c_str(), 0755) == 0);
    BackendConfig config;
    config.shared_dir = share_->path();
    absl::StatusOr<std::unique_ptr<Backend>> backend = PassthroughBackend::Create(config);
    ASSERT_TRUE(backend.ok()) << backend.status();
    backend_.reset(static_cast<PassthroughBackend*>(backend->release()));
    fs_ = std::make_unique<SyncBackend>(*backend_);
    absl::StatusOr<Entry> d = fs_->Lookup(kRootNodeId, "d");
    ASSERT_TRUE(d.ok()) << d.status();
    dir_ = d->node;
  }

  std::string HostPath(absl::string_view relative) {
    return absl::StrCat(share_->path(), "/", relative);
  }

  void MakeFile(const std::string& name) {
    const int fd = ::open(HostPath("d/" + name).c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
    ASSERT_GE(fd, 0) << name;
    ::close(fd);
  }
  void MakeFiles(int n, const std::string& prefix = "file-") {
    for (int i = 0; i < n; ++i) MakeFile(absl::StrCat(prefix, i));
  }

  HandleId OpenDir() {
    absl::StatusOr<OpenResult> dir = fs_->OpenDir(dir_);
    EXPECT_TRUE(dir.ok()) << dir.status();
    return dir.ok() ? dir->handle : 0;
  }

  // One reply of at most `budget` bytes from `offset`.
  Records Page(HandleId handle, uint64_t offset, bool plus = false, size_t budget = kPage) {
    RecordingDirSink sink(budget, plus);
    absl::Status status = fs_->ReadDir(dir_, handle, offset, plus, sink);
    EXPECT_TRUE(status.ok()) << status;
    EXPECT_EQ(sink.overflows(), 0);
    return sink.records();
  }

  // Pages from `offset` until an empty one, the way the guest's getdents
  // loop asks for them.
  Records ReadToEnd(HandleId handle, uint64_t offset, bool plus = false, size_t budget = kPage) {
    Records all;
    for (int pages = 0; pages < 10000; ++pages) {
      Records page = Page(handle, offset, plus, budget);
      if (page.empty()) return all;
      offset = page.back().next_offset;
      all.insert(all.end(), page.begin(), page.end());
    }
    ADD_FAILURE() << "listing does not end";
    return all;
  }

  static std::multiset<std::string> Names(const Records& records) {
    std::multiset<std::string> names;
    for (const auto& r : records) names.insert(r.name);
    return names;
  }

  void ForgetAll(const Records& records) {
    for (const auto& r : records) {
      if (r.entry.has_value()) fs_->Forget(r.entry->node, 1);
    }
  }

  std::unique_ptr<TempShare> share_;
  std::unique_ptr<PassthroughBackend> backend_;
  std::unique_ptr<SyncBackend> fs_;
  NodeId dir_ = 0;
};

TEST_F(PassthroughDirOpsTest, ListsEveryEntryOnceAcrossManyPages) {
  MakeFiles(500);  // more than one 32 KiB getdents64 buffer, ~25 pages
  const HandleId h = OpenDir();
  Records all = ReadToEnd(h, 0);
  std::multiset<std::string> names = Names(all);
  EXPECT_EQ(names.size(), 502u);
  EXPECT_EQ(std::set<std::string>(names.begin(), names.end()).size(), 502u);
  EXPECT_EQ(names.count("."), 1u);
  EXPECT_EQ(names.count("file-499"), 1u);
  EXPECT_TRUE(fs_->ReleaseDir(dir_, h).ok());
}

TEST_F(PassthroughDirOpsTest, ResumeAtAnyEarlierOffsetMatchesAFreshHandle) {
  MakeFiles(120);
  const HandleId h = OpenDir();
  const Records all = ReadToEnd(h, 0);
  ASSERT_EQ(all.size(), 122u);
  // seekdir() back to every cookie, on the handle that has read to the end
  // (its cursor is elsewhere), and also pages continued from there.
  for (size_t i = 0; i < all.size(); i += 7) {
    Records rest = ReadToEnd(h, all[i].next_offset);
    ASSERT_EQ(rest.size(), all.size() - i - 1) << "after entry " << i;
    for (size_t j = 0; j < rest.size(); ++j) EXPECT_EQ(rest[j].name, all[i + 1 + j].name);
  }
  EXPECT_TRUE(fs_->ReleaseDir(dir_, h).ok());
}

TEST_F(PassthroughDirOpsTest, RepeatedPageAtTheSameOffsetIsTheSame) {
  MakeFiles(100);
  const HandleId h = OpenDir();
  const Records first = Page(h, 0);
  ASSERT_FALSE(first.empty());
  const uint64_t resume = first.back().next_offset;
  const Records second = Page(h, resume);
  // The guest retries the same offset (e.g. its reply was lost to a signal).
  const Records again = Page(h, resume);
  ASSERT_FALSE(second.empty());
  EXPECT_EQ(Names(again), Names(second));
  EXPECT_TRUE(fs_->ReleaseDir(dir_, h).ok());
}

TEST_F(PassthroughDirOpsTest, RewindToZeroSeesEntriesCreatedSince) {
  MakeFiles(150);
  const HandleId h = OpenDir();
  const Records before = ReadToEnd(h, 0);
  ASSERT_EQ(before.size(), 152u);
  MakeFile("created-after-listing");
  ASSERT_EQ(::unlink(HostPath("d/file-7").c_str()), 0);
  // rewinddir(): offset 0 again on the same handle.
  const std::multiset<std::string> after = Names(ReadToEnd(h, 0));
  EXPECT_EQ(after.size(), 152u);
  EXPECT_EQ(after.count("created-after-listing"), 1u);
  EXPECT_EQ(after.count("file-7"), 0u);
  EXPECT_TRUE(fs_->ReleaseDir(dir_, h).ok());
}

TEST_F(PassthroughDirOpsTest, FirstReadSeesEntriesCreatedAfterOpenDir) {
  MakeFiles(20);
  const HandleId h = OpenDir();
  MakeFile("created-after-opendir");
  ASSERT_EQ(::unlink(HostPath("d/file-3").c_str()), 0);
  const std::multiset<std::string> names = Names(ReadToEnd(h, 0));
  EXPECT_EQ(names.size(), 22u);
  EXPECT_EQ(names.count("created-after-opendir"), 1u);
  EXPECT_EQ(names.count("file-3"), 0u);
  EXPECT_TRUE(fs_->ReleaseDir(dir_, h).ok());
}

TEST_F(PassthroughDirOpsTest, EntriesAddedAndRemovedBetweenPages) {
  MakeFiles(300);
  const HandleId h = OpenDir();
  const Records first = Page(h, 0);
  ASSERT_GT(first.size(), 2u);
  std::set<std::string> seen;
  for (const auto& r : first) seen.insert(r.name);
  // Between pages: remove one listed file and every file whose number ends
  // in 3, add new ones.
  std::set<std::string> removed;
  for (const auto& r : first) {
    if (r.name != "." && r.name != "..") {
      removed.insert(r.name);
      break;
    }
  }
  for (int i = 3; i < 300; i += 10) removed.insert(absl::StrCat("file-", i));
  for (const std::string& name : removed) {
    ASSERT_EQ(::unlink(HostPath("d/" + name).c_str()), 0) << name;
  }
  MakeFiles(40, "new-");
  const Records rest = ReadToEnd(h, first.back().next_offset);
  std::multiset<std::string> names = Names(first);
  for (const auto& r : rest) names.insert(r.name);
  // POSIX: no entry twice; every entry that existed throughout exactly
  // once; removed and added ones at most once (readdir(3) has the same
  // latitude, its buffer holds entries read before the change).
  for (const std::string& name : std::set<std::string>(names.begin(), names.end())) {
    EXPECT_EQ(names.count(name), 1u) << name;
  }
  for (int i = 0; i < 300; ++i) {
    const std::string name = absl::StrCat("file-", i);
    if (!removed.count(name)) EXPECT_EQ(names.count(name), 1u) << name;
  }
  EXPECT_TRUE(fs_->ReleaseDir(dir_, h).ok());
}

TEST_F(PassthroughDirOpsTest, ReadDirPlusSkipsEntriesRemovedBetweenPages) {
  MakeFiles(200);
  const size_t base = backend_->node_count();
  const HandleId h = OpenDir();
  const size_t plus_page = 2048;  // ~12 direntplus records
  const Records first = Page(h, 0, /*plus=*/true, plus_page);
  ASSERT_GT(first.size(), 2u);
  std::set<std::string> seen;
  for (const auto& r : first) seen.insert(r.name);
  // Remove everything not listed yet: the cursor may hold some of those
  // names in its buffer, but READDIRPLUS must not list a file it cannot
  // look up, nor take a reference for it.
  for (int i = 0; i < 200; ++i) {
    const std::string name = absl::StrCat("file-", i);
    if (!seen.count(name)) ASSERT_EQ(::unlink(HostPath("d/" + name).c_str()), 0);
  }
  const Records rest = ReadToEnd(h, first.back().next_offset, /*plus=*/true, plus_page);
  for (const auto& r : rest) {
    EXPECT_TRUE(r.name == "." || r.name == "..") << r.name << " was removed";
  }
  size_t referenced = 0;
  for (const auto& r : first) referenced += r.entry.has_value();
  for (const auto& r : rest) referenced += r.entry.has_value();
  EXPECT_EQ(backend_->node_count(), base + referenced);
  ForgetAll(first);
  ForgetAll(rest);
  EXPECT_EQ(backend_->node_count(), base);
  EXPECT_TRUE(fs_->ReleaseDir(dir_, h).ok());
}

TEST_F(PassthroughDirOpsTest, NameThatDoesNotFitStartsTheNextPage) {
  MakeFiles(60);
  const std::string long_name(255, 'L');
  MakeFile(long_name);
  // Pages just big enough for the long name: wherever it falls, it does
  // not fit behind the short names before it and must open the next page,
  // neither lost nor repeated.
  const size_t budget = (24 + 255 + 7) & ~size_t{7};
  const HandleId h = OpenDir();
  int pages_led_by_long_name = 0;
  uint64_t offset = 0;
  std::multiset<std::string> names;
  for (int i = 0; i < 1000; ++i) {
    const Records page = Page(h, offset, false, budget);
    if (page.empty()) break;
    if (page.front().name == long_name) ++pages_led_by_long_name;
    for (const auto& r : page) names.insert(r.name);
    offset = page.back().next_offset;
  }
  EXPECT_EQ(names.size(), 63u);
  EXPECT_EQ(names.count(long_name), 1u);
  EXPECT_EQ(pages_led_by_long_name, 1);
  // The same with READDIRPLUS, where the entry must also hold exactly one
  // reference.
  const size_t base = backend_->node_count();
  const Records plus = ReadToEnd(h, 0, /*plus=*/true, 128 + budget);
  EXPECT_EQ(Names(plus).count(long_name), 1u);
  EXPECT_EQ(plus.size(), 63u);
  ForgetAll(plus);
  EXPECT_EQ(backend_->node_count(), base);
  EXPECT_TRUE(fs_->ReleaseDir(dir_, h).ok());
}

// A second listing finds every file already a node (the fast path for
// known entries): the same node ids and attributes as LOOKUP, one more
// reference each, and a file replaced under a known name is a new node.
TEST_F(PassthroughDirOpsTest, ReadDirPlusOfKnownEntriesMatchesLookup) {
  MakeFiles(40);
  const size_t base = backend_->node_count();
  const HandleId h = OpenDir();
  const Records first = ReadToEnd(h, 0, /*plus=*/true);
  ASSERT_EQ(first.size(), 42u);
  EXPECT_EQ(backend_->node_count(), base + 40);
  // Replace one file by another under the same name, and grow another.
  ASSERT_EQ(::unlink(HostPath("d/file-5").c_str()), 0);
  ASSERT_EQ(::mkdir(HostPath("d/file-5").c_str(), 0700), 0);
  ASSERT_EQ(::truncate(HostPath("d/file-6").c_str(), 12345), 0);
  const Records second = ReadToEnd(h, 0, /*plus=*/true);
  ASSERT_EQ(second.size(), 42u);
  EXPECT_EQ(backend_->node_count(), base + 41);  // only file-5 is new
  std::map<std::string, Entry> first_entries;
  for (const auto& r : first) {
    if (r.entry.has_value()) first_entries[r.name] = *r.entry;
  }
  for (const auto& r : second) {
    if (!r.entry.has_value()) continue;
    absl::StatusOr<Entry> looked_up = fs_->Lookup(dir_, r.name);
    ASSERT_TRUE(looked_up.ok()) << r.name;
    EXPECT_EQ(r.entry->node, looked_up->node) << r.name;
    EXPECT_EQ(r.entry->attr.ino, looked_up->attr.ino) << r.name;
    EXPECT_EQ(r.entry->attr.mode, looked_up->attr.mode) << r.name;
    EXPECT_EQ(r.entry->attr.size, looked_up->attr.size) << r.name;
    EXPECT_EQ(r.ino, looked_up->attr.ino) << r.name;
    fs_->Forget(looked_up->node, 1);
    if (r.name == "file-5") {
      EXPECT_NE(r.entry->node, first_entries[r.name].node);
      EXPECT_TRUE(S_ISDIR(r.entry->attr.mode));
      EXPECT_EQ(r.type, static_cast<uint32_t>(DT_DIR));
    } else {
      EXPECT_EQ(r.entry->node, first_entries[r.name].node) << r.name;
    }
    if (r.name == "file-6") EXPECT_EQ(r.entry->attr.size, 12345u);
  }
  // Two references per file from the listings: two forgets each remove it.
  ForgetAll(first);
  ForgetAll(second);
  EXPECT_EQ(backend_->node_count(), base);
  EXPECT_TRUE(fs_->ReleaseDir(dir_, h).ok());
}

TEST_F(PassthroughDirOpsTest, InterleavedHandlesKeepTheirOwnPosition) {
  MakeFiles(250);
  const HandleId a = OpenDir();
  const HandleId b = OpenDir();
  uint64_t off_a = 0, off_b = 0;
  std::multiset<std::string> names_a, names_b;
  bool done_a = false, done_b = false;
  for (int i = 0; i < 1000 && !(done_a && done_b); ++i) {
    if (!done_a) {
      Records page = Page(a, off_a);
      done_a = page.empty();
      if (!done_a) off_a = page.back().next_offset;
      for (const auto& r : page) names_a.insert(r.name);
    }
    if (!done_b) {
      Records page = Page(b, off_b, false, kPage / 2);
      done_b = page.empty();
      if (!done_b) off_b = page.back().next_offset;
      for (const auto& r : page) names_b.insert(r.name);
    }
  }
  EXPECT_EQ(names_a.size(), 252u);
  EXPECT_EQ(names_a, names_b);
  EXPECT_TRUE(fs_->ReleaseDir(dir_, a).ok());
  EXPECT_TRUE(fs_->ReleaseDir(dir_, b).ok());
}

TEST_F(PassthroughDirOpsTest, BadOffsetFailsAndTheHandleRecovers) {
  MakeFiles(20);
  const HandleId h = OpenDir();
  RecordingDirSink sink(kPage, false);
  // Beyond lseek's range: EINVAL, not a crash or a stale page.
  EXPECT_FALSE(fs_->ReadDir(dir_, h, uint64_t{1} << 63, false, sink).ok());
  EXPECT_EQ(Names(ReadToEnd(h, 0)).size(), 22u);
  EXPECT_TRUE(fs_->ReleaseDir(dir_, h).ok());
}

}  // namespace
}  // namespace vfsd
