// Drives ServeVhostUserConnection with the fake VMM (testing/fake_vmm.h),
// which replays QEMU 7.2's and Cloud Hypervisor's message sequences over a
// real unix socket, with memfd guest memory and real virtqueues.
#include "transport/vhost_user_server.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"
#include "testing/fake_vmm.h"
#include "transport/vhost_user_listener.h"
#include "transport/vhost_user_protocol.h"

namespace vfsd {
namespace {

namespace vu = vhost_user;
using vu::Request;

constexpr absl::Duration kTimeout = absl::Seconds(10);

int CountOpenFds() {
  int count = 0;
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return -1;
  while (dirent* entry = readdir(dir)) {
    if (entry->d_name[0] != '.') ++count;
  }
  closedir(dir);
  return count;
}

std::string NewSocketPath() {
  const char* tmp = getenv("TEST_TMPDIR");
  std::string root = tmp != nullptr && std::strlen(tmp) < 60 ? tmp : "/tmp";
  std::string dir = root + "/vu-XXXXXX";
  EXPECT_NE(mkdtemp(dir.data()), nullptr);
  return dir + "/s.sock";
}

// Copies every readable byte into the writable buffers (as far as they go)
// and completes with the count — from the worker, or from a fresh thread.
class EchoHandler : public RequestHandler {
 public:
  explicit EchoHandler(bool async) : async_(async) {}
  ~EchoHandler() override {
    for (auto& t : threads_) t.join();
  }
  void HandleRequest(QueueRequest request) override {
    ++handled_;
    if (!async_) return Echo(std::move(request));
    std::lock_guard<std::mutex> lock(mu_);
    threads_.emplace_back([this, r = std::move(request)]() mutable { Echo(std::move(r)); });
  }
  int handled() const { return handled_.load(); }

 private:
  static void Echo(QueueRequest request) {
    std::vector<uint8_t> in;
    for (const iovec& v : request.readable()) {
      in.insert(in.end(), static_cast<uint8_t*>(v.iov_base),
                static_cast<uint8_t*>(v.iov_base) + v.iov_len);
    }
    size_t done = 0;
    for (const iovec& v : request.writable()) {
      size_t n = std::min(v.iov_len, in.size() - done);
      std::memcpy(v.iov_base, in.data() + done, n);
      done += n;
    }
    request.Complete(static_cast<uint32_t>(done));
  }

  const bool async_;
  std::atomic<int> handled_{0};
  std::mutex mu_;
  std::vector<std::thread> threads_;
};

// Listener + server thread + fake VMM.
class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override { fds_before_ = CountOpenFds(); }

  void StartServer(VhostUserDeviceOptions options = {}, bool async = false) {
    handler_ = std::make_unique<EchoHandler>(async);
    socket_path_ = NewSocketPath();
    auto listener = VhostUserListener::Bind(socket_path_);
    ASSERT_TRUE(listener.ok()) << listener.status();
    listener_.emplace(std::move(*listener));
    server_ = std::thread([this, options] {
      absl::StatusOr<int> conn = listener_->Accept();
      if (!conn.ok()) {
        served_ = conn.status();
      } else {
        served_ = ServeVhostUserConnection(*conn, options, *handler_);
        close(*conn);
      }
      done_.Notify();
    });
  }

  // Connects a fake VMM with `options` (socket path filled in), optionally
  // running the whole handshake.
  std::unique_ptr<FakeVmm> Connect(FakeVmmOptions options, bool handshake = true) {
    options.socket_path = socket_path_;
    options.backend_req = false;
    auto vmm = handshake ? FakeVmm::Start(options) : FakeVmm::Connect(options);
    EXPECT_TRUE(vmm.ok()) << vmm.status();
    return vmm.ok() ? std::move(*vmm) : nullptr;
  }

  // Disconnects and returns what ServeVhostUserConnection returned.
  absl::Status Finish(std::unique_ptr<FakeVmm>& vmm) {
    if (vmm != nullptr) vmm->Disconnect();
    server_.join();
    vmm.reset();
    listener_.reset();
    unlink(socket_path_.c_str());
    return served_;
  }

  void TearDown() override {
    if (server_.joinable()) {
      // Unblock accept() if no VMM ever connected.
      shutdown(listener_->fd(), SHUT_RDWR);
      server_.join();
    }
    listener_.reset();
    handler_.reset();
    // Every fd the VMM sent (memfds, eventfds) and every one we opened is
    // closed again: no leak on any path the test took.
    EXPECT_EQ(CountOpenFds(), fds_before_);
  }

  // Sends an echo request on `queue` and checks the reply.
  void RoundTrip(FakeVmm& vmm, VirtqueueDriver& queue, const std::string& text,
                 bool indirect = false) {
    FakeGuestMemory& memory = vmm.memory();
    auto in = memory.Allocate(text.size());
    auto out = memory.Allocate(text.size());
    ASSERT_TRUE(in.ok() && out.ok());
    std::memcpy(memory.Translate(*in, text.size()), text.data(), text.size());
    const VirtqueueBuffer readable[] = {{*in, static_cast<uint32_t>(text.size())}};
    const VirtqueueBuffer writable[] = {{*out, static_cast<uint32_t>(text.size())}};
    auto head = queue.AddChain(readable, writable, indirect);
    ASSERT_TRUE(head.ok()) << head.status();
    ASSERT_TRUE(queue.Kick().ok());
    auto used = queue.WaitUsed(kTimeout);
    ASSERT_TRUE(used.ok()) << used.status();
    EXPECT_EQ(used->id, *head);
    EXPECT_EQ(used->len, text.size());
    EXPECT_EQ(std::string(reinterpret_cast<char*>(memory.Translate(*out, text.size())),
                          text.size()),
              text);
  }

  // Sends a message with NEED_REPLY and returns the REPLY_ACK value.
  uint64_t SendForAck(FakeVmm& vmm, Request request, absl::Span<const uint8_t> payload,
                      absl::Span<const int> fds = {}) {
    EXPECT_TRUE(vmm.channel().Send(request, vu::kFlagNeedReply, payload, fds).ok());
    auto reply = vmm.channel().ReceiveReplyTo(request, kTimeout);
    EXPECT_TRUE(reply.ok()) << reply.status();
    uint64_t ack = ~0ull;
    if (reply.ok() && reply->payload.size() == sizeof(ack)) {
      std::memcpy(&ack, reply->payload.data(), sizeof(ack));
    }
    return ack;
  }

  int fds_before_ = 0;
  std::string socket_path_;
  std::unique_ptr<EchoHandler> handler_;
  std::optional<VhostUserListener> listener_;
  std::thread server_;
  absl::Status served_;
  absl::Notification done_;
};

TEST_F(ServerTest, Qemu72HandshakeRequestsAndStop) {
  VhostUserDeviceOptions options;
  options.num_request_queues = 2;
  StartServer(options);
  FakeVmmOptions vmm_options;
  vmm_options.num_request_queues = 2;
  vmm_options.memory.region_sizes = {8 << 20, 8 << 20, 4 << 20};
  vmm_options.memory_mode = MemoryTableMode::kAddMemReg;
  auto vmm = Connect(vmm_options);
  ASSERT_NE(vmm, nullptr);

  // What the back-end offered and the VMM acked, QEMU-style.
  EXPECT_EQ(vmm->backend_features(), (1ull << 32) | (1ull << 28) | (1ull << 29) | (1ull << 30));
  EXPECT_TRUE(vmm->has_protocol_feature(vu::kProtocolMq));
  EXPECT_TRUE(vmm->has_protocol_feature(vu::kProtocolReplyAck));
  EXPECT_TRUE(vmm->has_protocol_feature(vu::kProtocolConfigureMemSlots));
  EXPECT_EQ(vmm->max_queues(), 3u);
  EXPECT_GE(vmm->max_mem_slots(), 8u);

  for (int q = 0; q < 3; ++q) {
    RoundTrip(*vmm, vmm->queue(q), absl::StrCat("hello queue ", q));
  }
  RoundTrip(*vmm, vmm->request_queue(0), std::string(3000, 'x'), /*indirect=*/true);
  for (int i = 0; i < 20; ++i) RoundTrip(*vmm, vmm->request_queue(1), absl::StrCat("req ", i));

  auto bases = vmm->Stop();
  ASSERT_TRUE(bases.ok()) << bases.status();
  EXPECT_EQ(*bases, (std::vector<uint32_t>{1, 2, 21}));
  EXPECT_EQ(handler_->handled(), 24);
  EXPECT_TRUE(Finish(vmm).ok()) << served_;
}

TEST_F(ServerTest, CloudHypervisorSetMemTableWithSeveralRegions) {
  StartServer({}, /*async=*/true);
  FakeVmmOptions vmm_options;
  vmm_options.memory_mode = MemoryTableMode::kSetMemTable;
  vmm_options.memory.region_sizes = {4 << 20, 4 << 20, 4 << 20, 4 << 20};
  vmm_options.memory.single_memfd = true;  // one memfd at several offsets
  vmm_options.event_idx = false;
  auto vmm = Connect(vmm_options);
  ASSERT_NE(vmm, nullptr);
  EXPECT_FALSE(vmm->has_protocol_feature(vu::kProtocolConfigureMemSlots));
  for (int i = 0; i < 16; ++i) {
    RoundTrip(*vmm, vmm->request_queue(), std::string(100 + i * 500, 'a' + i), i % 2 == 0);
  }
  auto bases = vmm->Stop();
  ASSERT_TRUE(bases.ok()) << bases.status();
  EXPECT_EQ((*bases)[1], 16u);
  EXPECT_TRUE(Finish(vmm).ok()) << served_;
}

TEST_F(ServerTest, RingRestartsAfterGetVringBase) {
  StartServer();
  auto vmm = Connect({});
  ASSERT_NE(vmm, nullptr);
  RoundTrip(*vmm, vmm->request_queue(), "before");
  auto base = vmm->GetVringBase(1);
  ASSERT_TRUE(base.ok());
  EXPECT_EQ(*base, 1u);
  // Restart as QEMU does: base, addr unchanged, new kick, enable.
  VirtqueueDriver& q = vmm->request_queue();
  const vu::VringState state{1, *base};
  ASSERT_TRUE(vmm->SendMessage(Request::kSetVringBase, AsBytes(state)).ok());
  const int kick = q.kick_fd();
  const uint64_t index = 1;
  ASSERT_TRUE(vmm->SendMessage(Request::kSetVringKick, AsBytes(index), {&kick, 1}, true).ok());
  RoundTrip(*vmm, q, "after");
  EXPECT_TRUE(Finish(vmm).ok()) << served_;
}

TEST_F(ServerTest, MalformedMessagesGetErrorsAndSessionGoesOn) {
  StartServer();
  auto vmm = Connect({});
  ASSERT_NE(vmm, nullptr);
  ASSERT_TRUE(vmm->has_protocol_feature(vu::kProtocolReplyAck));
  const int efd = eventfd(0, EFD_CLOEXEC);
  const int efds[3] = {efd, efd, efd};
  const uint32_t short_payload = 1;

  // Wrong payload sizes.
  EXPECT_NE(SendForAck(*vmm, Request::kSetVringNum, AsBytes(short_payload)), 0u);
  EXPECT_NE(SendForAck(*vmm, Request::kSetFeatures, AsBytes(short_payload)), 0u);
  EXPECT_NE(SendForAck(*vmm, Request::kSetOwner, AsBytes(short_payload)), 0u);
  // Bad indices and values.
  EXPECT_NE(SendForAck(*vmm, Request::kSetVringNum, AsBytes(vu::VringState{7, 128})), 0u);
  EXPECT_NE(SendForAck(*vmm, Request::kSetVringNum, AsBytes(vu::VringState{1, 100})), 0u);
  EXPECT_NE(SendForAck(*vmm, Request::kSetVringNum, AsBytes(vu::VringState{1, 65536})), 0u);
  EXPECT_NE(SendForAck(*vmm, Request::kSetVringBase, AsBytes(vu::VringState{1, 70000})), 0u);
  EXPECT_NE(SendForAck(*vmm, Request::kSetVringEnable, AsBytes(vu::VringState{1, 2})), 0u);
  EXPECT_NE(SendForAck(*vmm, Request::kSetFeatures, AsBytes(uint64_t{1} << 40)), 0u);
  EXPECT_NE(SendForAck(*vmm, Request::kSetProtocolFeatures, AsBytes(uint64_t{1} << 5)), 0u);
  // Missing and extra fds.
  const uint64_t queue1 = 1;
  EXPECT_NE(SendForAck(*vmm, Request::kSetVringKick, AsBytes(queue1)), 0u);
  EXPECT_NE(SendForAck(*vmm, Request::kSetVringCall, AsBytes(queue1), efds), 0u);
  EXPECT_NE(SendForAck(*vmm, Request::kSetVringNum, AsBytes(vu::VringState{1, 128}), {&efd, 1}),
            0u);
  EXPECT_NE(SendForAck(*vmm, Request::kSetVringCall, AsBytes(uint64_t{1} | (1ull << 20)),
                       {&efd, 1}),
            0u);
  // A kick fd that is not an eventfd.
  int pipes[2];
  ASSERT_EQ(pipe2(pipes, O_CLOEXEC), 0);
  EXPECT_NE(SendForAck(*vmm, Request::kSetVringKick, AsBytes(queue1), {&pipes[0], 1}), 0u);
  close(pipes[0]);
  close(pipes[1]);
  // Memory: overlapping region, no fd, too many regions, unknown removal.
  vu::SingleMemoryRegion overlap{0, vmm->memory().WireRegion(0)};
  const int memfd = vmm->memory().regions()[0].fd;
  EXPECT_NE(SendForAck(*vmm, Request::kAddMemReg, AsBytes(overlap), {&memfd, 1}), 0u);
  EXPECT_NE(SendForAck(*vmm, Request::kAddMemReg, AsBytes(overlap)), 0u);
  vu::SingleMemoryRegion huge{0, {0x7000000000, 1ull << 40, 0x100000000, 0}};
  EXPECT_NE(SendForAck(*vmm, Request::kAddMemReg, AsBytes(huge), {&memfd, 1}), 0u);
  vu::SingleMemoryRegion unknown{0, {0x7000000000, 4096, 0x100000000, 0}};
  EXPECT_NE(SendForAck(*vmm, Request::kRemMemReg, AsBytes(unknown)), 0u);
  vu::MemoryTable table{};
  table.nregions = 9;
  EXPECT_NE(SendForAck(*vmm, Request::kSetMemTable, AsBytes(table)), 0u);
  table.nregions = 2;  // but one fd
  table.regions[0] = vmm->memory().WireRegion(0);
  EXPECT_NE(SendForAck(*vmm, Request::kSetMemTable, AsBytes(table), {&memfd, 1}), 0u);
  // Running ring: moving it is refused.
  EXPECT_NE(SendForAck(*vmm, Request::kSetVringNum, AsBytes(vu::VringState{1, 64})), 0u);
  // Unknown and unsupported requests, one with fds to close.
  EXPECT_NE(SendForAck(*vmm, static_cast<Request>(200), {}, efds), 0u);
  EXPECT_NE(SendForAck(*vmm, Request::kSetLogBase, AsBytes(queue1), {&efd, 1}), 0u);
  // Too many fds for one message (more than SCM_RIGHTS room we give).
  {
    // The fake VMM's channel refuses to send more than 8, so by hand.
    std::vector<int> many(12, efd);
    uint8_t bytes[sizeof(vu::MessageHeader) + sizeof(queue1)];
    const vu::MessageHeader header{static_cast<uint32_t>(Request::kSetVringErr),
                                   vu::kVersion | vu::kFlagNeedReply, sizeof(queue1)};
    std::memcpy(bytes, &header, sizeof(header));
    std::memcpy(bytes + sizeof(header), &queue1, sizeof(queue1));
    iovec iov{bytes, sizeof(bytes)};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * 12)];
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof(control);
    cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    cmsg->cmsg_len = CMSG_LEN(sizeof(int) * 12);
    std::memcpy(CMSG_DATA(cmsg), many.data(), sizeof(int) * 12);
    ASSERT_EQ(sendmsg(vmm->channel().fd(), &msg, MSG_NOSIGNAL), sizeof(bytes));
    auto reply = vmm->channel().ReceiveReplyTo(Request::kSetVringErr, kTimeout);
    ASSERT_TRUE(reply.ok()) << reply.status();
    ASSERT_EQ(reply->payload.size(), 8u);
    EXPECT_NE(reply->payload[0], 0);
  }
  // Unknown request without NEED_REPLY: no answer, session continues.
  ASSERT_TRUE(vmm->channel().Send(static_cast<Request>(99), 0, {}).ok());
  close(efd);

  // The device still works after all that.
  auto features = vmm->QueryU64(Request::kGetFeatures);
  ASSERT_TRUE(features.ok());
  RoundTrip(*vmm, vmm->request_queue(), "still alive");
  EXPECT_TRUE(Finish(vmm).ok()) << served_;
}

TEST_F(ServerTest, RemovingMemoryWhileRunningKeepsServing) {
  StartServer();
  FakeVmmOptions vmm_options;
  vmm_options.memory.region_sizes = {8 << 20, 8 << 20};
  auto vmm = Connect(vmm_options);
  ASSERT_NE(vmm, nullptr);
  // Remove and re-add the second region (QEMU memory hotplug style).
  vu::SingleMemoryRegion second{0, vmm->memory().WireRegion(1)};
  const int fd = vmm->memory().regions()[1].fd;
  EXPECT_EQ(SendForAck(*vmm, Request::kRemMemReg, AsBytes(second)), 0u);
  EXPECT_EQ(SendForAck(*vmm, Request::kAddMemReg, AsBytes(second), {&fd, 1}), 0u);
  RoundTrip(*vmm, vmm->request_queue(), "after hotplug");
  EXPECT_TRUE(Finish(vmm).ok()) << served_;
}

TEST_F(ServerTest, MalformedChainIsReturnedEmpty) {
  StartServer();
  auto vmm = Connect({});
  ASSERT_NE(vmm, nullptr);
  VirtqueueDriver& q = vmm->request_queue();
  // A chain pointing outside guest memory.
  const VirtqueueBuffer bad[] = {{0xfff0000000, 64}};
  auto head = q.AddChain(bad, {});
  ASSERT_TRUE(head.ok());
  ASSERT_TRUE(q.Kick().ok());
  auto used = q.WaitUsed(kTimeout);
  ASSERT_TRUE(used.ok()) << used.status();
  EXPECT_EQ(used->id, *head);
  EXPECT_EQ(used->len, 0u);
  EXPECT_EQ(handler_->handled(), 0);
  RoundTrip(*vmm, q, "next one is fine");
  EXPECT_TRUE(Finish(vmm).ok()) << served_;
}

TEST_F(ServerTest, CorruptRingBreaksOnlyThatQueue) {
  VhostUserDeviceOptions options;
  options.num_request_queues = 2;
  StartServer(options);
  FakeVmmOptions vmm_options;
  vmm_options.num_request_queues = 2;
  auto vmm = Connect(vmm_options);
  ASSERT_NE(vmm, nullptr);
  vmm->request_queue(0).AddRawAvail(60000);  // head beyond the queue
  ASSERT_TRUE(vmm->request_queue(0).ForceKick().ok());
  RoundTrip(*vmm, vmm->request_queue(1), "other queue unaffected");
  EXPECT_TRUE(Finish(vmm).ok()) << served_;
}

TEST_F(ServerTest, OversizedPayloadEndsSession) {
  StartServer();
  auto vmm = Connect({}, /*handshake=*/false);
  ASSERT_NE(vmm, nullptr);
  vu::MessageHeader header{static_cast<uint32_t>(Request::kSetOwner), vu::kVersion, 1u << 30};
  ASSERT_TRUE(vmm->channel().SendRaw(AsBytes(header)).ok());
  ASSERT_TRUE(done_.WaitForNotificationWithTimeout(kTimeout));
  EXPECT_FALSE(Finish(vmm).ok());
}

TEST_F(ServerTest, BadVersionEndsSession) {
  StartServer();
  auto vmm = Connect({}, /*handshake=*/false);
  ASSERT_NE(vmm, nullptr);
  vu::MessageHeader header{static_cast<uint32_t>(Request::kGetFeatures), 2, 0};
  ASSERT_TRUE(vmm->channel().SendRaw(AsBytes(header)).ok());
  ASSERT_TRUE(done_.WaitForNotificationWithTimeout(kTimeout));
  EXPECT_FALSE(Finish(vmm).ok());
}

TEST_F(ServerTest, TruncatedMessageWithFdsLeaksNothing) {
  StartServer();
  auto vmm = Connect({}, /*handshake=*/false);
  ASSERT_NE(vmm, nullptr);
  const int efd = eventfd(0, EFD_CLOEXEC);
  const int fds[2] = {efd, efd};
  // Header promises 8 bytes of payload; only 4 arrive before the hang-up.
  uint8_t bytes[16] = {};
  vu::MessageHeader header{static_cast<uint32_t>(Request::kSetVringCall), vu::kVersion, 8};
  std::memcpy(bytes, &header, sizeof(header));
  ASSERT_TRUE(vmm->channel().SendRaw(absl::MakeConstSpan(bytes, 16), fds).ok());
  close(efd);
  EXPECT_FALSE(Finish(vmm).ok());
}

TEST_F(ServerTest, MalformedGetRequestEndsSession) {
  StartServer();
  auto vmm = Connect({}, /*handshake=*/false);
  ASSERT_NE(vmm, nullptr);
  // GET_VRING_BASE for a queue that does not exist: no honest reply exists.
  ASSERT_TRUE(vmm->channel().Send(Request::kGetVringBase, 0, AsBytes(vu::VringState{9, 0})).ok());
  ASSERT_TRUE(done_.WaitForNotificationWithTimeout(kTimeout));
  EXPECT_FALSE(Finish(vmm).ok());
}

TEST_F(ServerTest, DisconnectWithRequestsInFlightWaitsForThem) {
  StartServer({}, /*async=*/true);
  auto vmm = Connect({});
  ASSERT_NE(vmm, nullptr);
  VirtqueueDriver& q = vmm->request_queue();
  for (int i = 0; i < 8; ++i) {
    auto in = vmm->memory().Allocate(16);
    ASSERT_TRUE(in.ok());
    const VirtqueueBuffer readable[] = {{*in, 16}};
    ASSERT_TRUE(q.AddChain(readable, {}).ok());
  }
  ASSERT_TRUE(q.Kick().ok());
  // Hang up at once: the server must still wait for all 8 to complete.
  EXPECT_TRUE(Finish(vmm).ok()) << served_;
}

}  // namespace
}  // namespace vfsd
