// Readdir record parsing: round trips, and malformed daemon output.
#include "testing/fuse_client_dirents.h"

#include "gtest/gtest.h"

namespace vfsd {
namespace {

TEST(FuseDirentsTest, RoundTripsPaddedRecords) {
  std::vector<uint8_t> wire;
  AppendFuseDirent({1, 1, 4, "."}, &wire);
  AppendFuseDirent({7, 2, 8, "a-longer-name"}, &wire);
  EXPECT_EQ(wire.size() % 8, 0u);
  auto parsed = ParseFuseDirents(wire);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  ASSERT_EQ(parsed->size(), 2u);
  EXPECT_EQ((*parsed)[1].name, "a-longer-name");
  EXPECT_EQ((*parsed)[1].ino, 7u);
  EXPECT_EQ((*parsed)[1].off, 2u);
  EXPECT_EQ((*parsed)[1].type, 8u);
}

TEST(FuseDirentsTest, RoundTripsPlusRecords) {
  FuseDirEntryPlus e{};
  e.entry.nodeid = 55;
  e.entry.attr.size = 1234;
  e.dirent = {9, 3, 8, "file"};
  std::vector<uint8_t> wire;
  AppendFuseDirentPlus(e, &wire);
  AppendFuseDirentPlus(e, &wire);
  auto parsed = ParseFuseDirentsPlus(wire);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  ASSERT_EQ(parsed->size(), 2u);
  EXPECT_EQ((*parsed)[0].entry.nodeid, 55u);
  EXPECT_EQ((*parsed)[1].entry.attr.size, 1234u);
  EXPECT_EQ((*parsed)[1].dirent.name, "file");
}

TEST(FuseDirentsTest, AcceptsMissingFinalPadding) {
  std::vector<uint8_t> wire;
  AppendFuseDirent({1, 1, 4, "abc"}, &wire);
  wire.resize(24 + 3);
  auto parsed = ParseFuseDirents(wire);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ((*parsed)[0].name, "abc");
}

TEST(FuseDirentsTest, RejectsOverrunsAndEmptyNames) {
  std::vector<uint8_t> wire;
  AppendFuseDirent({1, 1, 4, "abcdef"}, &wire);
  // namelen claims more than the buffer holds.
  wire[16] = 200;
  EXPECT_EQ(ParseFuseDirents(wire).status().code(), absl::StatusCode::kDataLoss);
  wire[16] = 0;
  EXPECT_FALSE(ParseFuseDirents(wire).ok());
  std::vector<uint8_t> truncated(10, 0);
  EXPECT_FALSE(ParseFuseDirents(truncated).ok());
  std::vector<uint8_t> plus(sizeof(fuse_entry_out) + 8, 0);
  EXPECT_FALSE(ParseFuseDirentsPlus(plus).ok());
  EXPECT_TRUE(ParseFuseDirents({}).ok());
}

}  // namespace
}  // namespace vfsd
