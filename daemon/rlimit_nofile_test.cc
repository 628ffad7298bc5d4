#include "daemon/rlimit_nofile.h"

#include <sys/resource.h>
#include <unistd.h>

#include "gtest/gtest.h"

namespace vfsd {
namespace {

TEST(RlimitNofileTest, DefaultLeavesTheSystemSomeFds) {
  EXPECT_EQ(DefaultNofileLimit(9223372036854775807ull), 1000000u);
  EXPECT_EQ(DefaultNofileLimit(1016384), 1000000u);
  EXPECT_EQ(DefaultNofileLimit(116384), 100000u);
  EXPECT_EQ(DefaultNofileLimit(16384), 0u);
  EXPECT_EQ(DefaultNofileLimit(100), 0u);
}

TEST(RlimitNofileTest, DefaultRaisesTheSoftLimitAndNeverLowersTheHardOne) {
  // The usual container: soft 1024, hard 1048576 (= fs.nr_open).
  EXPECT_EQ(DefaultNofileRaise({1024, 1048576}, 9223372036854775807ull, 1048576),
            (NofileLimits{1000000, 1048576}));
  // A hard limit below the target is raised to it (root only; otherwise
  // SetNofileLimit stops at the hard limit).
  EXPECT_EQ(DefaultNofileRaise({1024, 4096}, 9223372036854775807ull, 1048576),
            (NofileLimits{1000000, 1000000}));
  // fs.nr_open caps the target: the kernel refuses anything above it.
  EXPECT_EQ(DefaultNofileRaise({1024, 4096}, 9223372036854775807ull, 65536),
            (NofileLimits{65536, 65536}));
  // Already high enough, or a tiny fs.file-max: nothing to do.
  EXPECT_EQ(DefaultNofileRaise({1000000, 1000000}, 9223372036854775807ull, 1048576),
            std::nullopt);
  EXPECT_EQ(DefaultNofileRaise({2000000, 2000000}, 9223372036854775807ull, 1048576),
            std::nullopt);
  EXPECT_EQ(DefaultNofileRaise({1024, 4096}, 100, 1048576), std::nullopt);
}

TEST(RlimitNofileTest, RequestedLimitIsSetExactly) {
  // Lowering is always allowed, also without privileges.
  absl::StatusOr<uint64_t> now = SetNofileLimit(512);
  ASSERT_TRUE(now.ok()) << now.status();
  EXPECT_EQ(*now, 512u);
  struct rlimit rl;
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &rl), 0);
  EXPECT_EQ(rl.rlim_cur, 512u);
  EXPECT_EQ(rl.rlim_max, 512u);
}

TEST(RlimitNofileTest, RefusedLimitIsAnError) {
  // Above fs.nr_open (at most 2^30 on Linux) the kernel always refuses.
  EXPECT_FALSE(SetNofileLimit(uint64_t{1} << 40).ok());
}

TEST(RlimitNofileTest, DefaultNeverLowers) {
  struct rlimit before;
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &before), 0);
  absl::StatusOr<uint64_t> now = SetNofileLimit(std::nullopt);
  ASSERT_TRUE(now.ok()) << now.status();
  EXPECT_GE(*now, before.rlim_cur);
}

}  // namespace
}  // namespace vfsd
