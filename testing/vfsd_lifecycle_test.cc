// vfsd's single-share lifecycle, as virtiofsd's: it exits 0 when the VMM
// disconnects (after serving, mid-handshake, or with requests in flight,
// even a SETLKW waiting for a lock), its socket path is free for the next
// daemon right away, and stopping a ring answers a waiting SETLKW with EINTR.
#include <fcntl.h>
#include <linux/fuse.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "testing/fake_vmm_session.h"

namespace vfsd {
namespace {

DaemonSpec VfsdSpec() {
  const char* runfiles = std::getenv("TEST_SRCDIR");
  std::string binary = absl::StrCat(runfiles ? runfiles : ".", "/vfsd/daemon/vfsd");
  return DaemonSpec{"vfsd", absl::StrCat(binary,
                                         " --socket-path={socket} --shared-dir={dir}"
                                         " --log-level=warn")};
}

class VfsdLifecycleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::string> dir = MakeTempDir("share");
    ASSERT_TRUE(dir.ok()) << dir.status();
    dir_ = *dir;
  }

  std::unique_ptr<FakeVmmSession> Start(bool init = true) {
    FakeVmmSessionOptions options;
    options.init = init;
    absl::StatusOr<std::unique_ptr<FakeVmmSession>> session =
        FakeVmmSession::Start(VfsdSpec(), dir_, options);
    EXPECT_TRUE(session.ok()) << session.status();
    return session.ok() ? std::move(*session) : nullptr;
  }

  static void ExpectExitZero(FakeVmmSession& session) {
    absl::StatusOr<int> status = session.daemon->WaitForExit(absl::Seconds(10));
    ASSERT_TRUE(status.ok()) << "vfsd did not exit after the VMM disconnected";
    ASSERT_TRUE(WIFEXITED(*status)) << "vfsd died with signal " << WTERMSIG(*status);
    EXPECT_EQ(WEXITSTATUS(*status), 0);
  }

  std::string dir_;
};

TEST_F(VfsdLifecycleTest, ExitsZeroWhenTheVmmDisconnectsAfterServing) {
  auto session = Start();
  ASSERT_NE(session, nullptr);
  ASSERT_TRUE(session->fuse->GetAttr(FUSE_ROOT_ID).ok());
  session->vmm->Disconnect();
  ExpectExitZero(*session);
  struct stat st;
  EXPECT_NE(lstat(session->socket_path.c_str(), &st), 0) << "socket left behind";
}

TEST_F(VfsdLifecycleTest, ExitsZeroWhenTheVmmDisconnectsBeforeInit) {
  auto session = Start(/*init=*/false);
  ASSERT_NE(session, nullptr);
  session->vmm->Disconnect();
  ExpectExitZero(*session);
}

TEST_F(VfsdLifecycleTest, ExitsZeroWithRequestsInFlight) {
  auto session = Start();
  ASSERT_NE(session, nullptr);
  for (int i = 0; i < 8; ++i) {
    ASSERT_TRUE(session->fuse->Submit(FUSE_GETATTR, FUSE_ROOT_ID, {}, 4096).ok());
  }
  session->fuse->Kick();
  session->vmm->Disconnect();
  ExpectExitZero(*session);
}

// Opens "f" twice, write-locks it through the first handle as lock owner 1
// and submits a SETLKW for owner 2 through the second, which must wait.
// Returns once the daemon has taken the SETLKW off the ring (a GETATTR
// submitted after it has completed).
void StartWaitingSetlkw(FakeVmmSession& session, uint64_t* setlkw_unique) {
  FuseClient& fuse = *session.fuse;
  absl::StatusOr<fuse_entry_out> f = fuse.Lookup(FUSE_ROOT_ID, "f");
  ASSERT_TRUE(f.ok()) << f.status();
  absl::StatusOr<fuse_open_out> h1 = fuse.Open(f->nodeid, O_RDWR);
  absl::StatusOr<fuse_open_out> h2 = fuse.Open(f->nodeid, O_RDWR);
  ASSERT_TRUE(h1.ok() && h2.ok());
  fuse_lk_in lk = {};
  lk.fh = h1->fh;
  lk.owner = 1;
  lk.lk.start = 0;
  lk.lk.end = UINT64_MAX;
  lk.lk.type = F_WRLCK;
  absl::StatusOr<FuseReply> held = fuse.Call(
      FUSE_SETLK, f->nodeid, absl::MakeConstSpan(reinterpret_cast<const uint8_t*>(&lk), sizeof lk),
      0);
  ASSERT_TRUE(held.ok()) << held.status();
  ASSERT_EQ(held->error, 0);
  lk.fh = h2->fh;
  lk.owner = 2;
  absl::StatusOr<uint64_t> unique = fuse.Submit(
      FUSE_SETLKW, f->nodeid, {absl::MakeConstSpan(reinterpret_cast<const uint8_t*>(&lk), sizeof lk)},
      0);
  ASSERT_TRUE(unique.ok()) << unique.status();
  *setlkw_unique = *unique;
  ASSERT_TRUE(fuse.Submit(FUSE_GETATTR, FUSE_ROOT_ID, {}, 4096).ok());
  ASSERT_TRUE(fuse.Kick().ok());
  absl::StatusOr<FuseCompletion> first = fuse.WaitCompletion();
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_EQ(first->opcode, FUSE_GETATTR) << "the SETLKW did not wait for the held lock";
}

TEST_F(VfsdLifecycleTest, StoppingTheRingAnswersAWaitingSetlkwWithEintr) {
  std::ofstream(dir_ + "/f") << "data";
  auto session = Start();
  ASSERT_NE(session, nullptr);
  uint64_t setlkw = 0;
  StartWaitingSetlkw(*session, &setlkw);
  // GET_VRING_BASE of the request queue must return although a request on it
  // waits for a lock only the guest could release.
  absl::StatusOr<uint32_t> base = session->vmm->GetVringBase(1);
  ASSERT_TRUE(base.ok()) << base.status();
  absl::StatusOr<FuseCompletion> done = session->fuse->WaitCompletion();
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_EQ(done->unique, setlkw);
  EXPECT_EQ(done->error, -EINTR);
  session->vmm->Disconnect();
  ExpectExitZero(*session);
}

TEST_F(VfsdLifecycleTest, ExitsZeroWhenTheVmmDisconnectsDuringAWaitingSetlkw) {
  std::ofstream(dir_ + "/f") << "data";
  auto session = Start();
  ASSERT_NE(session, nullptr);
  uint64_t setlkw = 0;
  StartWaitingSetlkw(*session, &setlkw);
  session->vmm->Disconnect();
  ExpectExitZero(*session);
}

TEST_F(VfsdLifecycleTest, SocketPathIsReusableRightAfterwards) {
  absl::StatusOr<std::string> socket = MakeSocketPath();
  ASSERT_TRUE(socket.ok()) << socket.status();
  absl::StatusOr<std::vector<std::string>> argv =
      ExpandDaemonCommand(VfsdSpec().command, {{"socket", *socket}, {"dir", dir_}});
  ASSERT_TRUE(argv.ok()) << argv.status();
  for (int round = 0; round < 2; ++round) {
    SCOPED_TRACE(absl::StrCat("daemon #", round + 1, " on the same path"));
    absl::StatusOr<std::unique_ptr<DaemonProcess>> daemon = DaemonProcess::Spawn(*argv, *socket);
    ASSERT_TRUE(daemon.ok()) << daemon.status();
    FakeVmmOptions options;
    options.socket_path = *socket;
    absl::StatusOr<std::unique_ptr<FakeVmm>> vmm = FakeVmm::Start(options);
    ASSERT_TRUE(vmm.ok()) << vmm.status();
    (*vmm)->Disconnect();
    absl::StatusOr<int> status = (*daemon)->WaitForExit(absl::Seconds(10));
    ASSERT_TRUE(status.ok()) << "vfsd did not exit";
    EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0);
  }
  RemoveSocketPath(*socket);
}

}  // namespace
}  // namespace vfsd
