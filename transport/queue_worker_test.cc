// QueueWorker: kick-driven serving, and adaptive polling (the window's
// growth and collapse, requests served without a kick while it is open,
// notifications left suppressed meanwhile, Stop() ending a window early).
#include "transport/queue_worker.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "gtest/gtest.h"
#include "transport/testing_ring.h"
#include "transport/virtio_ring.h"
#include "transport/virtqueue.h"

namespace vfsd {
namespace {

TEST(AdaptivePollWindowTest, OffStaysOff) {
  AdaptivePollWindow window(0);
  window.Update(100);
  EXPECT_EQ(window.window_ns(), 0u);
}

TEST(AdaptivePollWindowTest, GrowsWhileRequestsComeWithinTheMaximum) {
  AdaptivePollWindow window(32000);
  window.Update(10000);  // a short sleep: a window would have caught it
  EXPECT_EQ(window.window_ns(), AdaptivePollWindow::kInitialNs);
  window.Update(10000);
  EXPECT_EQ(window.window_ns(), 8000u);
  window.Update(5000);  // caught by the window: no change
  EXPECT_EQ(window.window_ns(), 8000u);
  window.Update(20000);
  EXPECT_EQ(window.window_ns(), 16000u);
  window.Update(20000);
  EXPECT_EQ(window.window_ns(), 32000u);
  window.Update(31000);  // capped
  EXPECT_EQ(window.window_ns(), 32000u);
}

TEST(AdaptivePollWindowTest, AnIdleGapStopsPolling) {
  AdaptivePollWindow window(32000);
  for (int i = 0; i < 5; ++i) window.Update(20000);
  EXPECT_EQ(window.window_ns(), 32000u);
  window.Update(5'000'000);  // the guest went quiet for 5 ms
  EXPECT_EQ(window.window_ns(), 0u);
}

TEST(AdaptivePollWindowTest, InitialWindowNeverExceedsTheMaximum) {
  AdaptivePollWindow window(1000);
  window.Update(500);
  EXPECT_EQ(window.window_ns(), 1000u);
}

// Completes every chain at once, counting them.
class CountingHandler : public RequestHandler {
 public:
  void HandleRequest(QueueRequest request) override {
    request.Complete(0);
    served_.fetch_add(1, std::memory_order_release);
  }
  int served() const { return served_.load(std::memory_order_acquire); }

 private:
  std::atomic<int> served_{0};
};

class QueueWorkerTest : public ::testing::Test {
 protected:
  QueueWorkerTest() : ring_(64), kick_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
    memory_.Store(ring_.memory());
    auto queue = Virtqueue::Create(ring_.Config(0, /*event_idx=*/true), ring_.memory());
    EXPECT_TRUE(queue.ok()) << queue.status();
    queue_ = *queue;
  }
  ~QueueWorkerTest() override {
    if (worker_) worker_->Stop();
    close(kick_);
  }

  void StartWorker(uint64_t poll_max_ns) {
    auto worker = QueueWorker::Start(queue_, kick_, &memory_, &handler_, {poll_max_ns});
    ASSERT_TRUE(worker.ok()) << worker.status();
    worker_ = *std::move(worker);
  }

  // One readable descriptor per request; the head is its slot.
  void AddRequest() {
    const uint16_t head = static_cast<uint16_t>(added_ % ring_.size());
    ring_.SetDesc(head, TestRing::kDataGpa + 64u * head, 64, 0);
    ring_.AddAvail(head);
    ring_.PublishAvail();
    ++added_;
  }
  void Kick() {
    const uint64_t one = 1;
    ASSERT_EQ(write(kick_, &one, sizeof(one)), static_cast<ssize_t>(sizeof(one)));
  }
  // Waits (up to `limit`) until `n` requests were served.
  bool WaitServed(int n, std::chrono::milliseconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (handler_.served() < n) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
    return true;
  }

  // Plays a guest that kicks once per request and then waits for the worker
  // to give up polling and re-arm notifications: each wait was short of the
  // maximum, so the window doubles every round. Stops once a window of at
  // least `at_least` was seen (from the completion to the re-arm), then
  // sends one more kicked request: the window is then at least twice that,
  // and the worker is polling when this returns.
  bool GrowWindowTo(std::chrono::milliseconds at_least) {
    for (int round = 0; round < 40; ++round) {
      AddRequest();
      Kick();
      if (!WaitServed(added_, std::chrono::seconds(10))) return false;
      const auto served_at = std::chrono::steady_clock::now();
      while (ring_.AvailEvent() != added_) {
        if (std::chrono::steady_clock::now() - served_at > std::chrono::seconds(30)) return false;
        std::this_thread::sleep_for(std::chrono::microseconds(100));
      }
      if (std::chrono::steady_clock::now() - served_at >= at_least) {
        AddRequest();
        Kick();
        return WaitServed(added_, std::chrono::seconds(10));
      }
    }
    return false;
  }

  TestRing ring_;
  int kick_;
  GuestMemoryHolder memory_;
  std::shared_ptr<Virtqueue> queue_;
  CountingHandler handler_;
  std::unique_ptr<QueueWorker> worker_;
  int added_ = 0;
};

TEST_F(QueueWorkerTest, WithoutPollingOnlyAKickWakesTheWorker) {
  StartWorker(0);
  AddRequest();
  Kick();
  ASSERT_TRUE(WaitServed(1, std::chrono::seconds(10)));
  // The worker re-armed notifications (avail_event = next chain) and sleeps.
  for (int i = 0; i < 1000 && ring_.AvailEvent() != 1; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_EQ(ring_.AvailEvent(), 1);
  // After writing avail_event the worker checks the ring once more (a chain
  // added now would rightly be served without a kick); give it time to get
  // past that check and into poll().
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  AddRequest();  // no kick
  EXPECT_FALSE(WaitServed(2, std::chrono::milliseconds(100)));
  Kick();
  EXPECT_TRUE(WaitServed(2, std::chrono::seconds(10)));
}

TEST_F(QueueWorkerTest, AnOpenWindowServesRequestsWithoutAKick) {
  StartWorker(10'000'000'000ull);  // 10 s: the window never collapses here
  ASSERT_TRUE(GrowWindowTo(std::chrono::milliseconds(16)));
  // The worker polls for at least 32 ms now, and has not asked for a kick.
  const uint16_t avail_event = ring_.AvailEvent();
  AddRequest();  // no kick
  EXPECT_TRUE(WaitServed(added_, std::chrono::seconds(5)));
  EXPECT_EQ(ring_.AvailEvent(), avail_event);
  EXPECT_EQ(ring_.UsedIdx(), added_);
}

TEST_F(QueueWorkerTest, StopEndsAnOpenWindow) {
  StartWorker(3'600'000'000'000ull);  // an hour
  ASSERT_TRUE(GrowWindowTo(std::chrono::milliseconds(500)));
  // Polling for at least a second now; Stop must not wait for it.
  const auto start = std::chrono::steady_clock::now();
  worker_->Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(500));
  worker_.reset();
}

}  // namespace
}  // namespace vfsd
