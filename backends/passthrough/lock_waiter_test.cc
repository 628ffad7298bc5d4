#include "backends/passthrough/lock_waiter.h"

#include <atomic>
#include <cerrno>

#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace vfsd {
namespace {

// Generous: only a broken waiter takes this long.
constexpr absl::Duration kDeadline = absl::Seconds(30);

struct Result {
  absl::Notification done;
  std::atomic<int> err{-1};
};

LockWaiter::Finish Record(Result& r) {
  return [&r](int err) {
    r.err = err;
    r.done.Notify();
  };
}

TEST(LockWaiterTest, GrantedWhenTheAttemptSucceeds) {
  LockWaiter waiter;
  std::atomic<bool> free{false};
  std::atomic<int> attempts{0};
  Result r;
  waiter.Add({2, 7, 1, false},
             [&] {
               ++attempts;
               return free ? 0 : EAGAIN;
             },
             Record(r));
  EXPECT_EQ(waiter.waiting(), 1u);
  EXPECT_FALSE(r.done.HasBeenNotified());
  free = true;
  waiter.Kick();
  ASSERT_TRUE(r.done.WaitForNotificationWithTimeout(kDeadline));
  EXPECT_EQ(r.err, 0);
  EXPECT_GE(attempts, 1);
  EXPECT_EQ(waiter.waiting(), 0u);
}

TEST(LockWaiterTest, RetriesWithoutAKick) {
  // A lock held by a host process is released without telling us.
  LockWaiter waiter;
  std::atomic<int> attempts{0};
  Result r;
  waiter.Add({2, 7, 1, false}, [&] { return ++attempts >= 3 ? 0 : EAGAIN; }, Record(r));
  ASSERT_TRUE(r.done.WaitForNotificationWithTimeout(kDeadline));
  EXPECT_EQ(r.err, 0);
  EXPECT_EQ(attempts, 3);
}

TEST(LockWaiterTest, OtherErrorsFailTheRequest) {
  LockWaiter waiter;
  Result r;
  waiter.Add({2, 7, 1, false}, [] { return EBADF; }, Record(r));
  ASSERT_TRUE(r.done.WaitForNotificationWithTimeout(kDeadline));
  EXPECT_EQ(r.err, EBADF);
}

TEST(LockWaiterTest, CancellationMatchesOwnerHandleNode) {
  LockWaiter waiter;
  Result posix_a, posix_b, flock_h, other_node;
  auto never = [] { return EAGAIN; };
  waiter.Add({2, 7, 1, false}, never, Record(posix_a));
  waiter.Add({2, 8, 1, false}, never, Record(posix_b));
  waiter.Add({2, 7, 5, true}, never, Record(flock_h));
  waiter.Add({3, 7, 6, false}, never, Record(other_node));
  EXPECT_EQ(waiter.waiting(), 4u);

  waiter.CancelOwner(2, 7);  // POSIX waits of owner 7 on node 2 only
  ASSERT_TRUE(posix_a.done.HasBeenNotified());
  EXPECT_EQ(posix_a.err, EINTR);
  EXPECT_FALSE(flock_h.done.HasBeenNotified());
  EXPECT_FALSE(posix_b.done.HasBeenNotified());

  waiter.CancelHandle(5);
  ASSERT_TRUE(flock_h.done.HasBeenNotified());
  EXPECT_EQ(flock_h.err, EINTR);

  waiter.CancelNode(2);
  ASSERT_TRUE(posix_b.done.HasBeenNotified());
  EXPECT_FALSE(other_node.done.HasBeenNotified());

  waiter.CancelAll();
  ASSERT_TRUE(other_node.done.HasBeenNotified());
  EXPECT_EQ(other_node.err, EINTR);
  EXPECT_EQ(waiter.waiting(), 0u);
}

TEST(LockWaiterTest, BoundAnswersEnolck) {
  LockWaiter waiter(/*max_waits=*/2);
  Result a, b, c;
  auto never = [] { return EAGAIN; };
  waiter.Add({2, 1, 1, false}, never, Record(a));
  waiter.Add({2, 2, 1, false}, never, Record(b));
  waiter.Add({2, 3, 1, false}, never, Record(c));
  ASSERT_TRUE(c.done.HasBeenNotified());  // answered at once
  EXPECT_EQ(c.err, ENOLCK);
  EXPECT_EQ(waiter.waiting(), 2u);
  waiter.CancelAll();
  EXPECT_EQ(a.err, EINTR);
  EXPECT_EQ(b.err, EINTR);
}

TEST(LockWaiterTest, DestructionCancelsWaits) {
  Result r;
  {
    LockWaiter waiter;
    waiter.Add({2, 7, 1, false}, [] { return EAGAIN; }, Record(r));
  }
  ASSERT_TRUE(r.done.HasBeenNotified());
  EXPECT_EQ(r.err, EINTR);
}

TEST(LockWaiterTest, FinishMayCallBackIn) {
  LockWaiter waiter;
  Result second;
  absl::Notification first_done;
  std::atomic<bool> free{false};
  waiter.Add({2, 7, 1, false}, [&] { return free ? 0 : EAGAIN; },
             [&](int err) {
               // A completion that frees a lock for another wait.
               waiter.Kick();
               first_done.Notify();
             });
  waiter.Add({2, 8, 1, false}, [&] { return first_done.HasBeenNotified() ? 0 : EAGAIN; },
             Record(second));
  free = true;
  waiter.Kick();
  ASSERT_TRUE(second.done.WaitForNotificationWithTimeout(kDeadline));
  EXPECT_EQ(second.err, 0);
}

}  // namespace
}  // namespace vfsd
