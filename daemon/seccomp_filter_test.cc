#include "daemon/seccomp_filter.h"

#include <seccomp.h>
#include <signal.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <set>
#include <string>

#include "gtest/gtest.h"

namespace vfsd {
namespace {

// Runs `body` in a forked child and returns its wait status: a loaded
// filter cannot be removed, so the test process itself never loads one.
template <typename Body>
int RunInChild(Body body) {
  pid_t pid = fork();
  if (pid == 0) _exit(body());
  int status = 0;
  waitpid(pid, &status, 0);
  return status;
}

TEST(SeccompFilterTest, AllowlistHasNoDuplicatesAndResolves) {
  std::set<std::string> seen;
  int resolved = 0;
  for (const char* name : AllowedSyscalls()) {
    EXPECT_TRUE(seen.insert(name).second) << name << " listed twice";
    if (seccomp_syscall_resolve_name(name) != __NR_SCMP_ERROR) ++resolved;
  }
  // Only a few names are architecture-specific (e.g. "time", "epoll_wait").
  EXPECT_GE(resolved, static_cast<int>(AllowedSyscalls().size()) - 8);
}

TEST(SeccompFilterTest, AllowsWhatServingNeedsAndNothingDangerous) {
  absl::StatusOr<SeccompFilter> filter = SeccompFilter::Build(SeccompAction::kKill);
  ASSERT_TRUE(filter.ok()) << filter.status();
  for (const char* needed : {"openat", "preadv", "pwritev", "recvmsg", "sendmsg", "eventfd2",
                             "setfsuid", "setfsgid", "getdents64", "statx", "fallocate",
                             "renameat2", "futex", "clone3", "exit_group",
                             // --inode-file-handles; harmless without
                             // CAP_DAC_READ_SEARCH, which the daemon keeps
                             // only when handles are wanted.
                             "name_to_handle_at", "open_by_handle_at",
                             // Batched READs on rings made before the filter.
                             "io_uring_enter"}) {
    EXPECT_TRUE(filter->Allows(needed)) << needed;
  }
  for (const char* refused : {"mount", "umount2", "pivot_root", "chroot", "ptrace", "execve",
                              "execveat", "socket", "connect", "bind", "init_module", "kexec_load",
                              "bpf", "setns", "reboot", "kill",
                              // No new (unrestricted) io_uring after the filter.
                              "io_uring_setup", "io_uring_register"}) {
    EXPECT_FALSE(filter->Allows(refused)) << refused;
  }
  absl::StatusOr<size_t> instructions = filter->BpfInstructionCount();
  ASSERT_TRUE(instructions.ok()) << instructions.status();
  EXPECT_GT(*instructions, AllowedSyscalls().size() / 2);
}

TEST(SeccompFilterTest, NoneBuildsNoFilter) {
  EXPECT_FALSE(SeccompFilter::Build(SeccompAction::kNone).ok());
  EXPECT_TRUE(InstallSeccompFilter(SeccompAction::kNone).ok());
}

TEST(SeccompFilterTest, KillModeKillsOnARefusedSyscall) {
  int status = RunInChild([] {
    if (!InstallSeccompFilter(SeccompAction::kKill).ok()) return 1;
    if (getpid() <= 0) return 2;  // allowed
    syscall(SYS_socket, AF_INET, SOCK_STREAM, 0);  // refused: the process dies here
    return 3;
  });
  ASSERT_TRUE(WIFSIGNALED(status)) << "exit status " << WEXITSTATUS(status);
  EXPECT_EQ(WTERMSIG(status), SIGSYS);
}

TEST(SeccompFilterTest, KillModeKeepsAllowedSyscallsWorking) {
  int status = RunInChild([] {
    if (!InstallSeccompFilter(SeccompAction::kKill).ok()) return 1;
    int fds[2];
    if (pipe2(fds, 0) != 0) return 2;
    if (write(fds[1], "x", 1) != 1) return 3;
    char c;
    if (read(fds[0], &c, 1) != 1 || c != 'x') return 4;
    // unshare only for CLONE_FS, which the passthrough backend uses.
    if (unshare(CLONE_FS) != 0) return 5;
    return 0;
  });
  ASSERT_TRUE(WIFEXITED(status)) << "killed by signal " << WTERMSIG(status);
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

TEST(SeccompFilterTest, UnshareOfNamespacesIsRefused) {
  int status = RunInChild([] {
    if (!InstallSeccompFilter(SeccompAction::kKill).ok()) return 1;
    unshare(CLONE_NEWUSER);
    return 2;
  });
  ASSERT_TRUE(WIFSIGNALED(status));
  EXPECT_EQ(WTERMSIG(status), SIGSYS);
}

TEST(SeccompFilterTest, LogModeLetsRefusedSyscallsThrough) {
  int status = RunInChild([] {
    if (!InstallSeccompFilter(SeccompAction::kLog).ok()) return 1;
    long fd = syscall(SYS_socket, AF_UNIX, SOCK_STREAM, 0);  // logged by the kernel, not refused
    if (fd < 0) return 2;
    close(static_cast<int>(fd));
    return 0;
  });
  ASSERT_TRUE(WIFEXITED(status)) << "killed by signal " << WTERMSIG(status);
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

#if defined(__x86_64__)
TEST(SeccompFilterTest, TrapModeFailsTheSyscallWithEnosysAndCarriesOn) {
  int status = RunInChild([] {
    if (!InstallSeccompFilter(SeccompAction::kTrap).ok()) return 1;
    long rc = syscall(SYS_socket, AF_INET, SOCK_STREAM, 0);
    if (rc != -1 || errno != ENOSYS) return 2;
    return 0;
  });
  ASSERT_TRUE(WIFEXITED(status)) << "killed by signal " << WTERMSIG(status);
  EXPECT_EQ(WEXITSTATUS(status), 0);
}
#endif

}  // namespace
}  // namespace vfsd
