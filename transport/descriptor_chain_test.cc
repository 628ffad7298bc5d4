#include "transport/descriptor_chain.h"

#include "gtest/gtest.h"
#include "transport/testing_ring.h"
#include "transport/virtio_ring.h"

namespace vfsd {
namespace {

using virtio::kDescFIndirect;
using virtio::kDescFNext;
using virtio::kDescFWrite;

constexpr uint64_t kData = TestRing::kDataGpa;

class DescriptorChainTest : public ::testing::Test {
 protected:
  DescriptorChainTest() : ring_(16) {}

  absl::Status Walk(uint16_t head, bool indirect = true) {
    ChainWalkParams params{ring_.desc_table(), 16, indirect};
    return WalkDescriptorChain(params, *ring_.memory(), head, &chain_);
  }

  TestRing ring_;
  DescriptorChain chain_;
};

TEST_F(DescriptorChainTest, ReadableThenWritable) {
  ring_.SetDesc(3, kData, 40, kDescFNext, 7);
  ring_.SetDesc(7, kData + 0x1000, 100, kDescFNext, 1);
  ring_.SetDesc(1, kData + 0x2000, 4096, kDescFWrite);
  ASSERT_TRUE(Walk(3).ok());
  EXPECT_EQ(chain_.head, 3);
  ASSERT_EQ(chain_.readable.size(), 2u);
  EXPECT_EQ(chain_.readable[0].iov_base, ring_.Host(kData));
  EXPECT_EQ(chain_.readable[0].iov_len, 40u);
  EXPECT_EQ(chain_.readable[1].iov_len, 100u);
  ASSERT_EQ(chain_.writable.size(), 1u);
  EXPECT_EQ(chain_.writable[0].iov_base, ring_.Host(kData + 0x2000));
  EXPECT_EQ(chain_.writable_bytes, 4096u);
}

TEST_F(DescriptorChainTest, SkipsZeroLengthDescriptors) {
  ring_.SetDesc(0, kData, 0, kDescFNext, 1);
  ring_.SetDesc(1, 0xdeadbeef000, 0, kDescFNext | kDescFWrite, 2);  // unmapped but empty
  ring_.SetDesc(2, kData, 8, kDescFWrite);
  ASSERT_TRUE(Walk(0).ok());
  EXPECT_TRUE(chain_.readable.empty());
  EXPECT_EQ(chain_.writable.size(), 1u);
}

TEST_F(DescriptorChainTest, RejectsWritableBeforeReadable) {
  ring_.SetDesc(0, kData, 8, kDescFWrite | kDescFNext, 1);
  ring_.SetDesc(1, kData, 8, 0);
  EXPECT_FALSE(Walk(0).ok());
}

TEST_F(DescriptorChainTest, RejectsLoops) {
  ring_.SetDesc(0, kData, 8, kDescFNext, 1);
  ring_.SetDesc(1, kData, 8, kDescFNext, 0);
  EXPECT_FALSE(Walk(0).ok());
  ring_.SetDesc(5, kData, 8, kDescFNext, 5);  // self loop
  EXPECT_FALSE(Walk(5).ok());
}

TEST_F(DescriptorChainTest, RejectsBadIndices) {
  EXPECT_FALSE(Walk(16).ok());  // head beyond the queue
  ring_.SetDesc(0, kData, 8, kDescFNext, 16);
  EXPECT_FALSE(Walk(0).ok());
  ring_.SetDesc(0, kData, 8, kDescFNext, 0xffff);
  EXPECT_FALSE(Walk(0).ok());
}

TEST_F(DescriptorChainTest, RejectsUnmappedAndOverflowingBuffers) {
  ring_.SetDesc(0, 0x10, 8, 0);  // below guest memory
  EXPECT_FALSE(Walk(0).ok());
  ring_.SetDesc(0, TestRing::kGpa + TestRing::kMemSize - 4, 8, kDescFWrite);  // runs off the end
  EXPECT_FALSE(Walk(0).ok());
  ring_.SetDesc(0, ~0ull - 3, 8, 0);  // wraps
  EXPECT_FALSE(Walk(0).ok());
}

TEST_F(DescriptorChainTest, FollowsIndirectTable) {
  const uint64_t table = kData + 0x10000;
  ring_.SetTableDesc(table, 0, kData, 16, kDescFNext, 2);
  ring_.SetTableDesc(table, 2, kData + 0x100, 32, kDescFNext | kDescFWrite, 1);
  ring_.SetTableDesc(table, 1, kData + 0x200, 64, kDescFWrite);
  ring_.SetDesc(4, kData + 0x300, 8, kDescFNext, 5);  // a direct one first is allowed
  ring_.SetDesc(5, table, 3 * 16, kDescFIndirect);
  ASSERT_TRUE(Walk(4).ok());
  EXPECT_EQ(chain_.readable.size(), 2u);
  EXPECT_EQ(chain_.writable.size(), 2u);
  EXPECT_EQ(chain_.writable_bytes, 96u);
}

TEST_F(DescriptorChainTest, RejectsIndirectErrors) {
  const uint64_t table = kData + 0x10000;
  ring_.SetTableDesc(table, 0, kData, 16, 0);
  // Not negotiated.
  ring_.SetDesc(0, table, 16, kDescFIndirect);
  EXPECT_FALSE(Walk(0, /*indirect=*/false).ok());
  EXPECT_TRUE(Walk(0).ok());
  // Length not a multiple of 16, or zero.
  ring_.SetDesc(0, table, 24, kDescFIndirect);
  EXPECT_FALSE(Walk(0).ok());
  ring_.SetDesc(0, table, 0, kDescFIndirect);
  EXPECT_FALSE(Walk(0).ok());
  // INDIRECT together with NEXT.
  ring_.SetDesc(0, table, 16, kDescFIndirect | kDescFNext, 1);
  EXPECT_FALSE(Walk(0).ok());
  // Table outside guest memory.
  ring_.SetDesc(0, TestRing::kGpa + TestRing::kMemSize - 16, 32, kDescFIndirect);
  EXPECT_FALSE(Walk(0).ok());
  // Nested indirect.
  ring_.SetTableDesc(table, 0, table, 16, kDescFIndirect);
  ring_.SetDesc(0, table, 16, kDescFIndirect);
  EXPECT_FALSE(Walk(0).ok());
  // next beyond the table, and a loop inside it.
  ring_.SetTableDesc(table, 0, kData, 16, kDescFNext, 2);
  ring_.SetDesc(0, table, 32, kDescFIndirect);
  EXPECT_FALSE(Walk(0).ok());
  ring_.SetTableDesc(table, 0, kData, 16, kDescFNext, 1);
  ring_.SetTableDesc(table, 1, kData, 16, kDescFNext, 0);
  EXPECT_FALSE(Walk(0).ok());
  // Readable after writable inside the table.
  ring_.SetTableDesc(table, 0, kData, 16, kDescFNext | kDescFWrite, 1);
  ring_.SetTableDesc(table, 1, kData, 16, 0);
  EXPECT_FALSE(Walk(0).ok());
  // Readable in the table after a direct writable one.
  ring_.SetTableDesc(table, 0, kData, 16, 0);
  ring_.SetDesc(1, kData, 8, kDescFWrite | kDescFNext, 2);
  ring_.SetDesc(2, table, 16, kDescFIndirect);
  EXPECT_FALSE(Walk(1).ok());
}

TEST_F(DescriptorChainTest, BufferAcrossAdjacentRegionsGivesTwoIovecs) {
  // Two regions back to back in guest-physical space.
  static uint8_t first[4096], second[4096];
  auto a = GuestRegion::FromHostMemory({0x1000, 4096, 0xa000, 0}, first);
  auto b = GuestRegion::FromHostMemory({0x2000, 4096, 0xb000, 0}, second);
  ASSERT_TRUE(a.ok() && b.ok());
  auto memory = GuestMemory::Create({*a, *b});
  ASSERT_TRUE(memory.ok());
  static virtio::Descriptor table[4];
  table[0] = {0x1f00, 0x200, 0, 0};
  ChainWalkParams params{reinterpret_cast<uint8_t*>(table), 4, false};
  ASSERT_TRUE(WalkDescriptorChain(params, **memory, 0, &chain_).ok());
  ASSERT_EQ(chain_.readable.size(), 2u);
  EXPECT_EQ(chain_.readable[0].iov_base, first + 0xf00);
  EXPECT_EQ(chain_.readable[0].iov_len, 0x100u);
  EXPECT_EQ(chain_.readable[1].iov_base, second);
  EXPECT_EQ(chain_.readable[1].iov_len, 0x100u);
}

}  // namespace
}  // namespace vfsd
