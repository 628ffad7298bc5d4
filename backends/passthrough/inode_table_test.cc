#include "backends/passthrough/inode_table.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace vfsd {
namespace {

ScopedFd OpenDevNull() { return ScopedFd(::open("/dev/null", O_PATH | O_CLOEXEC)); }

class InodeTableTest : public ::testing::Test {
 protected:
  InodeTable table_{OpenDevNull(), InodeKey{1, 1, 1}};
};

TEST_F(InodeTableTest, RootExists) {
  ASSERT_NE(table_.Get(kRootNodeId), nullptr);
  EXPECT_EQ(table_.Get(kRootNodeId)->id, kRootNodeId);
  EXPECT_EQ(table_.Get(0), nullptr);
  EXPECT_EQ(table_.Get(12345), nullptr);
}

TEST_F(InodeTableTest, SameKeyYieldsSameNodeAndCounts) {
  auto a = table_.GetOrInsert({1, 2, 1}, S_IFREG, OpenDevNull());
  auto b = table_.GetOrInsert({1, 2, 1}, S_IFREG, OpenDevNull());
  EXPECT_EQ(a, b);
  EXPECT_NE(a->id, kRootNodeId);
  EXPECT_EQ(table_.size(), 2u);
  table_.Forget(a->id, 1);
  EXPECT_NE(table_.Get(a->id), nullptr);
  table_.Forget(a->id, 1);
  EXPECT_EQ(table_.Get(a->id), nullptr);
  EXPECT_EQ(table_.size(), 1u);
}

TEST_F(InodeTableTest, DifferentMountIsDifferentNode) {
  auto a = table_.GetOrInsert({1, 2, 1}, S_IFREG, OpenDevNull());
  auto b = table_.GetOrInsert({1, 2, 7}, S_IFREG, OpenDevNull());
  EXPECT_NE(a->id, b->id);
}

TEST_F(InodeTableTest, IdsAreNeverReused) {
  auto a = table_.GetOrInsert({1, 2, 1}, S_IFREG, OpenDevNull());
  const NodeId first = a->id;
  table_.Forget(first, 1);
  auto b = table_.GetOrInsert({1, 2, 1}, S_IFREG, OpenDevNull());
  EXPECT_NE(b->id, first);
  EXPECT_EQ(table_.Get(first), nullptr);
}

TEST_F(InodeTableTest, ForgetClampsAndIgnoresUnknown) {
  auto a = table_.GetOrInsert({1, 2, 1}, S_IFREG, OpenDevNull());
  table_.Forget(a->id, UINT64_MAX);
  EXPECT_EQ(table_.Get(a->id), nullptr);
  table_.Forget(a->id, 1);  // already gone: ignored
  table_.Forget(999, 1);
  EXPECT_EQ(table_.size(), 1u);
}

TEST_F(InodeTableTest, RootSurvivesForget) {
  table_.Forget(kRootNodeId, UINT64_MAX);
  EXPECT_NE(table_.Get(kRootNodeId), nullptr);
  // A lookup of the root key reaches the root node.
  auto again = table_.GetOrInsert({1, 1, 1}, S_IFDIR, OpenDevNull());
  EXPECT_EQ(again->id, kRootNodeId);
}

TEST_F(InodeTableTest, RefFailsAfterForget) {
  auto a = table_.GetOrInsert({1, 2, 1}, S_IFREG, OpenDevNull());
  EXPECT_TRUE(table_.Ref(a));
  table_.Forget(a->id, 2);
  EXPECT_FALSE(table_.Ref(a));
  // The forgotten inode keeps its fd while a request still holds it.
  EXPECT_TRUE(a->fd.valid());
}

TEST_F(InodeTableTest, ClearKeepsOnlyRoot) {
  table_.GetOrInsert({1, 2, 1}, S_IFREG, OpenDevNull());
  table_.GetOrInsert({1, 3, 1}, S_IFREG, OpenDevNull());
  table_.Clear();
  EXPECT_EQ(table_.size(), 1u);
  EXPECT_NE(table_.Get(kRootNodeId), nullptr);
}

// Nodes kept by file handle: their fd lives in the cache, and the handle is
// part of their identity (a reused inode number is a new node).
class InodeTableHandleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* tmp = std::getenv("TEST_TMPDIR");
    dir_ = absl::StrCat(tmp ? tmp : "/tmp", "/it.XXXXXX");
    ASSERT_NE(::mkdtemp(dir_.data()), nullptr);
    mount_fd_ = std::make_shared<const ScopedFd>(
        ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    for (const char* name : {"x", "y"}) {
      ScopedFd f(::open(absl::StrCat(dir_, "/", name).c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0644));
      ASSERT_TRUE(f.valid());
    }
    if (!FileHandle::ForFd(Path("x").get()).ok()) GTEST_SKIP() << "no file handles here";
  }

  ScopedFd Path(const char* name) {
    return ScopedFd(::open(absl::StrCat(dir_, "/", name).c_str(), O_PATH | O_CLOEXEC));
  }
  FileHandle HandleOf(const char* name) { return *FileHandle::ForFd(Path(name).get()); }

  std::string dir_;
  std::shared_ptr<const ScopedFd> mount_fd_;
  FdCache cache_{8};  // before table_: nodes use it until destroyed
  InodeTable table_{OpenDevNull(), InodeKey{1, 1, 1}};
};

TEST_F(InodeTableHandleTest, SameHandleIsOneNodeWithACachedFd) {
  auto a = table_.GetOrInsertWithHandle({9, 2, 1}, S_IFREG, Path("x"), HandleOf("x"), mount_fd_,
                                        &cache_);
  auto b = table_.GetOrInsertWithHandle({9, 2, 1}, S_IFREG, Path("x"), HandleOf("x"), mount_fd_,
                                        &cache_);
  EXPECT_EQ(a, b);
  EXPECT_TRUE(a->fd.cached());
  EXPECT_EQ(cache_.open_count(), 1u) << "the second lookup's fd is closed, not cached twice";
  absl::StatusOr<ScopedFd> reopened = a->OpenFromHandle();
  EXPECT_TRUE(reopened.ok()) << reopened.status();
  table_.Forget(a->id, 2);
  EXPECT_EQ(table_.Get(a->id), nullptr);
  a.reset();
  b.reset();
  EXPECT_EQ(cache_.open_count(), 0u) << "a forgotten node's cached fd is closed";
}

TEST_F(InodeTableHandleTest, ReusedInodeNumberWithAnotherHandleIsANewNode) {
  // Same key, different handle: what a deleted file whose inode number the
  // host reused looks like.
  auto old_node = table_.GetOrInsertWithHandle({9, 2, 1}, S_IFREG, Path("x"), HandleOf("x"),
                                               mount_fd_, &cache_);
  auto new_node = table_.GetOrInsertWithHandle({9, 2, 1}, S_IFREG, Path("y"), HandleOf("y"),
                                               mount_fd_, &cache_);
  EXPECT_NE(old_node->id, new_node->id);
  // Forgetting the old node must not unmap the key from the new one.
  table_.Forget(old_node->id, 1);
  auto again = table_.GetOrInsertWithHandle({9, 2, 1}, S_IFREG, Path("y"), HandleOf("y"),
                                            mount_fd_, &cache_);
  EXPECT_EQ(again->id, new_node->id);
}

TEST_F(InodeTableHandleTest, AHeldFdNodeMatchesByKey) {
  // A held fd pins the inode, so its key cannot have been reused.
  auto held = table_.GetOrInsert({9, 3, 1}, S_IFREG, Path("x"));
  auto found = table_.GetOrInsertWithHandle({9, 3, 1}, S_IFREG, Path("x"), HandleOf("x"),
                                            mount_fd_, &cache_);
  EXPECT_EQ(held, found);
  EXPECT_FALSE(found->fd.cached());
}

}  // namespace
}  // namespace vfsd
