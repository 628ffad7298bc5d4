// DaemonProcess and command templates, with stand-in "daemons" (sh/python).
#include "testing/fake_vmm_daemon_process.h"

#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <iterator>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/fake_vmm_session.h"

namespace vfsd {
namespace {

using ::testing::ElementsAre;

TEST(ExpandDaemonCommandTest, SplitsQuotesAndSubstitutes) {
  auto argv = ExpandDaemonCommand(
      "/bin/d --socket-path={socket} -o 'source={dir}' \"a b\"  x{socket}y",
      {{"socket", "/tmp/s"}, {"dir", "/share dir"}});
  ASSERT_TRUE(argv.ok()) << argv.status();
  EXPECT_THAT(*argv, ElementsAre("/bin/d", "--socket-path=/tmp/s", "-o", "source=/share dir",
                                 "a b", "x/tmp/sy"));
}

TEST(ExpandDaemonCommandTest, RejectsUnknownPlaceholdersAndBadQuotes) {
  EXPECT_FALSE(ExpandDaemonCommand("/bin/d {nope}", {}).ok());
  EXPECT_FALSE(ExpandDaemonCommand("/bin/d 'open", {}).ok());
  EXPECT_FALSE(ExpandDaemonCommand("   ", {}).ok());
}

TEST(DaemonProcessTest, ReportsEarlyExit) {
  absl::StatusOr<std::string> socket = MakeSocketPath();
  ASSERT_TRUE(socket.ok());
  auto daemon = DaemonProcess::Spawn({"/bin/sh", "-c", "exit 3"}, *socket);
  RemoveSocketPath(*socket);
  ASSERT_FALSE(daemon.ok());
  EXPECT_EQ(daemon.status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(DaemonProcessTest, SendsOutputToLogFile) {
  absl::StatusOr<std::string> socket = MakeSocketPath();
  absl::StatusOr<std::string> dir = MakeTempDir("log");
  ASSERT_TRUE(socket.ok() && dir.ok());
  const std::string log = *dir + "/daemon.log";
  auto daemon = DaemonProcess::Spawn({"/bin/sh", "-c", "echo to-stdout; echo to-stderr >&2"},
                                     *socket, absl::Seconds(5), log);
  RemoveSocketPath(*socket);
  ASSERT_FALSE(daemon.ok());
  std::ifstream in(log);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(text, "to-stdout\nto-stderr\n");
}

TEST(DaemonProcessTest, WaitsForSocketThenKillsAndReaps) {
  absl::StatusOr<std::string> socket = MakeSocketPath();
  ASSERT_TRUE(socket.ok());
  const std::string script = absl::StrCat(
      "import socket, time\n"
      "time.sleep(0.2)\n"
      "s = socket.socket(socket.AF_UNIX)\n"
      "s.bind('", *socket, "')\n"
      "s.listen(1)\n"
      "while True: pass\n");  // burn CPU so CpuSeconds() moves
  auto daemon = DaemonProcess::Spawn({"/usr/bin/python3", "-c", script}, *socket);
  ASSERT_TRUE(daemon.ok()) << daemon.status();
  EXPECT_TRUE((*daemon)->running());
  absl::StatusOr<double> cpu = (*daemon)->CpuSeconds();
  ASSERT_TRUE(cpu.ok());
  EXPECT_GE(*cpu, 0.0);
  const pid_t pid = (*daemon)->pid();
  (*daemon)->Kill();
  RemoveSocketPath(*socket);
  EXPECT_FALSE((*daemon)->running());
  EXPECT_EQ(kill(pid, 0), -1);  // reaped: the pid is gone
}

}  // namespace
}  // namespace vfsd
