// The generated ShareConfig code builds, links against Debian's libprotobuf
// and round-trips, proving the protoc macro in tools/defs.bzl.
#include "gtest/gtest.h"
#include "proto/share_config.pb.h"

namespace vfsd {
namespace {

TEST(ShareConfigProtoTest, RoundTrips) {
  config::ShareConfig config;
  config.set_backend("passthrough");
  config.set_shared_dir("/srv/share");
  config.set_cache("never");
  config.set_readonly(true);
  std::string bytes;
  ASSERT_TRUE(config.SerializeToString(&bytes));
  config::ShareConfig parsed;
  ASSERT_TRUE(parsed.ParseFromString(bytes));
  EXPECT_EQ(parsed.backend(), "passthrough");
  EXPECT_EQ(parsed.shared_dir(), "/srv/share");
  EXPECT_EQ(parsed.cache(), "never");
  EXPECT_TRUE(parsed.readonly());
}

}  // namespace
}  // namespace vfsd
