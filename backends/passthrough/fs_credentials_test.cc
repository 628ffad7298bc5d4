#include "backends/passthrough/fs_credentials.h"

#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <future>
#include <thread>

#include "gtest/gtest.h"

namespace vfsd {
namespace {

uid_t FsUid() { return static_cast<uid_t>(::syscall(SYS_setfsuid, -1)); }
gid_t FsGid() { return static_cast<gid_t>(::syscall(SYS_setfsgid, -1)); }

TEST(ScopedFsCredentialsTest, DisabledChangesNothing) {
  const uid_t uid = FsUid();
  {
    ScopedFsCredentials creds(RequestContext{uid + 1, 1234, 1}, /*enabled=*/false);
    EXPECT_TRUE(creds.status().ok());
    EXPECT_EQ(FsUid(), uid);
  }
  EXPECT_EQ(FsUid(), uid);
}

TEST(ScopedFsCredentialsTest, SwitchesOnlyThisThreadAndRestores) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root (CAP_SETUID/CAP_SETGID)";
  // A thread that already exists (as pool workers do); a thread created
  // while switched would inherit the switched credentials.
  std::promise<void> switched;
  uid_t other_uid = 12345;
  std::thread other([&] {
    switched.get_future().wait();
    other_uid = FsUid();
  });
  {
    ScopedFsCredentials creds(RequestContext{1000, 2000, 1}, /*enabled=*/true);
    EXPECT_TRUE(creds.status().ok()) << creds.status();
    EXPECT_EQ(FsUid(), 1000u);
    EXPECT_EQ(FsGid(), 2000u);
    switched.set_value();
    other.join();
    EXPECT_EQ(other_uid, 0u);
    // The switched thread lost its filesystem capabilities: root-only files
    // are out of reach.
    EXPECT_NE(::access("/proc/1/root/.", R_OK), 0);
  }
  EXPECT_EQ(FsUid(), 0u);
  EXPECT_EQ(FsGid(), 0u);
}

TEST(ScopedFsCredentialsTest, RootCallerKeepsRoot) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root";
  ScopedFsCredentials creds(RequestContext{0, 0, 1}, /*enabled=*/true);
  EXPECT_TRUE(creds.status().ok());
  EXPECT_EQ(FsUid(), 0u);
}

TEST(EnsureThreadUmaskZeroTest, OnlyThisThreadsUmaskChanges) {
  const mode_t process_umask = ::umask(022);
  ::umask(022);
  mode_t seen_in_thread = 0777;
  std::thread([&] {
    ASSERT_TRUE(EnsureThreadUmaskZero().ok());
    ASSERT_TRUE(EnsureThreadUmaskZero().ok());  // idempotent
    seen_in_thread = ::umask(0);
  }).join();
  EXPECT_EQ(seen_in_thread, 0u);
  EXPECT_EQ(::umask(process_umask), 022u);  // the process umask is untouched
}

}  // namespace
}  // namespace vfsd
