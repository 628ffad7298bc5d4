#include "protocol/cache_policy.h"

#include <linux/fuse.h>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace vfsd {
namespace {

TEST(ParseCacheModeTest, AcceptsTheFourModes) {
  EXPECT_EQ(*ParseCacheMode("never"), CacheMode::kNever);
  EXPECT_EQ(*ParseCacheMode("metadata"), CacheMode::kMetadata);
  EXPECT_EQ(*ParseCacheMode("auto"), CacheMode::kAuto);
  EXPECT_EQ(*ParseCacheMode("always"), CacheMode::kAlways);
  for (CacheMode m : {CacheMode::kNever, CacheMode::kMetadata, CacheMode::kAuto,
                      CacheMode::kAlways}) {
    EXPECT_EQ(*ParseCacheMode(CacheModeName(m)), m);
  }
}

TEST(ParseCacheModeTest, RejectsOthers) {
  EXPECT_FALSE(ParseCacheMode("").ok());
  EXPECT_FALSE(ParseCacheMode("Auto").ok());
  EXPECT_FALSE(ParseCacheMode("none").ok());
}

TEST(CachePolicyTest, TimeoutsMatchVirtiofsd) {
  EXPECT_EQ(CacheTimeoutSeconds(CacheMode::kNever), 0u);
  EXPECT_EQ(CacheTimeoutSeconds(CacheMode::kMetadata), 86400u);
  EXPECT_EQ(CacheTimeoutSeconds(CacheMode::kAuto), 1u);
  EXPECT_EQ(CacheTimeoutSeconds(CacheMode::kAlways), 86400u);
}

TEST(CachePolicyTest, OpenFlagsPerMode) {
  const OpenResult plain;
  EXPECT_EQ(OpenReplyFlags(CacheMode::kNever, plain, false), uint32_t{FOPEN_DIRECT_IO});
  EXPECT_EQ(OpenReplyFlags(CacheMode::kNever, plain, true), 0u);
  EXPECT_EQ(OpenReplyFlags(CacheMode::kMetadata, plain, false), uint32_t{FOPEN_DIRECT_IO});
  EXPECT_EQ(OpenReplyFlags(CacheMode::kMetadata, plain, true),
            uint32_t{FOPEN_KEEP_CACHE | FOPEN_CACHE_DIR});
  EXPECT_EQ(OpenReplyFlags(CacheMode::kAuto, plain, false), 0u);
  EXPECT_EQ(OpenReplyFlags(CacheMode::kAuto, plain, true), 0u);
  EXPECT_EQ(OpenReplyFlags(CacheMode::kAlways, plain, false), uint32_t{FOPEN_KEEP_CACHE});
  EXPECT_EQ(OpenReplyFlags(CacheMode::kAlways, plain, true),
            uint32_t{FOPEN_KEEP_CACHE | FOPEN_CACHE_DIR});
}

TEST(CachePolicyTest, BackendHintsAreAdded) {
  OpenResult hints;
  hints.direct_io = true;
  hints.nonseekable = true;
  hints.cache_dir = true;  // ignored for files
  EXPECT_EQ(OpenReplyFlags(CacheMode::kAuto, hints, false),
            uint32_t{FOPEN_DIRECT_IO | FOPEN_NONSEEKABLE});
  OpenResult dir;
  dir.cache_dir = true;
  EXPECT_EQ(OpenReplyFlags(CacheMode::kAuto, dir, true), uint32_t{FOPEN_CACHE_DIR});
}

}  // namespace
}  // namespace vfsd
