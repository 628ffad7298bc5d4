// FakeGuestMemory: region placement, translation bounds, allocation.
#include "testing/fake_vmm_memory.h"

#include <sys/mman.h>
#include <unistd.h>

#include <set>

#include "gtest/gtest.h"

namespace vfsd {
namespace {

TEST(FakeGuestMemoryTest, RegionsAreSeparatedByHoles) {
  FakeGuestMemoryOptions options;
  options.region_sizes = {1 << 20, 2 << 20};
  options.first_gpa = 0x100000;
  options.gpa_hole = 0x200000;
  auto memory = FakeGuestMemory::Create(options);
  ASSERT_TRUE(memory.ok()) << memory.status();
  const auto& r = (*memory)->regions();
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].gpa, 0x100000u);
  EXPECT_EQ(r[1].gpa, 0x100000u + (1 << 20) + 0x200000u);
  EXPECT_NE(r[0].fd, r[1].fd);
  // The hole translates to nothing; ranges may not straddle regions.
  EXPECT_EQ((*memory)->Translate(r[0].gpa + r[0].size, 1), nullptr);
  EXPECT_EQ((*memory)->Translate(r[0].gpa + r[0].size - 4, 8), nullptr);
  EXPECT_EQ((*memory)->Translate(0, 1), nullptr);
  EXPECT_EQ((*memory)->Translate(r[1].gpa + 10, 6), r[1].host + 10);
  EXPECT_EQ((*memory)->Translate(r[1].gpa, ~0ull), nullptr);
  EXPECT_EQ((*memory)->UserAddress(r[1].gpa + 16),
            reinterpret_cast<uint64_t>(r[1].host) + 16);
  const vhost_user::MemoryRegion wire = (*memory)->WireRegion(1);
  EXPECT_EQ(wire.guest_phys_addr, r[1].gpa);
  EXPECT_EQ(wire.memory_size, r[1].size);
  EXPECT_EQ(wire.mmap_offset, 0u);
}

TEST(FakeGuestMemoryTest, SingleMemfdUsesIncreasingOffsets) {
  FakeGuestMemoryOptions options;
  options.region_sizes = {1 << 20, 1 << 20, 2 << 20};
  options.single_memfd = true;
  auto memory = FakeGuestMemory::Create(options);
  ASSERT_TRUE(memory.ok()) << memory.status();
  const auto& r = (*memory)->regions();
  EXPECT_EQ(r[0].fd, r[2].fd);
  EXPECT_EQ(r[1].mmap_offset, 1u << 20);
  EXPECT_EQ(r[2].mmap_offset, 2u << 20);
  // Writes through our mapping are visible through a fresh mapping of the
  // fd at the region's offset, as the daemon will see them.
  r[2].host[5] = 42;
  void* other = mmap(nullptr, 4096, PROT_READ, MAP_SHARED, r[2].fd, r[2].mmap_offset);
  ASSERT_NE(other, MAP_FAILED);
  EXPECT_EQ(static_cast<uint8_t*>(other)[5], 42);
  munmap(other, 4096);
}

TEST(FakeGuestMemoryTest, AllocationsRotateOverRegionsAndAreAligned) {
  FakeGuestMemoryOptions options;
  options.region_sizes = {1 << 20, 1 << 20, 1 << 20};
  auto memory = FakeGuestMemory::Create(options);
  ASSERT_TRUE(memory.ok());
  std::set<const uint8_t*> regions_hit;
  for (int i = 0; i < 3; ++i) {
    absl::StatusOr<uint64_t> gpa = (*memory)->Allocate(100, 4096);
    ASSERT_TRUE(gpa.ok());
    EXPECT_EQ(*gpa % 4096, 0u);
    for (const auto& r : (*memory)->regions()) {
      if (*gpa >= r.gpa && *gpa < r.gpa + r.size) regions_hit.insert(r.host);
    }
  }
  EXPECT_EQ(regions_hit.size(), 3u);
}

TEST(FakeGuestMemoryTest, RejectsBadInputAndRunsOut) {
  FakeGuestMemoryOptions options;
  options.region_sizes = {};
  EXPECT_FALSE(FakeGuestMemory::Create(options).ok());
  options.region_sizes = {1000};
  EXPECT_FALSE(FakeGuestMemory::Create(options).ok());
  options.region_sizes = {4096};
  auto memory = FakeGuestMemory::Create(options);
  ASSERT_TRUE(memory.ok());
  EXPECT_FALSE((*memory)->Allocate(16, 3).ok());
  EXPECT_TRUE((*memory)->Allocate(4000).ok());
  EXPECT_EQ((*memory)->Allocate(4000).status().code(), absl::StatusCode::kResourceExhausted);
}

}  // namespace
}  // namespace vfsd
