#include "backends/id_translation/id_map.h"

#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace vfsd {
namespace {

using ::testing::HasSubstr;
using ::testing::Optional;

IdMap MustCreate(const std::vector<const char*>& texts) {
  std::vector<IdMapping> mappings;
  for (const char* text : texts) {
    absl::StatusOr<IdMapping> m = IdMapping::Parse(text);
    EXPECT_TRUE(m.ok()) << text << ": " << m.status();
    if (m.ok()) mappings.push_back(*m);
  }
  absl::StatusOr<IdMap> map = IdMap::Create(mappings);
  EXPECT_TRUE(map.ok()) << map.status();
  return map.ok() ? *std::move(map) : IdMap();
}

TEST(IdMappingTest, ParsesEveryType) {
  auto m = IdMapping::Parse("map:1000:100000:65536");
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->kind, IdMapping::Kind::kMap);
  EXPECT_EQ(m->source, 1000u);
  EXPECT_EQ(m->target, 100000u);
  EXPECT_EQ(m->count, 65536u);
  EXPECT_EQ(m->ToString(), "map:1000:100000:65536");
  for (const char* ok : {"guest:0:1000:1", "host:1000:0:1", "squash-guest:0:65534:65536",
                         "squash-host:0:0:4294967295", "forbid-guest:0:1"}) {
    EXPECT_TRUE(IdMapping::Parse(ok).ok()) << ok;
  }
  EXPECT_EQ(IdMapping::Parse("forbid-guest:5:10")->ToString(), "forbid-guest:5:10");
}

TEST(IdMappingTest, RejectsMalformed) {
  for (const char* bad :
       {"", "map", "map:1:2", "map:1:2:3:4", "frob:1:2:3", "map:a:2:3", "map:1:2:0",
        "map:-1:2:3", "map:+1:2:3", "map:1: 2:3", "guest:4294967295:0:2",
        "map:0:4294967295:2", "forbid-guest:1:2:3", "forbid-guest:1", "map:4294967296:0:1"}) {
    EXPECT_FALSE(IdMapping::Parse(bad).ok()) << bad;
  }
  EXPECT_THAT(IdMapping::Parse("frob:1:2:3").status().message(),
              HasSubstr("unknown mapping type 'frob'"));
  // A squash target is one id, so only the source range must fit.
  EXPECT_TRUE(IdMapping::Parse("squash-guest:0:4294967295:10").ok());
}

TEST(IdMapTest, EmptyIsIdentity) {
  IdMap map;
  EXPECT_TRUE(map.empty());
  EXPECT_THAT(map.GuestToHost(1234), Optional(1234u));
  EXPECT_EQ(map.HostToGuest(1234), 1234u);
}

TEST(IdMapTest, MapIsBidirectionalAndLeavesTheRestAlone) {
  IdMap map = MustCreate({"map:1000:5000:10"});
  EXPECT_FALSE(map.empty());
  EXPECT_THAT(map.GuestToHost(1000), Optional(5000u));
  EXPECT_THAT(map.GuestToHost(1009), Optional(5009u));
  EXPECT_THAT(map.GuestToHost(1010), Optional(1010u));
  EXPECT_THAT(map.GuestToHost(999), Optional(999u));
  EXPECT_EQ(map.HostToGuest(5003), 1003u);
  EXPECT_EQ(map.HostToGuest(5010), 5010u);
}

TEST(IdMapTest, DirectionsAreIndependent) {
  IdMap map = MustCreate({"guest:0:1000:1", "host:1000:0:1", "squash-host:2000:65534:100"});
  EXPECT_THAT(map.GuestToHost(0), Optional(1000u));
  EXPECT_EQ(map.HostToGuest(1000), 0u);
  EXPECT_EQ(map.HostToGuest(2000), 65534u);
  EXPECT_EQ(map.HostToGuest(2099), 65534u);
  EXPECT_EQ(map.HostToGuest(2100), 2100u);
  // Nothing maps guest 65534 back: identity.
  EXPECT_THAT(map.GuestToHost(65534), Optional(65534u));
}

TEST(IdMapTest, SquashAndForbidGuest) {
  IdMap map = MustCreate({"squash-guest:100:7:50", "forbid-guest:0:1"});
  EXPECT_THAT(map.GuestToHost(100), Optional(7u));
  EXPECT_THAT(map.GuestToHost(149), Optional(7u));
  EXPECT_THAT(map.GuestToHost(150), Optional(150u));
  EXPECT_EQ(map.GuestToHost(0), std::nullopt);
  EXPECT_THAT(map.GuestToHost(1), Optional(1u));
}

TEST(IdMapTest, TopOfTheIdSpace) {
  IdMap map = MustCreate({"guest:4294967290:0:6"});
  EXPECT_THAT(map.GuestToHost(4294967295u), Optional(5u));
  EXPECT_THAT(map.GuestToHost(4294967289u), Optional(4294967289u));
}

TEST(IdMapTest, RejectsOverlapWithinADirection) {
  std::vector<IdMapping> mappings = {*IdMapping::Parse("guest:0:1000:10"),
                                     *IdMapping::Parse("forbid-guest:9:1")};
  absl::StatusOr<IdMap> map = IdMap::Create(mappings);
  ASSERT_FALSE(map.ok());
  EXPECT_THAT(map.status().message(), HasSubstr("forbid-guest:9:1"));
  // `map` adds both directions: it collides with a host range too.
  mappings = {*IdMapping::Parse("host:1000:0:10"), *IdMapping::Parse("map:50:1005:1")};
  EXPECT_FALSE(IdMap::Create(mappings).ok());
  // Adjacent ranges are fine.
  mappings = {*IdMapping::Parse("guest:0:1000:10"), *IdMapping::Parse("guest:10:2000:10")};
  EXPECT_TRUE(IdMap::Create(mappings).ok());
}

}  // namespace
}  // namespace vfsd
