#include "backends/passthrough/locked_ranges.h"

#include <cstdint>

#include "gtest/gtest.h"

namespace vfsd {
namespace {

TEST(LockedRangesTest, AddMergesOverlappingAndAdjacent) {
  LockedRanges r;
  EXPECT_TRUE(r.empty());
  r.Add(10, 19);
  r.Add(20, 29);  // adjacent: one range, as fcntl merges same-type locks
  EXPECT_EQ(r.range_count(), 1u);
  EXPECT_TRUE(r.Covers(10, 29));
  r.Add(40, 49);
  EXPECT_EQ(r.range_count(), 2u);
  EXPECT_FALSE(r.Covers(25, 45));
  r.Add(5, 100);  // swallows both
  EXPECT_EQ(r.range_count(), 1u);
  EXPECT_TRUE(r.Covers(5, 100));
  EXPECT_FALSE(r.Covers(4, 5));
  EXPECT_FALSE(r.Covers(100, 101));
}

TEST(LockedRangesTest, RemoveSplitsAndTrims) {
  LockedRanges r;
  r.Add(0, 99);
  r.Remove(40, 59);  // split in the middle
  EXPECT_EQ(r.range_count(), 2u);
  EXPECT_TRUE(r.Covers(0, 39));
  EXPECT_TRUE(r.Covers(60, 99));
  EXPECT_FALSE(r.Covers(39, 40));
  r.Remove(30, 70);  // trims both pieces
  EXPECT_TRUE(r.Covers(0, 29));
  EXPECT_FALSE(r.Covers(29, 30));
  EXPECT_TRUE(r.Covers(71, 99));
  r.Remove(200, 300);  // nothing there
  EXPECT_EQ(r.range_count(), 2u);
  r.Remove(0, 99);
  EXPECT_TRUE(r.empty());
}

TEST(LockedRangesTest, ToEndOfFileNeverOverflows) {
  LockedRanges r;
  r.Add(100, UINT64_MAX);
  r.Add(0, 99);  // touches: merged
  EXPECT_EQ(r.range_count(), 1u);
  EXPECT_TRUE(r.Covers(0, UINT64_MAX));
  r.Add(UINT64_MAX, UINT64_MAX);
  EXPECT_EQ(r.range_count(), 1u);
  r.Remove(50, 60);
  EXPECT_TRUE(r.Covers(61, UINT64_MAX));
  r.Remove(1000, UINT64_MAX);
  EXPECT_TRUE(r.Covers(61, 999));
  EXPECT_FALSE(r.Covers(61, 1000));
  r.Remove(0, UINT64_MAX);
  EXPECT_TRUE(r.empty());
  r.Add(UINT64_MAX, UINT64_MAX);
  r.Add(0, 0);
  EXPECT_EQ(r.range_count(), 2u);
}

TEST(LockedRangesTest, ManySmallRangesCountedSeparately) {
  LockedRanges r;
  for (uint64_t i = 0; i < 100; ++i) r.Add(2 * i, 2 * i);
  EXPECT_EQ(r.range_count(), 100u);
  for (uint64_t i = 0; i < 100; ++i) r.Add(2 * i + 1, 2 * i + 1);
  EXPECT_EQ(r.range_count(), 1u);
  EXPECT_TRUE(r.Covers(0, 199));
}

}  // namespace
}  // namespace vfsd
