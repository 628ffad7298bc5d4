#include "backends/passthrough/handle_table.h"

#include <fcntl.h>

#include "gtest/gtest.h"

namespace vfsd {
namespace {

std::shared_ptr<OpenHandle> MakeHandle(NodeId node) {
  return std::make_shared<OpenHandle>(node, false,
                                      ScopedFd(::open("/dev/null", O_RDONLY | O_CLOEXEC)));
}

TEST(HandleTableTest, InsertGetRemove) {
  HandleTable table;
  HandleId a = table.Insert(MakeHandle(5));
  HandleId b = table.Insert(MakeHandle(6));
  EXPECT_NE(a, 0u);
  EXPECT_NE(a, b);
  ASSERT_NE(table.Get(a), nullptr);
  EXPECT_EQ(table.Get(a)->node, 5u);
  EXPECT_EQ(table.Get(0), nullptr);
  auto removed = table.Remove(a);
  ASSERT_NE(removed, nullptr);
  EXPECT_TRUE(removed->fd.valid());  // still usable by an in-flight request
  EXPECT_EQ(table.Get(a), nullptr);
  EXPECT_EQ(table.Remove(a), nullptr);
  EXPECT_EQ(table.size(), 1u);
}

TEST(HandleTableTest, IdsAreNeverReused) {
  HandleTable table;
  HandleId a = table.Insert(MakeHandle(5));
  table.Remove(a);
  EXPECT_NE(table.Insert(MakeHandle(5)), a);
}

TEST(HandleTableTest, Clear) {
  HandleTable table;
  table.Insert(MakeHandle(5));
  table.Insert(MakeHandle(6));
  table.Clear();
  EXPECT_EQ(table.size(), 0u);
}

}  // namespace
}  // namespace vfsd
