// VirtqueueDriver against TestDevice, which reads the rings the way a
// vhost-user back-end does: chain layout (direct and indirect),
// descriptor recycling, notification suppression both ways, and rejection
// of bogus used entries.
#include "testing/virtqueue_driver.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <vector>

#include "gtest/gtest.h"
#include "testing/virtqueue_driver_test_device.h"

namespace vfsd {
namespace {

class VirtqueueDriverTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    FakeGuestMemoryOptions options;
    options.region_sizes = {1 << 20, 1 << 20};
    auto memory = FakeGuestMemory::Create(options);
    ASSERT_TRUE(memory.ok());
    memory_ = std::move(*memory);
    auto q = VirtqueueDriver::Create(memory_.get(), 8, /*event_idx=*/GetParam());
    ASSERT_TRUE(q.ok()) << q.status();
    q_ = std::move(*q);
    device_ = std::make_unique<TestDevice>(memory_.get(), q_.get());
  }

  std::unique_ptr<FakeGuestMemory> memory_;
  std::unique_ptr<VirtqueueDriver> q_;
  std::unique_ptr<TestDevice> device_;
};

TEST_P(VirtqueueDriverTest, ChainIsReadableThenWritable) {
  for (bool indirect : {false, true}) {
    const VirtqueueBuffer r[] = {{0x1000, 40}, {0x2000, 8}};
    const VirtqueueBuffer w[] = {{0x3000, 16}, {0x4000, 4096}};
    auto head = q_->AddChain(r, w, indirect);
    ASSERT_TRUE(head.ok()) << head.status();
    EXPECT_EQ(q_->num_free(), indirect ? 7 : 4) << indirect;
    EXPECT_FALSE(device_->HasAvail());  // not published yet
    q_->Publish();
    ASSERT_TRUE(device_->HasAvail());
    uint16_t seen_head;
    std::vector<SeenBuffer> chain = device_->Pop(&seen_head);
    EXPECT_EQ(seen_head, *head);
    ASSERT_EQ(chain.size(), 4u);
    EXPECT_EQ(chain[0].gpa, 0x1000u);
    EXPECT_FALSE(chain[1].write);
    EXPECT_TRUE(chain[2].write);
    EXPECT_EQ(chain[3].len, 4096u);
    device_->Push(seen_head, 100);
    auto used = q_->WaitUsed(absl::Seconds(5));
    ASSERT_TRUE(used.ok()) << used.status();
    EXPECT_EQ(used->id, *head);
    EXPECT_EQ(used->len, 100u);
    EXPECT_EQ(q_->num_free(), 8);
  }
}

TEST_P(VirtqueueDriverTest, RecyclesDescriptorsOutOfOrder) {
  for (int round = 0; round < 200; ++round) {
    const VirtqueueBuffer r[] = {{0x1000, 1}};
    const VirtqueueBuffer w[] = {{0x2000, 1}, {0x3000, 1}};
    uint16_t heads[2];
    for (uint16_t& h : heads) {
      auto head = q_->AddChain(r, w, round % 3 == 0);
      ASSERT_TRUE(head.ok()) << head.status();
      h = *head;
    }
    q_->Publish();
    uint16_t a, b;
    device_->Pop(&a);
    device_->Pop(&b);
    device_->Push(b, 1);  // complete in reverse order
    device_->Push(a, 2);
    auto first = q_->WaitUsed(absl::Seconds(5));
    auto second = q_->WaitUsed(absl::Seconds(5));
    ASSERT_TRUE(first.ok() && second.ok());
    EXPECT_EQ(first->id, heads[1]);
    EXPECT_EQ(second->id, heads[0]);
  }
  EXPECT_EQ(q_->num_free(), 8);
  EXPECT_EQ(q_->in_flight(), 0);
}

TEST_P(VirtqueueDriverTest, FullQueueIsResourceExhausted) {
  const VirtqueueBuffer r[] = {{0x1000, 1}};
  const VirtqueueBuffer w[] = {{0x2000, 1}};
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(q_->AddChain(r, w).ok());
  EXPECT_EQ(q_->AddChain(r, w).status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(q_->AddChain({}, {}).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_P(VirtqueueDriverTest, KickHonoursDeviceSuppression) {
  const VirtqueueBuffer r[] = {{0x1000, 1}};
  ASSERT_TRUE(q_->AddChain(r, {}).ok());
  // Device asks for notification at avail index 0 → first kick goes out.
  auto kicked = q_->Kick();
  ASSERT_TRUE(kicked.ok());
  EXPECT_TRUE(*kicked);
  EXPECT_TRUE(device_->TakeKick());
  // Device says "don't notify me" (its event index is far behind / flag).
  if (GetParam()) {
    device_->SetAvailEvent(0);  // already passed
  } else {
    device_->SetUsedFlags(kVringUsedFNoNotify);
  }
  ASSERT_TRUE(q_->AddChain(r, {}).ok());
  kicked = q_->Kick();
  ASSERT_TRUE(kicked.ok());
  EXPECT_FALSE(*kicked);
  EXPECT_FALSE(device_->TakeKick());
  // Device re-arms at the next index → the next kick goes out.
  if (GetParam()) {
    device_->SetAvailEvent(2);
  } else {
    device_->SetUsedFlags(0);
  }
  ASSERT_TRUE(q_->AddChain(r, {}).ok());
  kicked = q_->Kick();
  ASSERT_TRUE(kicked.ok());
  EXPECT_TRUE(*kicked);
  EXPECT_TRUE(device_->TakeKick());
}

TEST_P(VirtqueueDriverTest, WaitAsksForInterruptAndTimesOutWithoutOne) {
  const VirtqueueBuffer w[] = {{0x2000, 8}};
  auto head = q_->AddChain({}, w);
  ASSERT_TRUE(head.ok());
  q_->Publish();
  auto used = q_->WaitUsed(absl::Milliseconds(20));
  EXPECT_EQ(used.status().code(), absl::StatusCode::kDeadlineExceeded);
  if (GetParam()) EXPECT_EQ(device_->UsedEvent(), 0);  // "interrupt me at used idx 0"
  uint16_t seen;
  device_->Pop(&seen);
  device_->Push(seen, 8);
  used = q_->WaitUsed(absl::Seconds(5));
  ASSERT_TRUE(used.ok());
  // Found without sleeping: no new request for an interrupt (as Linux).
  if (GetParam()) EXPECT_EQ(device_->UsedEvent(), 0);
  used = q_->WaitUsed(absl::Milliseconds(20));
  EXPECT_EQ(used.status().code(), absl::StatusCode::kDeadlineExceeded);
  if (GetParam()) EXPECT_EQ(device_->UsedEvent(), 1);
}

TEST_P(VirtqueueDriverTest, BogusUsedIdIsDataLoss) {
  const VirtqueueBuffer w[] = {{0x2000, 8}};
  ASSERT_TRUE(q_->AddChain({}, w).ok());
  q_->Publish();
  device_->Push(7, 0);  // never handed out
  EXPECT_EQ(q_->WaitUsed(absl::Seconds(5)).status().code(), absl::StatusCode::kDataLoss);
}

INSTANTIATE_TEST_SUITE_P(EventIdx, VirtqueueDriverTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? std::string("event_idx") : std::string("flags");
                         });

}  // namespace
}  // namespace vfsd
