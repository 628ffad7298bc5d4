// The FuseClient pieces the benchmark's multi-queue driver relies on:
// PollCompletion() never blocks and returns each queue's own completions,
// and clients on different request queues draw uniques from interleaved,
// disjoint sequences (first_unique / unique_stride). A TestDevice plays the
// daemon, so this runs without a vhost-user daemon that serves 2 queues.
#include <cstring>

#include "gtest/gtest.h"
#include "testing/fuse_client.h"
#include "testing/virtqueue_driver_test_device.h"

namespace vfsd {
namespace {

struct Lane {
  std::unique_ptr<VirtqueueDriver> queue;
  std::unique_ptr<TestDevice> device;
  std::unique_ptr<FuseClient> fuse;
};

class RequestLanesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    FakeGuestMemoryOptions options;
    options.region_sizes = {8 << 20};
    auto memory = FakeGuestMemory::Create(options);
    ASSERT_TRUE(memory.ok());
    memory_ = std::move(*memory);
    for (int i = 0; i < 2; ++i) {
      auto q = VirtqueueDriver::Create(memory_.get(), 16, /*event_idx=*/true);
      ASSERT_TRUE(q.ok());
      lanes_[i].queue = std::move(*q);
      lanes_[i].device = std::make_unique<TestDevice>(memory_.get(), lanes_[i].queue.get());
      FuseClientOptions client_options;
      client_options.max_in_flight = 4;
      client_options.max_args_size = 4096;
      client_options.max_reply_size = 4096;
      client_options.first_unique = 2 + 2 * i;
      client_options.unique_stride = 4;
      auto client =
          FuseClient::Create(memory_.get(), lanes_[i].queue.get(), nullptr, client_options);
      ASSERT_TRUE(client.ok()) << client.status();
      lanes_[i].fuse = std::move(*client);
    }
  }

  uint64_t SubmitGetAttr(Lane& lane) {
    fuse_getattr_in in{};
    auto unique = lane.fuse->Submit(
        FUSE_GETATTR, 1,
        {absl::Span<const uint8_t>(reinterpret_cast<const uint8_t*>(&in), sizeof(in))}, 0);
    EXPECT_TRUE(unique.ok());
    EXPECT_TRUE(lane.fuse->Kick().ok());
    return unique.ok() ? *unique : 0;
  }

  // Answers the next request on `lane` with an empty success reply.
  uint64_t Serve(Lane& lane) {
    uint16_t head;
    std::vector<SeenBuffer> chain = lane.device->Pop(&head);
    fuse_in_header in;
    std::memcpy(&in, lane.device->Host(chain[0]), sizeof(in));
    for (const SeenBuffer& b : chain) {
      if (!b.write) continue;
      fuse_out_header out{sizeof(fuse_out_header), 0, in.unique};
      std::memcpy(lane.device->Host(b), &out, sizeof(out));
      break;
    }
    lane.device->Push(head, sizeof(fuse_out_header));
    return in.unique;
  }

  std::unique_ptr<FakeGuestMemory> memory_;
  Lane lanes_[2];
};

TEST_F(RequestLanesTest, UniquesInterleaveAcrossQueues) {
  EXPECT_EQ(SubmitGetAttr(lanes_[0]), 2u);
  EXPECT_EQ(SubmitGetAttr(lanes_[1]), 4u);
  EXPECT_EQ(SubmitGetAttr(lanes_[0]), 6u);
  EXPECT_EQ(SubmitGetAttr(lanes_[1]), 8u);
}

TEST_F(RequestLanesTest, PollCompletionReturnsOnlyThatQueuesReplies) {
  // Nothing in flight, then nothing answered yet: no completion, no block.
  auto none = lanes_[0].fuse->PollCompletion();
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  const uint64_t u0 = SubmitGetAttr(lanes_[0]);
  const uint64_t u1 = SubmitGetAttr(lanes_[1]);
  none = lanes_[0].fuse->PollCompletion();
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());

  EXPECT_EQ(Serve(lanes_[1]), u1);
  auto on_other = lanes_[0].fuse->PollCompletion();
  ASSERT_TRUE(on_other.ok());
  EXPECT_FALSE(on_other->has_value());
  auto got = lanes_[1].fuse->PollCompletion();
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ((*got)->unique, u1);
  EXPECT_EQ((*got)->error, 0);
  EXPECT_EQ(lanes_[1].fuse->in_flight(), 0);

  EXPECT_EQ(Serve(lanes_[0]), u0);
  got = lanes_[0].fuse->PollCompletion();
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ((*got)->unique, u0);
  EXPECT_EQ(lanes_[0].fuse->in_flight(), 0);
}

TEST(RequestLanesOptionsTest, OddOrZeroUniqueSequenceIsRejected) {
  FakeGuestMemoryOptions options;
  options.region_sizes = {4 << 20};
  auto memory = FakeGuestMemory::Create(options);
  ASSERT_TRUE(memory.ok());
  auto q = VirtqueueDriver::Create(memory->get(), 16, true);
  ASSERT_TRUE(q.ok());
  for (auto [first, stride] : {std::pair<uint64_t, uint64_t>{3, 2}, {2, 3}, {0, 2}, {2, 0}}) {
    FuseClientOptions client_options;
    client_options.first_unique = first;
    client_options.unique_stride = stride;
    EXPECT_FALSE(FuseClient::Create(memory->get(), q->get(), nullptr, client_options).ok());
  }
}

}  // namespace
}  // namespace vfsd
