#include "transport/guest_memory.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <memory>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "transport/unique_fd.h"

namespace vfsd {
namespace {

constexpr uint64_t kPage = 4096;

UniqueFd MakeMemfd(uint64_t size) {
  UniqueFd fd(memfd_create("guest_memory_test", MFD_CLOEXEC));
  EXPECT_TRUE(fd.valid());
  EXPECT_EQ(ftruncate(fd.get(), static_cast<off_t>(size)), 0);
  return fd;
}

// Writes `byte` at `offset` of the fd through our own mapping.
void Poke(int fd, uint64_t offset, uint8_t byte) {
  ASSERT_EQ(pwrite(fd, &byte, 1, static_cast<off_t>(offset)), 1);
}

GuestMemory::RegionPtr MapRegion(int fd, uint64_t gpa, uint64_t size, uint64_t offset = 0,
                                 uint64_t uva = 0) {
  auto region = GuestRegion::Map({gpa, size, uva == 0 ? 0x7f0000000000 + gpa : uva, offset}, fd);
  EXPECT_TRUE(region.ok()) << region.status();
  return region.ok() ? *region : nullptr;
}

TEST(GuestRegionTest, MapsAtOffsetAndUnalignedOffset) {
  UniqueFd fd = MakeMemfd(4 * kPage);
  Poke(fd.get(), kPage + 100, 0xab);
  auto aligned = MapRegion(fd.get(), 0x1000, kPage, kPage);
  EXPECT_EQ(aligned->host_addr()[100], 0xab);
  // A non-page-aligned mmap_offset must still land on the right byte.
  auto unaligned = MapRegion(fd.get(), 0x1000, kPage, kPage + 100);
  EXPECT_EQ(unaligned->host_addr()[0], 0xab);
}

TEST(GuestRegionTest, RejectsBadRegions) {
  UniqueFd fd = MakeMemfd(2 * kPage);
  EXPECT_FALSE(GuestRegion::Map({0, 0, 0, 0}, fd.get()).ok());  // empty
  // Past the end of the file: would SIGBUS on access.
  EXPECT_FALSE(GuestRegion::Map({0, 4 * kPage, 0, 0}, fd.get()).ok());
  EXPECT_FALSE(GuestRegion::Map({0, kPage, 0, 2 * kPage}, fd.get()).ok());
  // Address overflow.
  EXPECT_FALSE(GuestRegion::Map({~0ull - 10, kPage, 0, 0}, fd.get()).ok());
  EXPECT_FALSE(GuestRegion::Map({0, kPage, ~0ull - 10, 0}, fd.get()).ok());
  EXPECT_FALSE(GuestRegion::Map({0, kPage, 0, ~0ull - 10}, fd.get()).ok());
  // Not mappable.
  EXPECT_FALSE(GuestRegion::Map({0, kPage, 0, 0}, -1).ok());
  int pipes[2];
  ASSERT_EQ(pipe(pipes), 0);
  EXPECT_FALSE(GuestRegion::Map({0, kPage, 0, 0}, pipes[0]).ok());
  close(pipes[0]);
  close(pipes[1]);
}

class GuestMemoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fd_ = MakeMemfd(4 * kPage);
    // Two adjacent regions [0x10000, +2 pages) [0x12000, +1 page) and one
    // after a hole at 0x20000.
    a_ = MapRegion(fd_.get(), 0x10000, 2 * kPage, 0);
    b_ = MapRegion(fd_.get(), 0x12000, kPage, 2 * kPage);
    c_ = MapRegion(fd_.get(), 0x20000, kPage, 3 * kPage);
    auto memory = GuestMemory::Create({c_, a_, b_});
    ASSERT_TRUE(memory.ok()) << memory.status();
    memory_ = *memory;
  }

  UniqueFd fd_;
  GuestMemory::RegionPtr a_, b_, c_;
  std::shared_ptr<const GuestMemory> memory_;
};

TEST_F(GuestMemoryTest, TranslatesInsideRegions) {
  auto p = memory_->TranslateContiguous(0x10010, 16);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(*p, a_->host_addr() + 0x10);
  auto last = memory_->TranslateContiguous(0x20000 + kPage - 1, 1);
  ASSERT_TRUE(last.ok());
  EXPECT_EQ(*last, c_->host_addr() + kPage - 1);
  EXPECT_TRUE(memory_->TranslateContiguous(0x12000, kPage).ok());
}

TEST_F(GuestMemoryTest, RejectsOutOfRange) {
  EXPECT_FALSE(memory_->TranslateContiguous(0x0, 1).ok());
  EXPECT_FALSE(memory_->TranslateContiguous(0x13000, 1).ok());  // the hole
  EXPECT_FALSE(memory_->TranslateContiguous(0x20000 + kPage, 1).ok());
  EXPECT_FALSE(memory_->TranslateContiguous(0x20000, kPage + 1).ok());
  // Contiguous translation does not cross regions, even adjacent ones.
  EXPECT_FALSE(memory_->TranslateContiguous(0x11ff0, 32).ok());
  IovecList iov;
  EXPECT_FALSE(memory_->TranslateToIovecs(0x12ff0, 32, &iov).ok());  // into the hole
  EXPECT_TRUE(iov.empty());  // nothing appended on error
  EXPECT_FALSE(memory_->TranslateToIovecs(0x30000, 1, &iov).ok());
}

TEST_F(GuestMemoryTest, RejectsOverflow) {
  IovecList iov;
  EXPECT_FALSE(memory_->TranslateToIovecs(0x10000, ~0ull, &iov).ok());
  EXPECT_FALSE(memory_->TranslateToIovecs(~0ull, 2, &iov).ok());
  EXPECT_FALSE(memory_->TranslateContiguous(0x10000, ~0ull).ok());
  EXPECT_FALSE(memory_->TranslateContiguous(0x10001, ~0ull - 1).ok());
  EXPECT_FALSE(memory_->TranslateUserAddr(a_->userspace_addr() + 1, ~0ull).ok());
}

TEST_F(GuestMemoryTest, SplitsBufferAcrossAdjacentRegions) {
  IovecList iov;
  ASSERT_TRUE(memory_->TranslateToIovecs(0x11ff0, 32, &iov).ok());
  ASSERT_EQ(iov.size(), 2u);
  EXPECT_EQ(iov[0].iov_base, a_->host_addr() + 2 * kPage - 16);
  EXPECT_EQ(iov[0].iov_len, 16u);
  EXPECT_EQ(iov[1].iov_base, b_->host_addr());
  EXPECT_EQ(iov[1].iov_len, 16u);
  // Zero length appends nothing and succeeds.
  IovecList empty;
  EXPECT_TRUE(memory_->TranslateToIovecs(0x10000, 0, &empty).ok());
  EXPECT_TRUE(empty.empty());
}

TEST_F(GuestMemoryTest, TranslatesFrontEndAddresses) {
  auto p = memory_->TranslateUserAddr(b_->userspace_addr() + 8, 8);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(*p, b_->host_addr() + 8);
  EXPECT_FALSE(memory_->TranslateUserAddr(b_->userspace_addr() + kPage - 4, 8).ok());
  EXPECT_FALSE(memory_->TranslateUserAddr(0x1234, 1).ok());
}

TEST_F(GuestMemoryTest, RejectsOverlap) {
  auto overlapping = MapRegion(fd_.get(), 0x11000, kPage, 0);
  EXPECT_FALSE(memory_->WithRegion(overlapping).ok());
  EXPECT_FALSE(GuestMemory::Create({a_, overlapping}).ok());
  auto duplicate = MapRegion(fd_.get(), 0x20000, kPage, 0);
  EXPECT_FALSE(memory_->WithRegion(duplicate).ok());
}

TEST_F(GuestMemoryTest, AddAndRemoveBuildNewMaps) {
  auto d = MapRegion(fd_.get(), 0x40000, kPage, 0);
  auto added = memory_->WithRegion(d);
  ASSERT_TRUE(added.ok());
  EXPECT_TRUE((*added)->TranslateContiguous(0x40000, 1).ok());
  EXPECT_FALSE(memory_->TranslateContiguous(0x40000, 1).ok());  // old map unchanged

  GuestRegionSpec spec{0x12000, kPage, b_->userspace_addr(), 12345 /* ignored */};
  auto removed = (*added)->WithoutRegion(spec);
  ASSERT_TRUE(removed.ok());
  EXPECT_FALSE((*removed)->TranslateContiguous(0x12000, 1).ok());
  EXPECT_TRUE((*removed)->TranslateContiguous(0x40000, 1).ok());
  spec.size = 2 * kPage;  // must match exactly
  EXPECT_EQ((*added)->WithoutRegion(spec).status().code(), absl::StatusCode::kNotFound);
}

TEST(GuestMemoryHolderTest, SnapshotOutlivesSwapAndKeepsMappingValid) {
  UniqueFd fd = MakeMemfd(kPage);
  Poke(fd.get(), 7, 0x5a);
  GuestMemoryHolder holder;
  EXPECT_FALSE(holder.Load()->TranslateContiguous(0, 1).ok());  // starts empty
  {
    auto region = MapRegion(fd.get(), 0x1000, kPage);
    auto memory = GuestMemory::Create({region});
    ASSERT_TRUE(memory.ok());
    holder.Store(*memory);
  }
  std::shared_ptr<const GuestMemory> snapshot = holder.Load();
  auto p = snapshot->TranslateContiguous(0x1007, 1);
  ASSERT_TRUE(p.ok());
  // REM_MEM_REG: the current map loses the region...
  auto removed = holder.Load()->WithoutRegion({0x1000, kPage, 0x7f0000000000 + 0x1000, 0});
  ASSERT_TRUE(removed.ok());
  holder.Store(*removed);
  EXPECT_FALSE(holder.Load()->TranslateContiguous(0x1007, 1).ok());
  // ...but the snapshot still maps it (no munmap under an in-flight request).
  EXPECT_EQ(**p, 0x5a);
  EXPECT_EQ(snapshot->regions().size(), 1u);
  EXPECT_EQ(snapshot->regions()[0].use_count(), 1);  // the snapshot is its last owner
}

}  // namespace
}  // namespace vfsd
