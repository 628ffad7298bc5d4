// FuseClient must not trust the device: replies with a wrong unique, a
// length that disagrees with the used length or overruns the buffer, an
// out-of-range error or an error with a payload are DataLossError. Also
// checks the request layout the client puts on the ring. Uses TestDevice
// in place of a daemon.
#include "testing/fuse_client.h"

#include <cstring>
#include <functional>

#include "gtest/gtest.h"
#include "testing/virtqueue_driver_test_device.h"

namespace vfsd {
namespace {

class FuseClientValidationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    FakeGuestMemoryOptions options;
    options.region_sizes = {4 << 20, 4 << 20};
    auto memory = FakeGuestMemory::Create(options);
    ASSERT_TRUE(memory.ok());
    memory_ = std::move(*memory);
    auto q = VirtqueueDriver::Create(memory_.get(), 64, /*event_idx=*/true);
    ASSERT_TRUE(q.ok());
    q_ = std::move(*q);
    device_ = std::make_unique<TestDevice>(memory_.get(), q_.get());
    FuseClientOptions client_options;
    client_options.max_in_flight = 4;
    client_options.uid = 1000;
    client_options.gid = 100;
    client_options.pid = 4242;
    auto client = FuseClient::Create(memory_.get(), q_.get(), nullptr, client_options);
    ASSERT_TRUE(client.ok());
    fuse_ = std::move(*client);
  }

  // Submits a GETATTR and lets `answer` play the device on its chain.
  template <typename Answer>
  absl::StatusOr<FuseCompletion> RoundTrip(Answer answer) {
    fuse_getattr_in in{};
    absl::StatusOr<uint64_t> unique = fuse_->Submit(
        FUSE_GETATTR, 7,
        {absl::Span<const uint8_t>(reinterpret_cast<const uint8_t*>(&in), sizeof(in))},
        sizeof(fuse_attr_out));
    if (!unique.ok()) return unique.status();
    if (absl::Status s = fuse_->Kick(); !s.ok()) return s;
    uint16_t head;
    std::vector<SeenBuffer> chain = device_->Pop(&head);
    fuse_in_header ih;
    std::memcpy(&ih, device_->Host(chain[0]), sizeof(ih));
    const uint32_t len = answer(chain, ih);
    device_->Push(head, len);
    return fuse_->WaitCompletion();
  }

  // Writes an out header (+ payload bytes) into the chain's writable part.
 public:
  uint32_t Reply(const std::vector<SeenBuffer>& chain, uint64_t unique, int32_t error,
                 uint32_t payload, uint32_t claimed_len = 0) {
    fuse_out_header oh{};
    oh.len = claimed_len ? claimed_len : static_cast<uint32_t>(sizeof(oh) + payload);
    oh.error = error;
    oh.unique = unique;
    std::memcpy(device_->Host(chain[2]), &oh, sizeof(oh));
    std::memset(device_->Host(chain[3]), 0x5a, std::min(payload, chain[3].len));
    return static_cast<uint32_t>(sizeof(oh) + payload);
  }

 protected:
  std::unique_ptr<FakeGuestMemory> memory_;
  std::unique_ptr<VirtqueueDriver> q_;
  std::unique_ptr<TestDevice> device_;
  std::unique_ptr<FuseClient> fuse_;
};

TEST_F(FuseClientValidationTest, RequestLayoutMatchesTheKernelDriver) {
  auto done = RoundTrip([&](const std::vector<SeenBuffer>& chain, const fuse_in_header& ih) {
    EXPECT_EQ(chain.size(), 4u);
    EXPECT_FALSE(chain[0].write);
    EXPECT_EQ(chain[0].len, sizeof(fuse_in_header));
    EXPECT_EQ(chain[1].len, sizeof(fuse_getattr_in));
    EXPECT_TRUE(chain[2].write);
    EXPECT_EQ(chain[2].len, sizeof(fuse_out_header));
    EXPECT_EQ(chain[3].len, sizeof(fuse_attr_out));
    EXPECT_EQ(ih.len, sizeof(fuse_in_header) + sizeof(fuse_getattr_in));
    EXPECT_EQ(ih.opcode, static_cast<uint32_t>(FUSE_GETATTR));
    EXPECT_EQ(ih.nodeid, 7u);
    EXPECT_EQ(ih.uid, 1000u);
    EXPECT_EQ(ih.gid, 100u);
    EXPECT_EQ(ih.pid, 4242u);
    EXPECT_EQ(ih.unique % 2, 0u);  // bit 0 is reserved for interrupts
    return Reply(chain, ih.unique, 0, sizeof(fuse_attr_out));
  });
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_EQ(done->error, 0);
  EXPECT_EQ(done->payload.size(), sizeof(fuse_attr_out));
}

TEST_F(FuseClientValidationTest, ErrorReplyIsPassedThrough) {
  auto done = RoundTrip([&](const auto& chain, const fuse_in_header& ih) {
    return Reply(chain, ih.unique, -ENOENT, 0);
  });
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_EQ(done->error, -ENOENT);
  EXPECT_TRUE(done->payload.empty());
}

TEST_F(FuseClientValidationTest, RejectsMalformedReplies) {
  struct Case {
    const char* name;
    std::function<uint32_t(FuseClientValidationTest*, const std::vector<SeenBuffer>&,
                           const fuse_in_header&)>
        answer;
  };
  const Case cases[] = {
      {"wrong unique",
       [](auto* t, const auto& c, const auto& ih) { return t->Reply(c, ih.unique + 2, 0, 0); }},
      {"len differs from used len",
       [](auto* t, const auto& c, const auto& ih) {
         return t->Reply(c, ih.unique, 0, 8, /*claimed_len=*/16 + 4);
       }},
      {"longer than the buffer",
       [](auto* t, const auto& c, const auto& ih) {
         t->Reply(c, ih.unique, 0, 0, 16 + 4096);
         return 16u + 4096u;
       }},
      {"positive error",
       [](auto* t, const auto& c, const auto& ih) { return t->Reply(c, ih.unique, 5, 0); }},
      {"huge negative error",
       [](auto* t, const auto& c, const auto& ih) { return t->Reply(c, ih.unique, -5000, 0); }},
      {"error with payload",
       [](auto* t, const auto& c, const auto& ih) { return t->Reply(c, ih.unique, -EIO, 8); }},
      {"shorter than a header",
       [](auto* t, const auto& c, const auto& ih) {
         t->Reply(c, ih.unique, 0, 0);
         return 8u;
       }},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    auto done = RoundTrip([&](const auto& chain, const fuse_in_header& ih) {
      return c.answer(this, chain, ih);
    });
    EXPECT_EQ(done.status().code(), absl::StatusCode::kDataLoss) << done.status();
    EXPECT_EQ(fuse_->in_flight(), 0);  // the slot is recycled either way
  }
}

TEST_F(FuseClientValidationTest, SlotsAreBounded) {
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(fuse_->Submit(FUSE_STATFS, 1, {}, 80).ok());
  EXPECT_EQ(fuse_->Submit(FUSE_STATFS, 1, {}, 80).status().code(),
            absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(fuse_->Call(FUSE_STATFS, 1, {}, 80).status().code(),
            absl::StatusCode::kFailedPrecondition);
  std::vector<uint8_t> too_big(200000);
  EXPECT_FALSE(fuse_->Submit(FUSE_WRITE, 1, {too_big}, 16).ok());
}

}  // namespace
}  // namespace vfsd
