// VhostUserDevice driven message by message (no socket): ring start rules
// (with and without VHOST_USER_F_PROTOCOL_FEATURES), enable/disable,
// GET_VRING_BASE, RESET_OWNER and REM/ADD_MEM_REG bookkeeping.
#include "transport/vhost_user_device.h"

#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>

#include "gtest/gtest.h"
#include "transport/vhost_user_protocol.h"

namespace vfsd {
namespace {

namespace vu = vhost_user;
using vu::Request;

constexpr uint64_t kGpa = 0x40000000;
constexpr uint64_t kUva = 0x7f1200000000;
constexpr uint64_t kSize = 1 << 20;

class NullHandler : public RequestHandler {
 public:
  void HandleRequest(QueueRequest request) override { request.Complete(0); }
};

template <typename T>
VhostUserMessage Message(Request request, const T& payload, std::vector<int> fds = {}) {
  VhostUserMessage message;
  message.header = {static_cast<uint32_t>(request), vu::kVersion, sizeof(T)};
  message.payload.resize(sizeof(T));
  std::memcpy(message.payload.data(), &payload, sizeof(T));
  for (int fd : fds) message.fds.emplace_back(dup(fd));
  return message;
}

VhostUserMessage Empty(Request request) {
  VhostUserMessage message;
  message.header = {static_cast<uint32_t>(request), vu::kVersion, 0};
  return message;
}

class VhostUserDeviceTest : public ::testing::Test {
 protected:
  VhostUserDeviceTest() : device_(VhostUserDeviceOptions{}, &handler_) {
    memfd_ = memfd_create("device_test", MFD_CLOEXEC);
    EXPECT_EQ(ftruncate(memfd_, kSize), 0);
    eventfd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  }
  ~VhostUserDeviceTest() override {
    device_.Shutdown();
    close(memfd_);
    close(eventfd_);
  }

  absl::Status Send(VhostUserMessage message) {
    VhostUserDevice::Outcome outcome = device_.Handle(message);
    EXPECT_FALSE(outcome.fatal) << outcome.status;
    last_reply_ = outcome.reply;
    return outcome.status;
  }

  void SetUpMemoryAndRing(uint64_t features) {
    ASSERT_TRUE(Send(Message(Request::kSetFeatures, features)).ok());
    ASSERT_TRUE(Send(Message(Request::kAddMemReg,
                             vu::SingleMemoryRegion{0, {kGpa, kSize, kUva, 0}}, {memfd_}))
                    .ok());
    ASSERT_TRUE(Send(Message(Request::kSetVringNum, vu::VringState{1, 64})).ok());
    ASSERT_TRUE(Send(Message(Request::kSetVringBase, vu::VringState{1, 0})).ok());
    // desc at +0, avail at +0x1000, used at +0x2000 (front-end addresses).
    const vu::VringAddr addr{1, 0, kUva, kUva + 0x2000, kUva + 0x1000, 0};
    ASSERT_TRUE(Send(Message(Request::kSetVringAddr, addr)).ok());
  }
  absl::Status Kick() {
    return Send(Message(Request::kSetVringKick, uint64_t{1}, {eventfd_}));
  }

  NullHandler handler_;
  VhostUserDevice device_;
  int memfd_ = -1;
  int eventfd_ = -1;
  std::vector<uint8_t> last_reply_;
};

constexpr uint64_t kVersion1 = 1ull << vu::kVirtioFVersion1;
constexpr uint64_t kProtocol = 1ull << vu::kVhostUserFProtocolFeatures;

TEST_F(VhostUserDeviceTest, WithoutProtocolFeaturesRingStartsOnKick) {
  SetUpMemoryAndRing(kVersion1);
  EXPECT_FALSE(device_.ring_running(1));
  ASSERT_TRUE(Kick().ok());
  EXPECT_TRUE(device_.ring_running(1));
}

TEST_F(VhostUserDeviceTest, WithProtocolFeaturesRingWaitsForEnable) {
  SetUpMemoryAndRing(kVersion1 | kProtocol);
  ASSERT_TRUE(Kick().ok());
  EXPECT_FALSE(device_.ring_running(1));
  ASSERT_TRUE(Send(Message(Request::kSetVringEnable, vu::VringState{1, 1})).ok());
  EXPECT_TRUE(device_.ring_running(1));
  ASSERT_TRUE(Send(Message(Request::kSetVringEnable, vu::VringState{1, 0})).ok());
  EXPECT_FALSE(device_.ring_running(1));
  ASSERT_TRUE(Send(Message(Request::kSetVringEnable, vu::VringState{1, 1})).ok());
  EXPECT_TRUE(device_.ring_running(1));
}

TEST_F(VhostUserDeviceTest, GetVringBaseStopsRingAndReportsIndex) {
  SetUpMemoryAndRing(kVersion1);
  ASSERT_TRUE(Send(Message(Request::kSetVringBase, vu::VringState{1, 42})).ok());
  ASSERT_TRUE(Kick().ok());
  ASSERT_TRUE(device_.ring_running(1));
  ASSERT_TRUE(Send(Message(Request::kGetVringBase, vu::VringState{1, 0})).ok());
  EXPECT_FALSE(device_.ring_running(1));
  vu::VringState state;
  ASSERT_EQ(last_reply_.size(), sizeof(state));
  std::memcpy(&state, last_reply_.data(), sizeof(state));
  EXPECT_EQ(state.index, 1u);
  // The guest's avail idx is 0 in fresh memory, 42 ahead of it would be a
  // jump; nothing was popped, so the base is what we were given.
  EXPECT_EQ(state.num, 42u);
  // A new kick restarts it.
  ASSERT_TRUE(Kick().ok());
  EXPECT_TRUE(device_.ring_running(1));
}

TEST_F(VhostUserDeviceTest, RingOutsideMemoryDoesNotStart) {
  ASSERT_TRUE(Send(Message(Request::kSetFeatures, kVersion1)).ok());
  ASSERT_TRUE(Send(Message(Request::kSetVringNum, vu::VringState{1, 64})).ok());
  const vu::VringAddr addr{1, 0, kUva, kUva + 0x2000, kUva + 0x1000, 0};
  ASSERT_TRUE(Send(Message(Request::kSetVringAddr, addr)).ok());
  EXPECT_FALSE(Kick().ok());  // no memory yet
  EXPECT_FALSE(device_.ring_running(1));
}

TEST_F(VhostUserDeviceTest, ResetOwnerStopsEverything) {
  SetUpMemoryAndRing(kVersion1);
  ASSERT_TRUE(Send(Empty(Request::kSetOwner)).ok());
  EXPECT_TRUE(device_.has_owner());
  ASSERT_TRUE(Kick().ok());
  ASSERT_TRUE(Send(Empty(Request::kResetOwner)).ok());
  EXPECT_FALSE(device_.ring_running(1));
  EXPECT_FALSE(device_.has_owner());
  EXPECT_EQ(device_.acked_features(), 0u);
  EXPECT_TRUE(device_.memory()->regions().empty());
}

TEST_F(VhostUserDeviceTest, MemoryRegionsAddAndRemove) {
  const vu::MemoryRegion second{kGpa + kSize, kSize, kUva + kSize, 0};
  ASSERT_TRUE(Send(Message(Request::kAddMemReg,
                           vu::SingleMemoryRegion{0, {kGpa, kSize, kUva, 0}}, {memfd_}))
                  .ok());
  ASSERT_TRUE(Send(Message(Request::kAddMemReg, vu::SingleMemoryRegion{0, second}, {memfd_}))
                  .ok());
  EXPECT_EQ(device_.memory()->regions().size(), 2u);
  // REM_MEM_REG with the fd QEMU sometimes attaches.
  ASSERT_TRUE(
      Send(Message(Request::kRemMemReg, vu::SingleMemoryRegion{0, second}, {memfd_})).ok());
  EXPECT_EQ(device_.memory()->regions().size(), 1u);
  EXPECT_FALSE(Send(Message(Request::kRemMemReg, vu::SingleMemoryRegion{0, second})).ok());
}

TEST_F(VhostUserDeviceTest, GetRequestsWithBadPayloadAreFatal) {
  VhostUserMessage message = Message(Request::kGetFeatures, uint64_t{0});
  EXPECT_TRUE(device_.Handle(message).fatal);
  VhostUserMessage base = Message(Request::kGetVringBase, vu::VringState{5, 0});
  EXPECT_TRUE(device_.Handle(base).fatal);
  VhostUserMessage ok = Empty(Request::kGetQueueNum);
  VhostUserDevice::Outcome outcome = device_.Handle(ok);
  ASSERT_TRUE(outcome.status.ok());
  uint64_t queues;
  ASSERT_EQ(outcome.reply.size(), sizeof(queues));
  std::memcpy(&queues, outcome.reply.data(), sizeof(queues));
  EXPECT_EQ(queues, 2u);
}

}  // namespace
}  // namespace vfsd
