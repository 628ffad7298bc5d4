#include "daemon/capabilities.h"

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace vfsd {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::Not;

TEST(CapabilitiesTest, DefaultsAreVirtiofsds) {
  EXPECT_THAT(DefaultCapabilities(),
              ::testing::UnorderedElementsAre("chown", "dac_override", "fowner", "fsetid",
                                              "setgid", "setuid", "mknod", "setfcap"));
}

TEST(CapabilitiesTest, ModcapsAddAndDrop) {
  absl::StatusOr<std::vector<std::string>> keep =
      CapabilitiesToKeep({{true, "sys_admin"}, {false, "mknod"}, {true, "chown"}});
  ASSERT_TRUE(keep.ok()) << keep.status();
  EXPECT_THAT(*keep, Contains("sys_admin"));
  EXPECT_THAT(*keep, Not(Contains("mknod")));
  EXPECT_EQ(std::count(keep->begin(), keep->end(), "chown"), 1);
}

TEST(CapabilitiesTest, FileHandlesKeepDacReadSearchUnlessDropped) {
  absl::StatusOr<std::vector<std::string>> keep = CapabilitiesToKeep({}, true);
  ASSERT_TRUE(keep.ok());
  EXPECT_NE(std::find(keep->begin(), keep->end(), "dac_read_search"), keep->end());
  keep = CapabilitiesToKeep({}, false);
  ASSERT_TRUE(keep.ok());
  EXPECT_EQ(std::find(keep->begin(), keep->end(), "dac_read_search"), keep->end());
  keep = CapabilitiesToKeep({{false, "dac_read_search"}}, true);
  ASSERT_TRUE(keep.ok());
  EXPECT_EQ(std::find(keep->begin(), keep->end(), "dac_read_search"), keep->end());
}

TEST(CapabilitiesTest, UnknownCapabilityIsAnError) {
  absl::StatusOr<std::vector<std::string>> keep = CapabilitiesToKeep({{true, "fly"}});
  ASSERT_FALSE(keep.ok());
  EXPECT_THAT(keep.status().message(), HasSubstr("'fly'"));
}

std::string StatusLine(const char* key) {
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(key, 0) == 0) return line;
  }
  return "";
}

TEST(CapabilitiesTest, DropLeavesOnlyTheKeptSet) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to hold capabilities";
  // In a child: dropping is irreversible.
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    if (!DropCapabilities({"chown", "setuid"}).ok()) _exit(1);
    // CAP_CHOWN is bit 0, CAP_SETUID bit 7.
    if (StatusLine("CapEff:") != "CapEff:\t0000000000000081") _exit(2);
    if (StatusLine("CapPrm:") != "CapPrm:\t0000000000000081") _exit(3);
    _exit(0);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

}  // namespace
}  // namespace vfsd
