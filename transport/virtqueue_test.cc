#include "transport/virtqueue.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <set>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "transport/completion_batch.h"
#include "transport/testing_ring.h"
#include "transport/virtio_ring.h"

namespace vfsd {
namespace {

using virtio::kDescFNext;
using virtio::kDescFWrite;

constexpr uint64_t kData = TestRing::kDataGpa;

SharedEventFd MakeEventFd() {
  return std::make_shared<const UniqueFd>(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
}

// The eventfd's counter, reset to 0 (0 if never signalled).
uint64_t Drain(const SharedEventFd& fd) {
  uint64_t value = 0;
  if (read(fd->get(), &value, sizeof(value)) != sizeof(value)) return 0;
  return value;
}

class VirtqueueTest : public ::testing::Test {
 protected:
  explicit VirtqueueTest(uint32_t size = 8) : ring_(size) {}

  std::shared_ptr<Virtqueue> Create(uint16_t next_avail = 0, bool event_idx = false) {
    auto queue = Virtqueue::Create(ring_.Config(next_avail, event_idx), ring_.memory());
    EXPECT_TRUE(queue.ok()) << queue.status();
    if (!queue.ok()) return nullptr;
    (*queue)->SetCallFd(call_);
    (*queue)->SetErrFd(err_);
    return *queue;
  }

  // Head `i` (i < 8): one 16-byte readable and one 64-byte writable buffer.
  void PostChain(uint16_t head) {
    const uint16_t second = static_cast<uint16_t>(head + ring_.size() / 2);
    ring_.SetDesc(head, kData + head * 0x100, 16, kDescFNext, second);
    ring_.SetDesc(second, kData + 0x8000 + head * 0x100, 64, kDescFWrite);
    ring_.AddAvail(head);
  }

  std::optional<QueueRequest> PopOne(Virtqueue& queue) {
    auto popped = queue.Pop(ring_.memory());
    EXPECT_TRUE(popped.ok()) << popped.status();
    if (!popped.ok()) return std::nullopt;
    return std::move(*popped);
  }

  TestRing ring_;
  SharedEventFd call_ = MakeEventFd();
  SharedEventFd err_ = MakeEventFd();
};

TEST_F(VirtqueueTest, RejectsBadConfigs) {
  VirtqueueConfig config = ring_.Config();
  config.size = 6;
  EXPECT_FALSE(Virtqueue::Create(config, ring_.memory()).ok());
  config.size = 65536;
  EXPECT_FALSE(Virtqueue::Create(config, ring_.memory()).ok());
  config = ring_.Config();
  config.used_user_addr += 2;  // misaligned used ring
  EXPECT_FALSE(Virtqueue::Create(config, ring_.memory()).ok());
  config = ring_.Config();
  config.desc_user_addr = 0x1000;  // not guest memory
  EXPECT_FALSE(Virtqueue::Create(config, ring_.memory()).ok());
}

TEST_F(VirtqueueTest, PopsTranslatesAndCompletes) {
  auto queue = Create();
  auto none = queue->Pop(ring_.memory());
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());

  PostChain(2);
  ring_.PublishAvail();
  auto request = PopOne(*queue);
  ASSERT_TRUE(request.has_value());
  EXPECT_EQ(request->queue_index(), 1);
  EXPECT_EQ(request->head(), 2);
  ASSERT_EQ(request->readable().size(), 1u);
  EXPECT_EQ(request->readable()[0].iov_base, ring_.Host(kData + 0x200));
  ASSERT_EQ(request->writable().size(), 1u);
  EXPECT_EQ(request->writable()[0].iov_len, 64u);
  EXPECT_EQ(queue->in_flight(), 1u);
  EXPECT_EQ(queue->next_avail(), 1);

  request->Complete(1000);  // more than the buffers: clamped
  EXPECT_EQ(queue->in_flight(), 0u);
  EXPECT_EQ(ring_.UsedIdx(), 1);
  EXPECT_EQ(ring_.Used(0).id, 2u);
  EXPECT_EQ(ring_.Used(0).len, 64u);
  EXPECT_EQ(Drain(call_), 1u);
  request->Complete(5);  // second call is ignored
  EXPECT_EQ(ring_.UsedIdx(), 1);
}

TEST_F(VirtqueueTest, DroppedRequestCompletesWithZero) {
  auto queue = Create();
  PostChain(0);
  ring_.PublishAvail();
  { auto request = PopOne(*queue); }
  EXPECT_EQ(ring_.UsedIdx(), 1);
  EXPECT_EQ(ring_.Used(0).id, 0u);
  EXPECT_EQ(ring_.Used(0).len, 0u);
}

TEST_F(VirtqueueTest, MalformedChainIsReturnedAndQueueGoesOn) {
  auto queue = Create();
  ring_.SetDesc(1, kData, 8, kDescFNext, 1);  // loop
  ring_.AddAvail(1);
  PostChain(3);
  ring_.PublishAvail();
  auto request = PopOne(*queue);  // skips the bad chain
  ASSERT_TRUE(request.has_value());
  EXPECT_EQ(request->head(), 3);
  EXPECT_EQ(ring_.UsedIdx(), 1);
  EXPECT_EQ(ring_.Used(0).id, 1u);
  EXPECT_EQ(ring_.Used(0).len, 0u);
  EXPECT_FALSE(queue->broken());
}

TEST_F(VirtqueueTest, AvailIndexJumpBreaksQueue) {
  auto queue = Create();
  ring_.SetAvailIdx(9);  // 9 new chains in a queue of 8
  EXPECT_FALSE(queue->Pop(ring_.memory()).ok());
  EXPECT_TRUE(queue->broken());
  EXPECT_EQ(Drain(err_), 1u);
  ring_.SetAvailIdx(1);
  EXPECT_FALSE(queue->Pop(ring_.memory()).ok());  // stays broken
}

TEST_F(VirtqueueTest, HeadOutOfRangeBreaksQueue) {
  auto queue = Create();
  ring_.AddAvail(8);
  ring_.PublishAvail();
  EXPECT_FALSE(queue->Pop(ring_.memory()).ok());
  EXPECT_TRUE(queue->broken());
}

TEST_F(VirtqueueTest, ResumesFromBaseAndWrapsIndices) {
  // A ring restarted at avail index 65534 (SET_VRING_BASE) with the used
  // index where the guest left it.
  ring_.SetAvailIdx(65534);
  auto queue = Create(65534);
  for (uint16_t head : {0, 1, 2, 3}) PostChain(head);
  ring_.PublishAvail();  // avail idx wraps to 2
  for (uint16_t head : {0, 1, 2, 3}) {
    auto request = PopOne(*queue);
    ASSERT_TRUE(request.has_value());
    EXPECT_EQ(request->head(), head);
  }
  EXPECT_EQ(queue->next_avail(), 2);
}

TEST_F(VirtqueueTest, EventIdxPublishesAvailEventAndSuppressesInterrupts) {
  auto queue = Create(0, /*event_idx=*/true);
  PostChain(0);
  PostChain(1);
  ring_.PublishAvail();
  auto first = PopOne(*queue);
  auto second = PopOne(*queue);
  EXPECT_FALSE(queue->EnableNotificationsAndCheck());
  EXPECT_EQ(ring_.AvailEvent(), 2);  // kick me when avail idx passes 2
  PostChain(2);
  ring_.PublishAvail();
  EXPECT_TRUE(queue->EnableNotificationsAndCheck());  // arrived meanwhile

  // The guest wants an interrupt only once used idx passes 1.
  ring_.SetUsedEvent(1);
  first->Complete(1);  // used idx 0 -> 1: first decision always signals
  EXPECT_EQ(Drain(call_), 1u);
  ring_.SetUsedEvent(5);
  second->Complete(1);  // 1 -> 2 does not cross 5
  EXPECT_EQ(Drain(call_), 0u);
  auto third = PopOne(*queue);
  ring_.SetUsedEvent(2);
  third->Complete(1);  // 2 -> 3 crosses 2
  EXPECT_EQ(Drain(call_), 1u);
}

TEST_F(VirtqueueTest, NoInterruptFlagWithoutEventIdx) {
  auto queue = Create();
  PostChain(0);
  PostChain(1);
  ring_.PublishAvail();
  auto first = PopOne(*queue);
  auto second = PopOne(*queue);
  ring_.SetAvailFlags(virtio::kAvailFNoInterrupt);
  first->Complete(0);
  EXPECT_EQ(Drain(call_), 0u);
  ring_.SetAvailFlags(0);
  second->Complete(0);
  EXPECT_EQ(Drain(call_), 1u);
}

TEST_F(VirtqueueTest, BatchPublishesOnceAtEnd) {
  auto queue = Create();
  for (uint16_t head : {0, 1, 2}) PostChain(head);
  ring_.PublishAvail();
  queue->BeginBatch();
  for (int i = 0; i < 3; ++i) PopOne(*queue)->Complete(4);
  EXPECT_EQ(ring_.UsedIdx(), 0);  // elements written, index not yet published
  queue->EndBatch();
  EXPECT_EQ(ring_.UsedIdx(), 3);
  EXPECT_EQ(Drain(call_), 1u);  // one interrupt for the batch
}

TEST_F(VirtqueueTest, CompletionBatchPublishesOnceWhenItEnds) {
  auto queue = Create();
  for (uint16_t head : {0, 1, 2}) PostChain(head);
  ring_.PublishAvail();
  std::vector<QueueRequest> requests;
  for (int i = 0; i < 3; ++i) requests.push_back(std::move(*PopOne(*queue)));
  {
    CompletionBatch batch;
    {
      CompletionBatch inner;  // nested: adds nothing
      requests[0].Complete(4);
    }
    requests[1].Complete(4);
    EXPECT_EQ(ring_.UsedIdx(), 0);  // written, not yet published
    EXPECT_EQ(queue->in_flight(), 3u);  // unpublished chains are still in flight
    EXPECT_EQ(Drain(call_), 0u);
  }
  EXPECT_EQ(ring_.UsedIdx(), 2);
  EXPECT_EQ(queue->in_flight(), 1u);
  EXPECT_EQ(Drain(call_), 1u);  // one interrupt for the batch
  requests[2].Complete(4);      // no batch: published at once
  EXPECT_EQ(ring_.UsedIdx(), 3);
  EXPECT_EQ(Drain(call_), 1u);
  EXPECT_EQ(queue->in_flight(), 0u);
}

TEST_F(VirtqueueTest, OtherThreadsPublicationCoversDeferredElements) {
  auto queue = Create();
  for (uint16_t head : {0, 1}) PostChain(head);
  ring_.PublishAvail();
  std::optional<QueueRequest> first = PopOne(*queue);
  std::optional<QueueRequest> second = PopOne(*queue);
  {
    CompletionBatch batch;
    first->Complete(4);
    // Another thread, outside any batch, publishes both: the deferred
    // element is not held back behind the batch.
    std::thread([&] { second->Complete(4); }).join();
    EXPECT_EQ(ring_.UsedIdx(), 2);
    EXPECT_EQ(queue->in_flight(), 0u);
  }
  EXPECT_EQ(ring_.UsedIdx(), 2);
  EXPECT_EQ(Drain(call_), 1u);  // the batch's end had nothing left to signal
}

TEST_F(VirtqueueTest, WorkerBatchPublishesDeferredElements) {
  auto queue = Create();
  PostChain(0);
  ring_.PublishAvail();
  std::optional<QueueRequest> request = PopOne(*queue);
  queue->BeginBatch();
  {
    CompletionBatch batch;
    request->Complete(4);
  }
  EXPECT_EQ(ring_.UsedIdx(), 0);  // the worker's batch is still open
  queue->EndBatch();
  EXPECT_EQ(ring_.UsedIdx(), 1);
  EXPECT_EQ(queue->in_flight(), 0u);
}

TEST_F(VirtqueueTest, CallFdCanBeReplacedAndRemoved) {
  auto queue = Create();
  SharedEventFd other = MakeEventFd();
  queue->SetCallFd(other);
  PostChain(0);
  PostChain(1);
  ring_.PublishAvail();
  PopOne(*queue)->Complete(0);
  EXPECT_EQ(Drain(other), 1u);
  EXPECT_EQ(Drain(call_), 0u);
  queue->SetCallFd(nullptr);
  PopOne(*queue)->Complete(0);  // no notifier: nothing to signal, no crash
  EXPECT_EQ(ring_.UsedIdx(), 2);
}

TEST_F(VirtqueueTest, NewCallFdIsSignalledIfCompletionsWentToTheOldOne) {
  auto queue = Create();
  PostChain(0);
  ring_.PublishAvail();
  PopOne(*queue)->Complete(0);
  EXPECT_EQ(Drain(call_), 1u);  // went to the (masked) old notifier
  SharedEventFd guest = MakeEventFd();
  queue->SetCallFd(guest);
  EXPECT_EQ(Drain(guest), 1u);  // so the new one hears about it too
}

class LargeVirtqueueTest : public VirtqueueTest {
 protected:
  LargeVirtqueueTest() : VirtqueueTest(256) {}
};

TEST_F(LargeVirtqueueTest, ConcurrentCompletionsInAnyOrder) {
  auto queue = Create();
  constexpr int kChains = 128;
  for (uint16_t head = 0; head < kChains; ++head) PostChain(head);
  ring_.PublishAvail();
  std::vector<QueueRequest> requests;
  for (int i = 0; i < kChains; ++i) requests.push_back(std::move(*PopOne(*queue)));
  // Complete from 4 threads, each in reverse order of its share.
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = kChains - 1 - t; i >= 0; i -= 4) requests[i].Complete(requests[i].head());
    });
  }
  std::thread waiter([&] { queue->WaitIdle(); });
  for (auto& thread : threads) thread.join();
  waiter.join();
  EXPECT_EQ(queue->in_flight(), 0u);
  ASSERT_EQ(ring_.UsedIdx(), kChains);
  std::set<uint32_t> ids;
  for (int i = 0; i < kChains; ++i) {
    virtio::UsedElement elem = ring_.Used(i);
    EXPECT_EQ(elem.len, std::min<uint32_t>(elem.id, 64));
    ids.insert(elem.id);
  }
  EXPECT_EQ(ids.size(), static_cast<size_t>(kChains));
}

}  // namespace
}  // namespace vfsd
