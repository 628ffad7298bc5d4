#include "protocol/iovec_io.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace vfsd {
namespace {

// Three segments: "abc" "" "defgh".
class IovecIoTest : public ::testing::Test {
 protected:
  std::string a_ = "abc", c_ = "defgh";
  std::vector<iovec> iov_ = {{a_.data(), 3}, {nullptr, 0}, {c_.data(), 5}};
};

TEST_F(IovecIoTest, TotalLength) { EXPECT_EQ(IovecTotalLength(iov_), 8u); }

TEST_F(IovecIoTest, CopyFromStraddlesSegments) {
  char buf[8] = {};
  EXPECT_EQ(CopyFromIovecs(iov_, 1, buf, 4), 4u);
  EXPECT_EQ(std::string(buf, 4), "bcde");
}

TEST_F(IovecIoTest, CopyFromStopsAtEnd) {
  char buf[16] = {};
  EXPECT_EQ(CopyFromIovecs(iov_, 6, buf, 16), 2u);
  EXPECT_EQ(std::string(buf, 2), "gh");
  EXPECT_EQ(CopyFromIovecs(iov_, 100, buf, 16), 0u);
}

TEST_F(IovecIoTest, CopyToAndZero) {
  EXPECT_EQ(CopyToIovecs(iov_, 2, "XYZ", 3), 3u);
  EXPECT_EQ(a_ + c_, "abXYZfgh");
  EXPECT_EQ(CopyToIovecs(iov_, 7, "12", 2), 1u);  // truncated at the end
  EXPECT_EQ(c_, "YZfg1");
  EXPECT_EQ(ZeroIovecs(iov_, 0, 1), 1u);
  EXPECT_EQ(a_[0], '\0');
}

TEST_F(IovecIoTest, SlicePointsIntoTheOriginalSegments) {
  IovecVector slice;
  ASSERT_TRUE(SliceIovecs(iov_, 2, 4, &slice));
  ASSERT_EQ(slice.size(), 2u);
  EXPECT_EQ(slice[0].iov_base, a_.data() + 2);
  EXPECT_EQ(slice[0].iov_len, 1u);
  EXPECT_EQ(slice[1].iov_base, c_.data());
  EXPECT_EQ(slice[1].iov_len, 3u);
}

TEST_F(IovecIoTest, SliceBeyondEndFails) {
  IovecVector slice;
  EXPECT_FALSE(SliceIovecs(iov_, 4, 5, &slice));
  EXPECT_TRUE(slice.empty());
  ASSERT_TRUE(SliceIovecs(iov_, 8, 0, &slice));
  EXPECT_TRUE(slice.empty());
}

}  // namespace
}  // namespace vfsd
