// vfsd's open-fd bound, end to end through the fake VMM: a guest that
// creates, releases, unlinks and forgets files in a loop must leave the
// daemon with the fds it started with (issue 5: "no fd leak over a million
// create/unlink cycles"), with and without --inode-file-handles. A guest
// that never forgets gets bounded fds with handles, and without them a
// clean EMFILE for the request that ran out (never a crash), after which
// FORGETs let the daemon recover.
//
// Cycles: VFSD_FD_BOUND_CYCLES (default 40000 per mode; 60000 measured
// 11 s (never) and 9 s (prefer) on the idle 2-core machine, 41 s and 27 s
// while other builds ran); run the million (measured: 10m39s under
// load, 15 fds before and after) by hand with
//   bazel test //testing:vfsd_fd_bound_test --test_env=VFSD_FD_BOUND_CYCLES=1000000
//       --test_timeout=3600
// The daemon's fds are counted in /proc/PID/fd of the process that serves
// (the namespace sandbox's child when there is one).
#include <fcntl.h>
#include <linux/fuse.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "backends/errno_status.h"
#include "glog/logging.h"
#include "gtest/gtest.h"
#include "testing/fake_vmm_session.h"

namespace vfsd {
namespace {

std::string VfsdBinary() {
  const char* runfiles = std::getenv("TEST_SRCDIR");
  return absl::StrCat(runfiles ? runfiles : ".", "/vfsd/daemon/vfsd");
}

int CyclesFromEnv() {
  const char* env = std::getenv("VFSD_FD_BOUND_CYCLES");
  int cycles = 40000;
  if (env != nullptr && !absl::SimpleAtoi(env, &cycles)) cycles = 40000;
  return cycles;
}

// The process holding the share's fds: the sandbox supervisor forks the
// serving child (daemon/sandbox.cc); without a sandbox it is `pid` itself.
pid_t ServingPid(pid_t pid) {
  std::ifstream children(absl::StrCat("/proc/", pid, "/task/", pid, "/children"));
  pid_t child = 0;
  if (children >> child && child > 0) return child;
  return pid;
}

absl::StatusOr<size_t> CountFds(pid_t pid) {
  std::error_code error;
  std::filesystem::directory_iterator it(absl::StrCat("/proc/", pid, "/fd"), error);
  if (error) return absl::InternalError(absl::StrCat("/proc/", pid, "/fd: ", error.message()));
  size_t n = 0;
  for (; it != std::filesystem::directory_iterator(); it.increment(error)) ++n;
  return n;
}

class VfsdFdBoundTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::string> dir = MakeTempDir("fdbound");
    ASSERT_TRUE(dir.ok()) << dir.status();
    dir_ = *dir;
  }

  // vfsd with `flags` added to its command line (FUSE_INIT sent if `init`).
  void Start(const std::string& flags, bool init = true) {
    DaemonSpec spec{"vfsd", absl::StrCat(VfsdBinary(),
                                         " --socket-path={socket} --shared-dir={dir}"
                                         " --log-level=warn ",
                                         flags)};
    FakeVmmSessionOptions options;
    options.init = init;
    absl::StatusOr<std::unique_ptr<FakeVmmSession>> session =
        FakeVmmSession::Start(spec, dir_, options);
    ASSERT_TRUE(session.ok()) << session.status();
    session_ = *std::move(session);
    pid_ = ServingPid(session_->daemon->pid());
  }

  size_t Fds() {
    absl::StatusOr<size_t> n = CountFds(pid_);
    EXPECT_TRUE(n.ok()) << n.status();
    return n.ok() ? *n : 0;
  }

  struct Created {
    uint64_t node = 0;
    uint64_t fh = 0;
  };

  // CREATE of `name` in the root; the FUSE error as an ErrnoStatus.
  absl::StatusOr<Created> Create(const std::string& name) {
    fuse_create_in in{};
    in.flags = O_RDWR;
    in.mode = S_IFREG | 0644;
    std::vector<uint8_t> args(sizeof(in) + name.size() + 1, 0);
    std::memcpy(args.data(), &in, sizeof(in));
    std::memcpy(args.data() + sizeof(in), name.data(), name.size());
    absl::StatusOr<FuseReply> reply = session_->fuse->Call(
        FUSE_CREATE, FUSE_ROOT_ID, args, sizeof(fuse_entry_out) + sizeof(fuse_open_out));
    if (!reply.ok()) return reply.status();
    if (reply->error != 0) return ErrnoStatus(-reply->error, "create");
    if (reply->payload.size() != sizeof(fuse_entry_out) + sizeof(fuse_open_out)) {
      return absl::DataLossError("short CREATE reply");
    }
    fuse_entry_out entry;
    fuse_open_out open;
    std::memcpy(&entry, reply->payload.data(), sizeof(entry));
    std::memcpy(&open, reply->payload.data() + sizeof(entry), sizeof(open));
    return Created{entry.nodeid, open.fh};
  }

  absl::Status Unlink(const std::string& name) {
    std::vector<uint8_t> args(name.begin(), name.end());
    args.push_back(0);
    absl::StatusOr<FuseReply> reply = session_->fuse->Call(FUSE_UNLINK, FUSE_ROOT_ID, args, 0);
    if (!reply.ok()) return reply.status();
    if (reply->error != 0) return ErrnoStatus(-reply->error, "unlink");
    return absl::OkStatus();
  }

  // One CREATE/RELEASE/UNLINK/FORGET cycle.
  absl::Status Cycle() {
    absl::StatusOr<Created> c = Create("cycle");
    if (!c.ok()) return c.status();
    if (absl::Status s = session_->fuse->Release(c->node, c->fh); !s.ok()) return s;
    if (absl::Status s = Unlink("cycle"); !s.ok()) return s;
    return session_->fuse->Forget(c->node, 1);
  }

  void RunCycles(const std::string& flags) {
    Start(flags);
    ASSERT_NE(session_, nullptr);
    // Warm up (thread pools, lazily opened fds), then take the baseline.
    for (int i = 0; i < 100; ++i) ASSERT_TRUE(Cycle().ok());
    const size_t before = Fds();
    const int cycles = CyclesFromEnv();
    const absl::Time start = absl::Now();
    for (int i = 0; i < cycles; ++i) {
      absl::Status status = Cycle();
      ASSERT_TRUE(status.ok()) << "cycle " << i << ": " << status;
    }
    const size_t after = Fds();
    LOG(INFO) << cycles << " cycles in " << absl::Now() - start << "; fds " << before << " -> "
              << after;
    EXPECT_LE(after, before + 2) << "fds leaked over " << cycles << " cycles";
    EXPECT_TRUE(session_->fuse->GetAttr(FUSE_ROOT_ID).ok());
  }

  std::string dir_;
  std::unique_ptr<FakeVmmSession> session_;
  pid_t pid_ = 0;
};

TEST_F(VfsdFdBoundTest, CyclesWithForgetLeaveTheFdCountFlat) {
  RunCycles("--inode-file-handles=never");
}

TEST_F(VfsdFdBoundTest, CyclesWithForgetLeaveTheFdCountFlatWithFileHandles) {
  // --modcaps keeps CAP_DAC_READ_SEARCH whatever the daemon's default set.
  RunCycles("--inode-file-handles=prefer --modcaps=+dac_read_search");
}

TEST_F(VfsdFdBoundTest, NoForgetWithoutHandlesGivesEmfileAndRecovers) {
  Start("--inode-file-handles=never --rlimit-nofile=256");
  ASSERT_NE(session_, nullptr);
  std::vector<uint64_t> nodes;
  absl::Status failure;
  for (int i = 0; i < 1000; ++i) {
    absl::StatusOr<Created> c = Create(absl::StrCat("f", i));
    if (!c.ok()) {
      failure = c.status();
      break;
    }
    ASSERT_TRUE(session_->fuse->Release(c->node, c->fh).ok());
    nodes.push_back(c->node);
  }
  ASSERT_FALSE(failure.ok()) << "1000 nodes fit in 256 fds?";
  EXPECT_EQ(ErrnoOf(failure), EMFILE) << failure;
  EXPECT_LE(Fds(), 256u);
  // Still serving: a request needing no new fd works.
  EXPECT_TRUE(session_->fuse->GetAttr(FUSE_ROOT_ID).ok());
  for (uint64_t node : nodes) ASSERT_TRUE(session_->fuse->Forget(node, 1).ok());
  absl::StatusOr<Created> after = Create("after");
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_TRUE(session_->fuse->Release(after->node, after->fh).ok());
}

TEST_F(VfsdFdBoundTest, NoForgetWithHandlesStaysBoundedByTheCache) {
  Start("--inode-file-handles=prefer --modcaps=+dac_read_search --rlimit-nofile=256");
  ASSERT_NE(session_, nullptr);
  for (int i = 0; i < 2000; ++i) {
    absl::StatusOr<Created> c = Create(absl::StrCat("f", i));
    ASSERT_TRUE(c.ok()) << i << ": " << c.status();
    ASSERT_TRUE(session_->fuse->Release(c->node, c->fh).ok());
  }
  EXPECT_LE(Fds(), 256u);
}

TEST_F(VfsdFdBoundTest, PreferWithoutTheCapabilityFallsBackToFds) {
  // open_by_handle_at needs CAP_DAC_READ_SEARCH: without it (dropped after
  // the start-up probe) FUSE_INIT re-probes and `prefer` holds fds instead,
  // so a never-forgetting guest meets EMFILE again rather than ESTALE/EPERM.
  Start("--inode-file-handles=prefer --modcaps=-dac_read_search --rlimit-nofile=256");
  ASSERT_NE(session_, nullptr);
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(Cycle().ok());
  absl::Status failure;
  for (int i = 0; i < 1000 && failure.ok(); ++i) {
    absl::StatusOr<Created> c = Create(absl::StrCat("f", i));
    if (c.ok()) {
      ASSERT_TRUE(session_->fuse->Release(c->node, c->fh).ok());
    } else {
      failure = c.status();
    }
  }
  EXPECT_EQ(ErrnoOf(failure), EMFILE) << failure;
}

TEST_F(VfsdFdBoundTest, MandatoryWithoutTheCapabilityFailsInit) {
  Start("--inode-file-handles=mandatory --modcaps=-dac_read_search", /*init=*/false);
  ASSERT_NE(session_, nullptr);
  absl::StatusOr<fuse_init_out> init = session_->fuse->Init();
  EXPECT_EQ(ErrnoOf(init.status()), EPERM) << init.status();
}

}  // namespace
}  // namespace vfsd
