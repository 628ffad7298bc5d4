// FakeVmm against real daemons (the reference virtiofsd, plus any listed in
// $VFSD_TEST_DAEMONS): the QEMU 7.2 handshake in each memory mode and
// layout, FUSE_INIT, stop/GET_VRING_BASE, and disconnect.
#include "testing/fake_vmm.h"

#include <linux/fuse.h>
#include <sys/wait.h>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/fake_vmm_session.h"

namespace vfsd {
namespace {

namespace vu = vhost_user;
using ::testing::ElementsAre;
using ::testing::ElementsAreArray;

class FakeVmmTest : public ::testing::TestWithParam<DaemonSpec> {
 protected:
  void SetUp() override {
    absl::StatusOr<std::string> dir = MakeTempDir("share");
    ASSERT_TRUE(dir.ok()) << dir.status();
    shared_dir_ = *dir;
  }

  std::unique_ptr<FakeVmmSession> StartOrDie(const FakeVmmSessionOptions& options = {}) {
    absl::StatusOr<std::unique_ptr<FakeVmmSession>> session =
        FakeVmmSession::Start(GetParam(), shared_dir_, options);
    EXPECT_TRUE(session.ok()) << session.status();
    return session.ok() ? std::move(*session) : nullptr;
  }

  std::string shared_dir_;
};

// The init part of the replay is fixed; check it message by message for a
// daemon that offers what virtiofsd offers (MQ, REPLY_ACK, CONFIGURE_MEM_SLOTS).
TEST_P(FakeVmmTest, ReplaysQemuSequenceInOrder) {
  auto session = StartOrDie();
  ASSERT_NE(session, nullptr);
  const FakeVmm& vmm = *session->vmm;
  std::vector<vu::Request> want = {vu::Request::kGetFeatures};
  if (vmm.backend_features() & (1ull << vu::kVhostUserFProtocolFeatures)) {
    want.push_back(vu::Request::kGetProtocolFeatures);
    want.push_back(vu::Request::kSetProtocolFeatures);
  }
  if (vmm.has_protocol_feature(vu::kProtocolMq)) want.push_back(vu::Request::kGetQueueNum);
  if (vmm.has_protocol_feature(vu::kProtocolConfigureMemSlots)) {
    want.push_back(vu::Request::kGetMaxMemSlots);
  }
  if (vmm.has_protocol_feature(vu::kProtocolBackendReq)) {
    want.push_back(vu::Request::kSetBackendReqFd);
  }
  want.push_back(vu::Request::kSetOwner);
  want.push_back(vu::Request::kGetFeatures);
  want.push_back(vu::Request::kSetVringCall);
  want.push_back(vu::Request::kSetVringCall);
  want.push_back(vu::Request::kSetFeatures);
  for (size_t i = 0; i < vmm.memory().regions().size(); ++i) {
    want.push_back(vmm.has_protocol_feature(vu::kProtocolConfigureMemSlots)
                       ? vu::Request::kAddMemReg
                       : vu::Request::kSetMemTable);
    if (!vmm.has_protocol_feature(vu::kProtocolConfigureMemSlots)) break;
  }
  for (int q = 0; q < 2; ++q) {
    want.insert(want.end(), {vu::Request::kSetVringNum, vu::Request::kSetVringBase,
                             vu::Request::kSetVringAddr, vu::Request::kSetVringKick});
  }
  if (vmm.acked_features() & (1ull << vu::kVhostUserFProtocolFeatures)) {
    want.insert(want.end(), {vu::Request::kSetVringEnable, vu::Request::kSetVringEnable});
  }
  if (vmm.has_protocol_feature(vu::kProtocolStatus)) {
    want.insert(want.end(), {vu::Request::kGetStatus, vu::Request::kSetStatus});
  }
  want.insert(want.end(), {vu::Request::kSetVringCall, vu::Request::kSetVringCall});
  EXPECT_THAT(vmm.sent(), ElementsAreArray(want));
  EXPECT_TRUE(vmm.acked_features() & (1ull << vu::kVirtioFVersion1));
  EXPECT_EQ(vmm.acked_protocol_features() & (1ull << vu::kProtocolConfig), 0u);
}

TEST_P(FakeVmmTest, InitNegotiatesFuse7) {
  auto session = StartOrDie();
  ASSERT_NE(session, nullptr);
  EXPECT_EQ(session->init_out.major, FUSE_KERNEL_VERSION);
  EXPECT_GE(session->init_out.minor, 27u);  // virtio-fs needs ≥ 7.27 (FUSE_SUBMOUNTS era)
  EXPECT_LE(session->init_out.minor, static_cast<uint32_t>(FUSE_KERNEL_MINOR_VERSION));
  EXPECT_GE(session->init_out.max_write, 4096u);
}

struct MemoryCase {
  const char* name;
  MemoryTableMode mode;
  std::vector<uint64_t> regions;
  bool single_memfd;
};

TEST_P(FakeVmmTest, ServesRequestsInEveryMemoryLayout) {
  const MemoryCase cases[] = {
      {"set_mem_table_one_region", MemoryTableMode::kSetMemTable, {32ull << 20}, false},
      {"set_mem_table_three_regions", MemoryTableMode::kSetMemTable,
       {8ull << 20, 8ull << 20, 16ull << 20}, false},
      {"set_mem_table_one_memfd_offsets", MemoryTableMode::kSetMemTable,
       {8ull << 20, 8ull << 20, 16ull << 20}, true},
      {"add_mem_reg_three_regions", MemoryTableMode::kAuto,
       {8ull << 20, 8ull << 20, 16ull << 20}, false},
  };
  for (const MemoryCase& c : cases) {
    SCOPED_TRACE(c.name);
    FakeVmmSessionOptions options;
    options.vmm.memory_mode = c.mode;
    options.vmm.memory.region_sizes = c.regions;
    options.vmm.memory.single_memfd = c.single_memfd;
    options.client.max_in_flight = 4;
    auto session = StartOrDie(options);
    ASSERT_NE(session, nullptr);
    if (c.mode == MemoryTableMode::kSetMemTable) {
      EXPECT_FALSE(session->vmm->has_protocol_feature(vu::kProtocolConfigureMemSlots));
    }
    absl::StatusOr<fuse_attr_out> attr = session->fuse->GetAttr(FUSE_ROOT_ID);
    ASSERT_TRUE(attr.ok()) << attr.status();
    EXPECT_TRUE(S_ISDIR(attr->attr.mode));
  }
}

// Without EVENT_IDX / INDIRECT the daemon must fall back to the flags-based
// notification scheme; with two request queues both must be served.
TEST_P(FakeVmmTest, ServesRequestsWithoutOptionalRingFeaturesAndOnTwoQueues) {
  FakeVmmSessionOptions options;
  options.vmm.event_idx = false;
  options.vmm.indirect_desc = false;
  options.vmm.reply_ack = false;
  options.vmm.num_request_queues = 2;
  absl::StatusOr<std::unique_ptr<FakeVmmSession>> session =
      FakeVmmSession::Start(GetParam(), shared_dir_, options);
  if (!session.ok() && session.status().code() == absl::StatusCode::kFailedPrecondition) {
    // The daemon offers fewer queues: retry with one request queue.
    options.vmm.num_request_queues = 1;
    session = FakeVmmSession::Start(GetParam(), shared_dir_, options);
  }
  ASSERT_TRUE(session.ok()) << session.status();
  FakeVmm& vmm = *(*session)->vmm;
  EXPECT_FALSE(vmm.acked_features() & (1ull << vu::kVirtioFRingEventIdx));
  EXPECT_FALSE(vmm.acked_features() & (1ull << vu::kVirtioFRingIndirectDesc));
  for (int i = 0; i < 20; ++i) ASSERT_TRUE((*session)->fuse->GetAttr(FUSE_ROOT_ID).ok());
  if (vmm.num_queues() == 3) {
    absl::StatusOr<std::unique_ptr<FuseClient>> second =
        FuseClient::Create(&vmm.memory(), &vmm.request_queue(1), nullptr);
    ASSERT_TRUE(second.ok());
    absl::StatusOr<fuse_attr_out> attr = (*second)->GetAttr(FUSE_ROOT_ID);
    ASSERT_TRUE(attr.ok()) << attr.status();
    EXPECT_TRUE(S_ISDIR(attr->attr.mode));
  }
}

// Rings that start just below 65536 (as after migration) make the daemon's
// 16-bit avail/used indices wrap, with and without EVENT_IDX.
TEST_P(FakeVmmTest, RingIndicesWrapAround) {
  for (bool event_idx : {true, false}) {
    SCOPED_TRACE(event_idx ? "event_idx" : "flags");
    FakeVmmSessionOptions options;
    options.vmm.initial_ring_index = 65530;
    options.vmm.event_idx = event_idx;
    auto session = StartOrDie(options);
    ASSERT_NE(session, nullptr);
    for (int i = 0; i < 20; ++i) {
      absl::StatusOr<fuse_attr_out> attr = session->fuse->GetAttr(FUSE_ROOT_ID);
      ASSERT_TRUE(attr.ok()) << "request " << i << ": " << attr.status();
    }
    EXPECT_EQ(session->vmm->request_queue().avail_idx(), 15);  // 65530 + INIT + 20
    absl::StatusOr<std::vector<uint32_t>> bases = session->vmm->Stop();
    ASSERT_TRUE(bases.ok()) << bases.status();
    EXPECT_EQ((*bases)[1], 15u);
  }
}

TEST_P(FakeVmmTest, StopReportsAvailIndexAsVringBase) {
  auto session = StartOrDie();
  ASSERT_NE(session, nullptr);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(session->fuse->GetAttr(FUSE_ROOT_ID).ok());
  const uint32_t expected = session->vmm->request_queue().avail_idx();  // INIT + 5
  absl::StatusOr<std::vector<uint32_t>> bases = session->vmm->Stop();
  ASSERT_TRUE(bases.ok()) << bases.status();
  EXPECT_THAT(*bases, ElementsAre(0u, expected));
  EXPECT_EQ(expected, 6u);
}

// Stop, then start again on fresh rings (avail/used indices back to 0): the
// daemon must serve the new queues. The FUSE session lives on in the
// daemon, so no second INIT is sent.
TEST_P(FakeVmmTest, RestartsOnFreshRingsAfterStop) {
  auto session = StartOrDie();
  ASSERT_NE(session, nullptr);
  ASSERT_TRUE(session->fuse->GetAttr(FUSE_ROOT_ID).ok());
  FakeVmm& vmm = *session->vmm;
  ASSERT_TRUE(vmm.Stop().ok());
  const size_t sent_before = vmm.sent().size();
  absl::Status restarted = vmm.Restart();
  ASSERT_TRUE(restarted.ok()) << restarted;
  // No memory is re-added in ADD_MEM_REG mode.
  for (size_t i = sent_before; i < vmm.sent().size(); ++i) {
    EXPECT_NE(vmm.sent()[i], vu::Request::kAddMemReg);
  }
  absl::StatusOr<std::unique_ptr<FuseClient>> fuse =
      FuseClient::Create(&vmm.memory(), &vmm.request_queue(0), &vmm.hiprio_queue());
  ASSERT_TRUE(fuse.ok());
  absl::StatusOr<fuse_attr_out> attr = (*fuse)->GetAttr(FUSE_ROOT_ID);
  ASSERT_TRUE(attr.ok()) << attr.status();
  EXPECT_TRUE(S_ISDIR(attr->attr.mode));
}

TEST_P(FakeVmmTest, DaemonSurvivesOrExitsCleanlyOnDisconnect) {
  auto session = StartOrDie();
  ASSERT_NE(session, nullptr);
  session->vmm->Disconnect();
  // virtiofsd exits after its one connection; a multi-connection daemon
  // keeps running. Either way it must not crash.
  absl::StatusOr<int> exit = session->daemon->WaitForExit(absl::Seconds(5));
  if (exit.ok()) {
    EXPECT_FALSE(WIFSIGNALED(*exit)) << "daemon died with signal " << WTERMSIG(*exit);
  }
}

TEST_P(FakeVmmTest, RawMessagesReachTheDaemon) {
  absl::StatusOr<std::string> socket = MakeSocketPath();
  ASSERT_TRUE(socket.ok());
  absl::StatusOr<std::vector<std::string>> argv =
      ExpandDaemonCommand(GetParam().command, {{"socket", *socket}, {"dir", shared_dir_}});
  ASSERT_TRUE(argv.ok());
  absl::StatusOr<std::unique_ptr<DaemonProcess>> daemon = DaemonProcess::Spawn(*argv, *socket);
  ASSERT_TRUE(daemon.ok()) << daemon.status();
  FakeVmmOptions options;
  options.socket_path = *socket;
  absl::StatusOr<std::unique_ptr<FakeVmm>> vmm = FakeVmm::Connect(options);
  ASSERT_TRUE(vmm.ok()) << vmm.status();
  // A hand-built GET_FEATURES is answered like the real one.
  const vu::MessageHeader header{static_cast<uint32_t>(vu::Request::kGetFeatures),
                                 vu::kVersion, 0};
  ASSERT_TRUE((*vmm)->channel().SendRaw(AsBytes(header)).ok());
  absl::StatusOr<VhostUserReply> reply =
      (*vmm)->channel().ReceiveReplyTo(vu::Request::kGetFeatures, absl::Seconds(5));
  ASSERT_TRUE(reply.ok()) << reply.status();
  ASSERT_EQ(reply->payload.size(), 8u);
  uint64_t features;
  std::memcpy(&features, reply->payload.data(), 8);
  EXPECT_TRUE(features & (1ull << vu::kVirtioFVersion1));
  (*daemon)->Kill();
  RemoveSocketPath(*socket);
}

INSTANTIATE_TEST_SUITE_P(Daemons, FakeVmmTest, ::testing::ValuesIn(DaemonsUnderTest()),
                         [](const ::testing::TestParamInfo<DaemonSpec>& info) {
                           return info.param.name;
                         });
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(FakeVmmTest);

}  // namespace
}  // namespace vfsd
