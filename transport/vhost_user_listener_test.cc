#include "transport/vhost_user_listener.h"

#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace vfsd {
namespace {

using ::testing::HasSubstr;

std::string NewDir() {
  const char* tmp = getenv("TEST_TMPDIR");
  std::string root = tmp != nullptr && std::strlen(tmp) < 60 ? tmp : "/tmp";
  std::string dir = root + "/vl-XXXXXX";
  EXPECT_NE(mkdtemp(dir.data()), nullptr);
  return dir;
}

int ConnectTo(const std::string& path) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

TEST(VhostUserListenerTest, BindsAcceptsAndLeavesPathOnClose) {
  const std::string path = NewDir() + "/vhost.sock";
  {
    auto listener = VhostUserListener::Bind(path);
    ASSERT_TRUE(listener.ok()) << listener.status();
    EXPECT_EQ(listener->path(), path);
    int client = ConnectTo(path);
    ASSERT_GE(client, 0);
    auto conn = listener->Accept();
    ASSERT_TRUE(conn.ok()) << conn.status();
    EXPECT_TRUE(fcntl(*conn, F_GETFD) & FD_CLOEXEC);
    ASSERT_EQ(write(client, "x", 1), 1);
    char c;
    EXPECT_EQ(read(*conn, &c, 1), 1);
    close(*conn);
    close(client);
  }
  struct stat st;
  EXPECT_EQ(lstat(path.c_str(), &st), 0);  // the daemon unlinks, not us
  unlink(path.c_str());
}

TEST(VhostUserListenerTest, LiveListenerMeansAddressInUse) {
  const std::string path = NewDir() + "/vhost.sock";
  auto first = VhostUserListener::Bind(path);
  ASSERT_TRUE(first.ok());
  auto second = VhostUserListener::Bind(path);
  ASSERT_FALSE(second.ok());
  EXPECT_THAT(second.status().message(), HasSubstr("address in use"));
  EXPECT_THAT(second.status().message(), HasSubstr(path));
  // The check did not connect to the live listener (a single-connection
  // daemon would take the probe for its VMM); the first one still works.
  int client = ConnectTo(path);
  EXPECT_GE(client, 0);
  auto conn = first->Accept();
  ASSERT_TRUE(conn.ok());
  pollfd pfd{first->fd(), POLLIN, 0};
  EXPECT_EQ(poll(&pfd, 1, 0), 0);  // no other connection is queued
  close(*conn);
  close(client);
  unlink(path.c_str());
}

TEST(VhostUserListenerTest, ReplacesStaleSocket) {
  const std::string path = NewDir() + "/vhost.sock";
  {
    // A bound socket that never listens, then closed: a dead daemon's file.
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
    ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    close(fd);
  }
  auto listener = VhostUserListener::Bind(path);
  ASSERT_TRUE(listener.ok()) << listener.status();
  int client = ConnectTo(path);
  EXPECT_GE(client, 0);
  close(client);
  unlink(path.c_str());
}

TEST(VhostUserListenerTest, RefusesToReplaceNonSocket) {
  const std::string path = NewDir() + "/not-a-socket";
  int fd = open(path.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
  ASSERT_GE(fd, 0);
  close(fd);
  auto listener = VhostUserListener::Bind(path);
  ASSERT_FALSE(listener.ok());
  EXPECT_THAT(listener.status().message(), HasSubstr("not a socket"));
  struct stat st;
  EXPECT_EQ(lstat(path.c_str(), &st), 0);  // untouched
  EXPECT_TRUE(S_ISREG(st.st_mode));
}

TEST(VhostUserListenerTest, ClearErrorsForBadPaths) {
  auto missing = VhostUserListener::Bind("/nonexistent-dir-vfsd/vhost.sock");
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(missing.status().message(), HasSubstr("/nonexistent-dir-vfsd/vhost.sock"));
  auto too_long = VhostUserListener::Bind("/tmp/" + std::string(200, 'a'));
  ASSERT_FALSE(too_long.ok());
  EXPECT_FALSE(VhostUserListener::Bind("").ok());
  if (geteuid() != 0) {  // root ignores directory permissions
    const std::string dir = NewDir();
    ASSERT_EQ(chmod(dir.c_str(), 0500), 0);
    auto denied = VhostUserListener::Bind(dir + "/vhost.sock");
    ASSERT_FALSE(denied.ok());
    EXPECT_THAT(denied.status().message(), HasSubstr(dir));
    chmod(dir.c_str(), 0700);
  }
}

TEST(VhostUserListenerTest, AdoptsInheritedListeningFd) {
  const std::string path = NewDir() + "/vhost.sock";
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  // Not listening yet: refused, fd left open for the caller.
  EXPECT_FALSE(VhostUserListener::FromFd(fd).ok());
  EXPECT_EQ(fcntl(fd, F_GETFD) >= 0, true);
  ASSERT_EQ(listen(fd, 1), 0);
  auto listener = VhostUserListener::FromFd(fd);
  ASSERT_TRUE(listener.ok()) << listener.status();
  EXPECT_TRUE(listener->path().empty());
  int client = ConnectTo(path);
  ASSERT_GE(client, 0);
  auto conn = listener->Accept();
  ASSERT_TRUE(conn.ok());
  close(*conn);
  close(client);
  unlink(path.c_str());
}

TEST(VhostUserListenerTest, FromFdRejectsNonSockets) {
  int pipes[2];
  ASSERT_EQ(pipe(pipes), 0);
  EXPECT_FALSE(VhostUserListener::FromFd(pipes[0]).ok());
  close(pipes[0]);
  close(pipes[1]);
  int udp = socket(AF_INET, SOCK_DGRAM, 0);
  EXPECT_FALSE(VhostUserListener::FromFd(udp).ok());
  close(udp);
  EXPECT_FALSE(VhostUserListener::FromFd(-1).ok());
}

}  // namespace
}  // namespace vfsd
