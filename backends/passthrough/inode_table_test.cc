#include "backends/passthrough/inode_table.h"

#include <fcntl.h>
#include <sys/stat.h>

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

}  // namespace
}  // namespace vfsd
