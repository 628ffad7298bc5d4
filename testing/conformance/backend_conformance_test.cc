// The conformance tests themselves (see backend_conformance_test.h).
#include "testing/conformance/backend_conformance_test.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "backends/errno_status.h"
#include "gmock/gmock.h"
#include "testing/conformance/expect_errno.h"

namespace vfsd {

// Parameterised by backend; instantiated by each backend's own test.
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(BackendConformanceTest);

void BackendConformanceTest::SetUp() {
  absl::StatusOr<std::unique_ptr<BackendUnderTest>> target = GetParam().make();
  ASSERT_TRUE(target.ok()) << target.status();
  target_ = *std::move(target);
  ASSERT_TRUE(target_->backend().Init(SessionOptions{}).ok());
  fs_ = std::make_unique<SyncBackend>(target_->backend());
}

void BackendConformanceTest::TearDown() {
  if (target_ != nullptr) target_->backend().Destroy();
  fs_.reset();
  target_.reset();
}

void BackendConformanceTest::Populate(std::initializer_list<TreeItem> items) {
  absl::Status status = target_->PopulateTree(absl::MakeConstSpan(items.begin(), items.size()));
  ASSERT_TRUE(status.ok()) << status;
}

absl::StatusOr<Entry> BackendConformanceTest::LookupPath(absl::string_view path) {
  NodeId node = kRootNodeId;
  absl::StatusOr<Entry> entry = absl::NotFoundError("empty path");
  for (absl::string_view part : absl::StrSplit(path, '/', absl::SkipEmpty())) {
    entry = fs_->Lookup(node, part);
    if (!entry.ok()) return entry;
    node = entry->node;
  }
  return entry;
}

namespace {

using ::testing::UnorderedElementsAreArray;

constexpr size_t kBig = 1 << 20;


std::vector<std::string> Names(const std::vector<RecordingDirSink::Record>& records) {
  std::vector<std::string> names;
  for (const auto& r : records) names.push_back(r.name);
  return names;
}

// --- lookup ---

TEST_P(BackendConformanceTest, RootIsADirectory) {
  absl::StatusOr<Attr> attr = fs_->GetAttr(kRootNodeId);
  ASSERT_TRUE(attr.ok()) << attr.status();
  EXPECT_TRUE(S_ISDIR(attr->mode));
  EXPECT_GE(attr->nlink, 1u);
}

TEST_P(BackendConformanceTest, LookupFindsFileWithAttributes) {
  Populate({TreeItem::File("hello.txt", "hello world", 0640)});
  absl::StatusOr<Entry> entry = fs_->Lookup(kRootNodeId, "hello.txt");
  ASSERT_TRUE(entry.ok()) << entry.status();
  EXPECT_NE(entry->node, 0u);
  EXPECT_NE(entry->node, kRootNodeId);
  EXPECT_TRUE(S_ISREG(entry->attr.mode));
  EXPECT_EQ(entry->attr.mode & 07777, 0640u);
  EXPECT_EQ(entry->attr.size, 11u);
  EXPECT_EQ(entry->attr.nlink, 1u);
  absl::StatusOr<Attr> attr = fs_->GetAttr(entry->node);
  ASSERT_TRUE(attr.ok()) << attr.status();
  EXPECT_EQ(attr->ino, entry->attr.ino);
  EXPECT_EQ(attr->size, 11u);
}

TEST_P(BackendConformanceTest, LookupMissingIsENOENT) {
  EXPECT_ERRNO(fs_->Lookup(kRootNodeId, "missing"), ENOENT);
}

TEST_P(BackendConformanceTest, LookupUnderFileIsENOTDIR) {
  Populate({TreeItem::File("file", "x")});
  absl::StatusOr<Entry> file = fs_->Lookup(kRootNodeId, "file");
  ASSERT_TRUE(file.ok()) << file.status();
  EXPECT_ERRNO(fs_->Lookup(file->node, "child"), ENOTDIR);
  EXPECT_ERRNO(fs_->Lookup(file->node, "."), ENOTDIR);
  EXPECT_ERRNO(fs_->Lookup(file->node, ".."), ENOTDIR);
}

TEST_P(BackendConformanceTest, LookupNameTooLongIsENAMETOOLONG) {
  EXPECT_ERRNO(fs_->Lookup(kRootNodeId, std::string(NAME_MAX + 1, 'a')), ENAMETOOLONG);
  // NAME_MAX itself is a valid length: merely absent.
  EXPECT_ERRNO(fs_->Lookup(kRootNodeId, std::string(NAME_MAX, 'a')), ENOENT);
}

TEST_P(BackendConformanceTest, LookupRefusesMultiComponentNames) {
  Populate({TreeItem::Dir("d"), TreeItem::File("d/f")});
  EXPECT_ERRNO(fs_->Lookup(kRootNodeId, "d/f"), EINVAL);
  EXPECT_ERRNO(fs_->Lookup(kRootNodeId, "/d"), EINVAL);
  EXPECT_ERRNO(fs_->Lookup(kRootNodeId, ""), EINVAL);
}

TEST_P(BackendConformanceTest, UnknownNodeIsEBADF) {
  constexpr NodeId kNeverIssued = 0x7fffffff12345ull;
  EXPECT_ERRNO(fs_->Lookup(kNeverIssued, "x"), EBADF);
  EXPECT_ERRNO(fs_->GetAttr(kNeverIssued), EBADF);
  EXPECT_ERRNO(fs_->GetAttr(0), EBADF);
  EXPECT_ERRNO(fs_->Open(kNeverIssued, O_RDONLY), EBADF);
  EXPECT_ERRNO(fs_->OpenDir(kNeverIssued), EBADF);
  EXPECT_ERRNO(fs_->StatFs(kNeverIssued), EBADF);
  EXPECT_ERRNO(fs_->Access(kNeverIssued, F_OK), EBADF);
  EXPECT_ERRNO(fs_->ReadLink(kNeverIssued), EBADF);
  fs_->Forget(kNeverIssued, 1);  // ignored, no crash
}

TEST_P(BackendConformanceTest, DotAndDotDot) {
  Populate({TreeItem::Dir("a"), TreeItem::Dir("a/b")});
  absl::StatusOr<Entry> a = LookupPath("a");
  absl::StatusOr<Entry> b = LookupPath("a/b");
  ASSERT_TRUE(a.ok() && b.ok());
  absl::StatusOr<Entry> dot = fs_->Lookup(b->node, ".");
  ASSERT_TRUE(dot.ok()) << dot.status();
  EXPECT_EQ(dot->node, b->node);
  absl::StatusOr<Entry> up = fs_->Lookup(b->node, "..");
  ASSERT_TRUE(up.ok()) << up.status();
  EXPECT_EQ(up->node, a->node);
  absl::StatusOr<Entry> up2 = fs_->Lookup(a->node, "..");
  ASSERT_TRUE(up2.ok()) << up2.status();
  EXPECT_EQ(up2->node, kRootNodeId);
}

TEST_P(BackendConformanceTest, DotDotOfRootIsRoot) {
  absl::StatusOr<Attr> root = fs_->GetAttr(kRootNodeId);
  ASSERT_TRUE(root.ok());
  for (int i = 0; i < 3; ++i) {
    absl::StatusOr<Entry> up = fs_->Lookup(kRootNodeId, "..");
    ASSERT_TRUE(up.ok()) << up.status();
    EXPECT_EQ(up->node, kRootNodeId);
    EXPECT_EQ(up->attr.ino, root->ino);
  }
  absl::StatusOr<Entry> dot = fs_->Lookup(kRootNodeId, ".");
  ASSERT_TRUE(dot.ok()) << dot.status();
  EXPECT_EQ(dot->node, kRootNodeId);
}

TEST_P(BackendConformanceTest, HardLinksShareANode) {
  Populate({TreeItem::File("one", "data"), TreeItem::Dir("d"), TreeItem::HardLink("d/two", "one")});
  absl::StatusOr<Entry> one = LookupPath("one");
  absl::StatusOr<Entry> two = LookupPath("d/two");
  ASSERT_TRUE(one.ok() && two.ok());
  EXPECT_EQ(one->node, two->node);
  EXPECT_EQ(one->attr.ino, two->attr.ino);
  EXPECT_EQ(two->attr.nlink, 2u);
}

TEST_P(BackendConformanceTest, RepeatedLookupSameNode) {
  Populate({TreeItem::File("f")});
  absl::StatusOr<Entry> first = fs_->Lookup(kRootNodeId, "f");
  absl::StatusOr<Entry> second = fs_->Lookup(kRootNodeId, "f");
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_EQ(first->node, second->node);
  EXPECT_EQ(first->generation, second->generation);
}

// --- forget ---

TEST_P(BackendConformanceTest, ForgetKeepsNodeUntilLastReference) {
  Populate({TreeItem::File("f", "abc")});
  absl::StatusOr<Entry> first = fs_->Lookup(kRootNodeId, "f");
  absl::StatusOr<Entry> second = fs_->Lookup(kRootNodeId, "f");
  ASSERT_TRUE(first.ok() && second.ok());
  fs_->Forget(first->node, 1);
  EXPECT_TRUE(fs_->GetAttr(first->node).ok());
  fs_->Forget(first->node, 1);
  // The guest no longer holds the node; a new lookup works again.
  absl::StatusOr<Entry> again = fs_->Lookup(kRootNodeId, "f");
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_TRUE(fs_->GetAttr(again->node).ok());
}

TEST_P(BackendConformanceTest, ForgetMoreThanHeldIsHarmless) {
  Populate({TreeItem::File("f")});
  absl::StatusOr<Entry> entry = fs_->Lookup(kRootNodeId, "f");
  ASSERT_TRUE(entry.ok());
  fs_->Forget(entry->node, 1000);
  fs_->Forget(entry->node, 1);
  fs_->Forget(kRootNodeId, 1000);  // the root is never dropped
  EXPECT_TRUE(fs_->GetAttr(kRootNodeId).ok());
  EXPECT_TRUE(fs_->Lookup(kRootNodeId, "f").ok());
}

TEST_P(BackendConformanceTest, DestroyDropsNodesAndHandles) {
  Populate({TreeItem::File("f", "abc")});
  absl::StatusOr<Entry> entry = fs_->Lookup(kRootNodeId, "f");
  ASSERT_TRUE(entry.ok());
  absl::StatusOr<OpenResult> open = fs_->Open(entry->node, O_RDONLY);
  ASSERT_TRUE(open.ok());
  target_->backend().Destroy();
  EXPECT_ERRNO(fs_->GetAttr(entry->node), EBADF);
  EXPECT_ERRNO(fs_->Read(entry->node, open->handle, 0, 10), EBADF);
  ASSERT_TRUE(target_->backend().Init(SessionOptions{}).ok());
  EXPECT_TRUE(fs_->GetAttr(kRootNodeId).ok());
  EXPECT_TRUE(fs_->Lookup(kRootNodeId, "f").ok());
}

// --- symlinks ---

TEST_P(BackendConformanceTest, SymlinkIsNotFollowed) {
  Populate({TreeItem::File("target", "secret"), TreeItem::Symlink("link", "target")});
  absl::StatusOr<Entry> link = fs_->Lookup(kRootNodeId, "link");
  ASSERT_TRUE(link.ok()) << link.status();
  EXPECT_TRUE(S_ISLNK(link->attr.mode));
  absl::StatusOr<Entry> target = fs_->Lookup(kRootNodeId, "target");
  ASSERT_TRUE(target.ok());
  EXPECT_NE(link->node, target->node);
  absl::StatusOr<std::string> read = fs_->ReadLink(link->node);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(*read, "target");
  // Opening a symlink node never reaches its target (O_NOFOLLOW).
  EXPECT_ERRNO(fs_->Open(link->node, O_RDONLY), ELOOP);
  absl::StatusOr<Attr> attr = fs_->GetAttr(link->node);
  ASSERT_TRUE(attr.ok());
  EXPECT_TRUE(S_ISLNK(attr->mode));
  EXPECT_EQ(attr->size, 6u);  // strlen("target")
}

TEST_P(BackendConformanceTest, SymlinkToDirectoryIsNotTraversed) {
  Populate({TreeItem::Dir("dir"), TreeItem::File("dir/f"), TreeItem::Symlink("link", "dir")});
  absl::StatusOr<Entry> link = fs_->Lookup(kRootNodeId, "link");
  ASSERT_TRUE(link.ok());
  EXPECT_ERRNO(fs_->Lookup(link->node, "f"), ENOTDIR);
  EXPECT_ERRNO(fs_->OpenDir(link->node), ENOTDIR);
}

TEST_P(BackendConformanceTest, ReadLinkOfNonSymlinkIsEINVAL) {
  Populate({TreeItem::File("f")});
  absl::StatusOr<Entry> f = fs_->Lookup(kRootNodeId, "f");
  ASSERT_TRUE(f.ok());
  EXPECT_ERRNO(fs_->ReadLink(f->node), EINVAL);
  EXPECT_ERRNO(fs_->ReadLink(kRootNodeId), EINVAL);
}

TEST_P(BackendConformanceTest, ReadLinkKeepsTargetVerbatim) {
  const std::string target = "../../outside/of/share/" + std::string(300, 'x');
  Populate({TreeItem::Symlink("link", target)});
  absl::StatusOr<Entry> link = fs_->Lookup(kRootNodeId, "link");
  ASSERT_TRUE(link.ok());
  absl::StatusOr<std::string> read = fs_->ReadLink(link->node);
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(*read, target);
}

// --- open / read ---

TEST_P(BackendConformanceTest, OpenReadRelease) {
  std::string contents;
  for (int i = 0; i < 10000; ++i) contents += static_cast<char>('a' + i % 26);
  Populate({TreeItem::File("f", contents)});
  absl::StatusOr<Entry> f = fs_->Lookup(kRootNodeId, "f");
  ASSERT_TRUE(f.ok());
  absl::StatusOr<OpenResult> open = fs_->Open(f->node, O_RDONLY);
  ASSERT_TRUE(open.ok()) << open.status();
  absl::StatusOr<std::string> all = fs_->Read(f->node, open->handle, 0, kBig);
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_EQ(*all, contents);
  // Scattered into several iovecs, from the middle.
  absl::StatusOr<std::string> part = fs_->Read(f->node, open->handle, 1234, 5000, 7);
  ASSERT_TRUE(part.ok()) << part.status();
  EXPECT_EQ(*part, contents.substr(1234, 5000));
  // Crossing EOF: short read.
  absl::StatusOr<std::string> tail = fs_->Read(f->node, open->handle, 9990, 100, 3);
  ASSERT_TRUE(tail.ok());
  EXPECT_EQ(*tail, contents.substr(9990));
  EXPECT_TRUE(fs_->Flush(f->node, open->handle).ok());
  EXPECT_TRUE(fs_->Release(f->node, open->handle).ok());
  EXPECT_ERRNO(fs_->Read(f->node, open->handle, 0, 10), EBADF);
  EXPECT_ERRNO(fs_->Release(f->node, open->handle), EBADF);
}

TEST_P(BackendConformanceTest, ReadAtAndAfterEofIsEmpty) {
  Populate({TreeItem::File("f", "12345")});
  absl::StatusOr<Entry> f = fs_->Lookup(kRootNodeId, "f");
  ASSERT_TRUE(f.ok());
  absl::StatusOr<OpenResult> open = fs_->Open(f->node, O_RDONLY);
  ASSERT_TRUE(open.ok());
  for (uint64_t offset : {5ull, 6ull, 1ull << 40}) {
    absl::StatusOr<std::string> data = fs_->Read(f->node, open->handle, offset, 100);
    ASSERT_TRUE(data.ok()) << offset << ": " << data.status();
    EXPECT_EQ(*data, "") << offset;
  }
  absl::StatusOr<std::string> zero = fs_->Read(f->node, open->handle, 0, 0);
  ASSERT_TRUE(zero.ok());
  EXPECT_EQ(*zero, "");
  EXPECT_TRUE(fs_->Release(f->node, open->handle).ok());
}

TEST_P(BackendConformanceTest, ReadEmptyFile) {
  Populate({TreeItem::File("empty")});
  absl::StatusOr<Entry> f = fs_->Lookup(kRootNodeId, "empty");
  ASSERT_TRUE(f.ok());
  absl::StatusOr<OpenResult> open = fs_->Open(f->node, O_RDONLY);
  ASSERT_TRUE(open.ok());
  absl::StatusOr<std::string> data = fs_->Read(f->node, open->handle, 0, 4096);
  ASSERT_TRUE(data.ok());
  EXPECT_EQ(*data, "");
  EXPECT_TRUE(fs_->Release(f->node, open->handle).ok());
}

TEST_P(BackendConformanceTest, UnknownHandleIsEBADF) {
  Populate({TreeItem::File("f", "x")});
  absl::StatusOr<Entry> f = fs_->Lookup(kRootNodeId, "f");
  ASSERT_TRUE(f.ok());
  EXPECT_ERRNO(fs_->Read(f->node, 987654321, 0, 10), EBADF);
  EXPECT_ERRNO(fs_->Flush(f->node, 987654321), EBADF);
  EXPECT_ERRNO(fs_->Release(f->node, 987654321), EBADF);
  EXPECT_ERRNO(fs_->ReleaseDir(kRootNodeId, 987654321), EBADF);
  EXPECT_ERRNO(fs_->GetAttr(f->node, HandleId{987654321}), EBADF);
  RecordingDirSink sink(4096, false);
  EXPECT_ERRNO(fs_->ReadDir(kRootNodeId, 987654321, 0, false, sink), EBADF);
}

TEST_P(BackendConformanceTest, OpenDirectoryIsEISDIR) {
  Populate({TreeItem::Dir("d")});
  absl::StatusOr<Entry> d = fs_->Lookup(kRootNodeId, "d");
  ASSERT_TRUE(d.ok());
  EXPECT_ERRNO(fs_->Open(d->node, O_RDONLY), EISDIR);
}

TEST_P(BackendConformanceTest, ReadOfDirectoryHandleIsEISDIR) {
  absl::StatusOr<OpenResult> dir = fs_->OpenDir(kRootNodeId);
  ASSERT_TRUE(dir.ok());
  // As read(2) on a directory fd on Linux.
  EXPECT_ERRNO(fs_->Read(kRootNodeId, dir->handle, 0, 100), EISDIR);
  EXPECT_TRUE(fs_->ReleaseDir(kRootNodeId, dir->handle).ok());
}

TEST_P(BackendConformanceTest, ReadOfWriteOnlyHandleIsEBADF) {
  Populate({TreeItem::File("f", "abc")});
  absl::StatusOr<Entry> f = fs_->Lookup(kRootNodeId, "f");
  ASSERT_TRUE(f.ok());
  absl::StatusOr<OpenResult> open = fs_->Open(f->node, O_WRONLY);
  ASSERT_TRUE(open.ok()) << open.status();
  EXPECT_ERRNO(fs_->Read(f->node, open->handle, 0, 10), EBADF);
  EXPECT_TRUE(fs_->Release(f->node, open->handle).ok());
}

TEST_P(BackendConformanceTest, GetAttrThroughHandle) {
  Populate({TreeItem::File("f", "abcdef")});
  absl::StatusOr<Entry> f = fs_->Lookup(kRootNodeId, "f");
  ASSERT_TRUE(f.ok());
  absl::StatusOr<OpenResult> open = fs_->Open(f->node, O_RDONLY);
  ASSERT_TRUE(open.ok());
  absl::StatusOr<Attr> attr = fs_->GetAttr(f->node, open->handle);
  ASSERT_TRUE(attr.ok()) << attr.status();
  EXPECT_EQ(attr->ino, f->attr.ino);
  EXPECT_EQ(attr->size, 6u);
  EXPECT_TRUE(fs_->Release(f->node, open->handle).ok());
}

TEST_P(BackendConformanceTest, OpenDirOfFileIsENOTDIR) {
  Populate({TreeItem::File("f")});
  absl::StatusOr<Entry> f = fs_->Lookup(kRootNodeId, "f");
  ASSERT_TRUE(f.ok());
  EXPECT_ERRNO(fs_->OpenDir(f->node), ENOTDIR);
}

// --- readdir ---

TEST_P(BackendConformanceTest, ReadDirListsExactlyTheEntries) {
  Populate({TreeItem::Dir("d"), TreeItem::File("d/a"), TreeItem::Dir("d/sub"),
            TreeItem::Symlink("d/ln", "a"), TreeItem::File("other")});
  absl::StatusOr<Entry> d = fs_->Lookup(kRootNodeId, "d");
  ASSERT_TRUE(d.ok());
  auto all = fs_->ReadAll(d->node, /*plus=*/false);
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_THAT(Names(*all), UnorderedElementsAreArray({".", "..", "a", "sub", "ln"}));
  std::map<std::string, uint32_t> types;
  for (const auto& r : *all) types[r.name] = r.type;
  EXPECT_EQ(types["a"], DT_REG);
  EXPECT_EQ(types["sub"], DT_DIR);
  EXPECT_EQ(types["ln"], DT_LNK);
  EXPECT_EQ(types["."], DT_DIR);
}

TEST_P(BackendConformanceTest, ReadDirOfEmptyDirectoryHasDots) {
  Populate({TreeItem::Dir("empty")});
  absl::StatusOr<Entry> d = fs_->Lookup(kRootNodeId, "empty");
  ASSERT_TRUE(d.ok());
  auto all = fs_->ReadAll(d->node, false);
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_THAT(Names(*all), UnorderedElementsAreArray({".", ".."}));
}

TEST_P(BackendConformanceTest, ReadDirResumesAtEveryOffset) {
  std::vector<TreeItem> items = {TreeItem::Dir("d")};
  for (int i = 0; i < 50; ++i) items.push_back(TreeItem::File(absl::StrCat("d/file_", i)));
  ASSERT_TRUE(target_->PopulateTree(items).ok());
  absl::StatusOr<Entry> d = fs_->Lookup(kRootNodeId, "d");
  ASSERT_TRUE(d.ok());
  auto all = fs_->ReadAll(d->node, false);
  ASSERT_TRUE(all.ok()) << all.status();
  ASSERT_EQ(all->size(), 52u);
  const std::vector<std::string> names = Names(*all);
  std::set<std::string> unique(names.begin(), names.end());
  EXPECT_EQ(unique.size(), 52u);
  // Replies that hold a single entry: every cookie must resume exactly after
  // its entry.
  auto one_by_one = fs_->ReadAll(d->node, false, /*budget=*/24 + 16);
  ASSERT_TRUE(one_by_one.ok()) << one_by_one.status();
  EXPECT_EQ(Names(*one_by_one), Names(*all));
  // Resuming from each cookie on a fresh handle yields the rest.
  absl::StatusOr<OpenResult> dir = fs_->OpenDir(d->node);
  ASSERT_TRUE(dir.ok());
  for (size_t i = 0; i < all->size(); ++i) {
    RecordingDirSink sink(kBig, false);
    ASSERT_TRUE(fs_->ReadDir(d->node, dir->handle, (*all)[i].next_offset, false, sink).ok());
    std::vector<std::string> expected;
    for (size_t j = i + 1; j < all->size(); ++j) expected.push_back((*all)[j].name);
    EXPECT_EQ(Names(sink.records()), expected) << "after entry " << i;
  }
  EXPECT_TRUE(fs_->ReleaseDir(d->node, dir->handle).ok());
}

TEST_P(BackendConformanceTest, ReadDirSinkTooSmallForAnyEntry) {
  absl::StatusOr<OpenResult> dir = fs_->OpenDir(kRootNodeId);
  ASSERT_TRUE(dir.ok());
  RecordingDirSink sink(8, false);
  EXPECT_TRUE(fs_->ReadDir(kRootNodeId, dir->handle, 0, false, sink).ok());
  EXPECT_TRUE(sink.records().empty());
  EXPECT_TRUE(fs_->ReleaseDir(kRootNodeId, dir->handle).ok());
}

TEST_P(BackendConformanceTest, ReadDirPlusCarriesEntriesAndReferences) {
  Populate({TreeItem::Dir("d"), TreeItem::File("d/f", "xyz"), TreeItem::Dir("d/sub")});
  absl::StatusOr<Entry> d = fs_->Lookup(kRootNodeId, "d");
  ASSERT_TRUE(d.ok());
  auto all = fs_->ReadAll(d->node, /*plus=*/true);
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_THAT(Names(*all), UnorderedElementsAreArray({".", "..", "f", "sub"}));
  for (const auto& r : *all) {
    if (r.name == "." || r.name == "..") {
      EXPECT_FALSE(r.entry.has_value()) << r.name;
      continue;
    }
    ASSERT_TRUE(r.entry.has_value()) << r.name;
    absl::StatusOr<Entry> looked_up = fs_->Lookup(d->node, r.name);
    ASSERT_TRUE(looked_up.ok());
    EXPECT_EQ(r.entry->node, looked_up->node) << r.name;
    EXPECT_EQ(r.entry->attr.ino, looked_up->attr.ino);
    EXPECT_EQ(r.ino, looked_up->attr.ino);
    if (r.name == "f") {
      EXPECT_EQ(r.entry->attr.size, 3u);
    }
    // Two references now (READDIRPLUS + LOOKUP): one FORGET keeps the node.
    fs_->Forget(looked_up->node, 1);
    EXPECT_TRUE(fs_->GetAttr(looked_up->node).ok()) << r.name;
  }
}

TEST_P(BackendConformanceTest, ReadDirPlusResumes) {
  std::vector<TreeItem> items = {TreeItem::Dir("d")};
  for (int i = 0; i < 20; ++i) items.push_back(TreeItem::File(absl::StrCat("d/f", i)));
  ASSERT_TRUE(target_->PopulateTree(items).ok());
  absl::StatusOr<Entry> d = fs_->Lookup(kRootNodeId, "d");
  ASSERT_TRUE(d.ok());
  auto big = fs_->ReadAll(d->node, true);
  auto small = fs_->ReadAll(d->node, true, /*budget=*/128 + 24 + 8);
  ASSERT_TRUE(big.ok() && small.ok());
  EXPECT_EQ(Names(*big), Names(*small));
  EXPECT_EQ(small->size(), 22u);
}

TEST_P(BackendConformanceTest, ReadDirOfFileHandleIsENOTDIR) {
  Populate({TreeItem::File("f")});
  absl::StatusOr<Entry> f = fs_->Lookup(kRootNodeId, "f");
  ASSERT_TRUE(f.ok());
  absl::StatusOr<OpenResult> open = fs_->Open(f->node, O_RDONLY);
  ASSERT_TRUE(open.ok());
  RecordingDirSink sink(4096, false);
  EXPECT_ERRNO(fs_->ReadDir(f->node, open->handle, 0, false, sink), ENOTDIR);
  EXPECT_TRUE(fs_->Release(f->node, open->handle).ok());
}

// --- filesystem ---

TEST_P(BackendConformanceTest, StatFsIsPlausible) {
  absl::StatusOr<vfsd::StatFs> st = fs_->StatFs(kRootNodeId);
  ASSERT_TRUE(st.ok()) << st.status();
  EXPECT_GT(st->bsize, 0u);
  EXPECT_GT(st->blocks, 0u);
  EXPECT_LE(st->bfree, st->blocks);
  EXPECT_LE(st->bavail, st->blocks);
  EXPECT_GE(st->namelen, 255u);
}

TEST_P(BackendConformanceTest, AccessAsRoot) {
  Populate({TreeItem::File("f", "", 0600), TreeItem::File("x", "", 0700)});
  absl::StatusOr<Entry> f = fs_->Lookup(kRootNodeId, "f");
  absl::StatusOr<Entry> x = fs_->Lookup(kRootNodeId, "x");
  ASSERT_TRUE(f.ok() && x.ok());
  EXPECT_TRUE(fs_->Access(f->node, F_OK).ok());
  EXPECT_TRUE(fs_->Access(f->node, R_OK | W_OK).ok());
  // Root may execute only what someone may execute.
  EXPECT_ERRNO(fs_->Access(f->node, X_OK), EACCES);
  EXPECT_TRUE(fs_->Access(x->node, X_OK).ok());
  EXPECT_TRUE(fs_->Access(kRootNodeId, R_OK | W_OK | X_OK).ok());
}

TEST_P(BackendConformanceTest, AccessWithDifferentUids) {
  if (!target_->CanSetOwners()) GTEST_SKIP() << "cannot create files owned by other users";
  Populate({TreeItem::File("f", "", 0640).Owner(1000, 100)});
  absl::StatusOr<Entry> f = fs_->Lookup(kRootNodeId, "f");
  ASSERT_TRUE(f.ok());
  const RequestContext owner{1000, 5, 1};
  const RequestContext group{2000, 100, 1};
  const RequestContext other{3000, 300, 1};
  EXPECT_TRUE(fs_->Access(f->node, R_OK | W_OK, owner).ok());
  EXPECT_ERRNO(fs_->Access(f->node, X_OK, owner), EACCES);
  EXPECT_TRUE(fs_->Access(f->node, R_OK, group).ok());
  EXPECT_ERRNO(fs_->Access(f->node, W_OK, group), EACCES);
  EXPECT_ERRNO(fs_->Access(f->node, R_OK, other), EACCES);
  EXPECT_TRUE(fs_->Access(f->node, F_OK, other).ok());
}

}  // namespace
}  // namespace vfsd
