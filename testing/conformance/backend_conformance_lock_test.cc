// Conformance tests for file locks (GETLK, SETLK, SETLKW, flock) as FUSE
// defines them: POSIX locks belong to the request's lock owner (one per
// guest process), not to the handle; FLUSH with an owner drops that owner's
// locks on the file (the guest's close); SETLKW completes once the lock is
// granted, possibly later and from another thread, and is answered (EINTR)
// when its handle is released or the session ends rather than left waiting.
// Same fixture as backend_conformance_test.cc.
#include <fcntl.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>

#include "backends/errno_status.h"
#include "testing/conformance/backend_conformance_test.h"
#include "testing/conformance/expect_errno.h"
#include "testing/conformance/tsan_notification.h"

namespace vfsd {
namespace {

constexpr uint64_t kOwnerA = 0x1111;
constexpr uint64_t kOwnerB = 0x2222;
constexpr std::chrono::seconds kDeadline{30};  // only a hang gets near it

using Notification = TsanNotification;


// A lock request that may complete later, on another thread.
struct PendingLock {
  Notification done;
  absl::Status status = absl::UnknownError("not completed");
};

class LockCalls {
 public:
  LockCalls(Backend& backend, NodeId node) : backend_(backend), node_(node) {}

  absl::Status Set(HandleId h, uint64_t owner, uint32_t type, uint64_t start = 0,
                   uint64_t end = UINT64_MAX, bool flock = false) {
    std::shared_ptr<PendingLock> p = Start(h, owner, type, start, end, /*wait=*/false, flock);
    if (!p->done.WaitForNotificationWithTimeout(kDeadline)) {
      return absl::DeadlineExceededError("SETLK never completed");
    }
    return p->status;
  }
  // SETLKW (or a blocking flock).
  std::shared_ptr<PendingLock> SetWait(HandleId h, uint64_t owner, uint32_t type,
                                       uint64_t start = 0, uint64_t end = UINT64_MAX,
                                       bool flock = false) {
    return Start(h, owner, type, start, end, /*wait=*/true, flock);
  }
  absl::StatusOr<FileLock> Get(HandleId h, uint64_t owner, uint32_t type, uint64_t start = 0,
                               uint64_t end = UINT64_MAX) {
    auto done = std::make_shared<Notification>();
    auto result = std::make_shared<absl::StatusOr<FileLock>>(absl::UnknownError(""));
    backend_.GetLk({}, node_, h, owner, FileLock{start, end, type, 0},
                   [done, result](absl::StatusOr<FileLock> lock) {
                     *result = std::move(lock);
                     done->Notify();
                   });
    if (!done->WaitForNotificationWithTimeout(kDeadline)) {
      return absl::DeadlineExceededError("GETLK never completed");
    }
    return *result;
  }
  absl::Status Flush(HandleId h, uint64_t owner) {
    return Status([&](DoneStatus d) { backend_.Flush({}, node_, h, owner, std::move(d)); });
  }
  absl::Status Release(HandleId h, std::optional<uint64_t> owner, bool release_flock) {
    return Status([&](DoneStatus d) {
      backend_.Release({}, node_, h, O_RDWR, owner, release_flock, std::move(d));
    });
  }

 private:
  std::shared_ptr<PendingLock> Start(HandleId h, uint64_t owner, uint32_t type, uint64_t start,
                                     uint64_t end, bool wait, bool flock) {
    auto p = std::make_shared<PendingLock>();
    backend_.SetLk({}, node_, h, owner, FileLock{start, end, type, 0}, wait, flock,
                   [p](absl::Status s) {
                     p->status = std::move(s);
                     p->done.Notify();
                   });
    return p;
  }
  template <typename F>
  absl::Status Status(F call) {
    auto p = std::make_shared<PendingLock>();
    call([p](absl::Status s) {
      p->status = std::move(s);
      p->done.Notify();
    });
    if (!p->done.WaitForNotificationWithTimeout(kDeadline)) {
      return absl::DeadlineExceededError("never completed");
    }
    return p->status;
  }

  Backend& backend_;
  NodeId node_;
};

class LockFixture {
 public:
  // Creates file "f" and opens it twice.
  static std::optional<LockFixture> Make(SyncBackend& fs) {
    absl::StatusOr<CreateResult> f = fs.Create(kRootNodeId, "f", 0644, O_RDWR);
    EXPECT_TRUE(f.ok()) << f.status();
    if (!f.ok()) return std::nullopt;
    absl::StatusOr<OpenResult> h2 = fs.Open(f->entry.node, O_RDWR);
    EXPECT_TRUE(h2.ok()) << h2.status();
    if (!h2.ok()) return std::nullopt;
    return LockFixture{f->entry.node, f->open.handle, h2->handle};
  }
  NodeId node;
  HandleId h1;
  HandleId h2;
};

TEST_P(BackendConformanceTest, PosixLocksBelongToTheLockOwner) {
  std::optional<LockFixture> f = LockFixture::Make(*fs_);
  ASSERT_TRUE(f.has_value());
  LockCalls lk(fs_->backend(), f->node);
  ASSERT_TRUE(lk.Set(f->h1, kOwnerA, F_WRLCK, 0, 99).ok());
  // One process, two fds: never a conflict.
  EXPECT_TRUE(lk.Set(f->h2, kOwnerA, F_WRLCK, 50, 149).ok());
  // Two processes, even through one shared handle (fork): a conflict.
  EXPECT_ERRNO(lk.Set(f->h1, kOwnerB, F_RDLCK, 0, 0), EAGAIN);
  EXPECT_ERRNO(lk.Set(f->h2, kOwnerB, F_WRLCK, 149, 149), EAGAIN);
  EXPECT_TRUE(lk.Set(f->h2, kOwnerB, F_WRLCK, 150, 150).ok());
  // Unlocking a middle piece splits the owner's lock.
  ASSERT_TRUE(lk.Set(f->h1, kOwnerA, F_UNLCK, 10, 19).ok());
  EXPECT_TRUE(lk.Set(f->h1, kOwnerB, F_WRLCK, 10, 19).ok());
  EXPECT_ERRNO(lk.Set(f->h1, kOwnerB, F_WRLCK, 9, 9), EAGAIN);
  EXPECT_ERRNO(lk.Set(f->h1, kOwnerB, F_WRLCK, 20, 20), EAGAIN);
  EXPECT_ERRNO(lk.Set(f->h1, kOwnerA, 77), EINVAL);
  EXPECT_ERRNO(lk.Set(f->h1, kOwnerA, F_WRLCK, 20, 10), EINVAL);
}

TEST_P(BackendConformanceTest, GetLkReportsOnlyOtherOwnersLocks) {
  std::optional<LockFixture> f = LockFixture::Make(*fs_);
  ASSERT_TRUE(f.has_value());
  LockCalls lk(fs_->backend(), f->node);
  ASSERT_TRUE(lk.Set(f->h1, kOwnerA, F_WRLCK, 100, 199).ok());
  absl::StatusOr<FileLock> other = lk.Get(f->h2, kOwnerB, F_RDLCK);
  ASSERT_TRUE(other.ok()) << other.status();
  EXPECT_EQ(other->type, static_cast<uint32_t>(F_WRLCK));
  EXPECT_EQ(other->start, 100u);
  EXPECT_EQ(other->end, 199u);
  absl::StatusOr<FileLock> own = lk.Get(f->h2, kOwnerA, F_WRLCK);
  ASSERT_TRUE(own.ok()) << own.status();
  EXPECT_EQ(own->type, static_cast<uint32_t>(F_UNLCK));
  absl::StatusOr<FileLock> elsewhere = lk.Get(f->h2, kOwnerB, F_WRLCK, 0, 99);
  ASSERT_TRUE(elsewhere.ok());
  EXPECT_EQ(elsewhere->type, static_cast<uint32_t>(F_UNLCK));
}

TEST_P(BackendConformanceTest, FlushDropsTheClosingOwnersLocks) {
  std::optional<LockFixture> f = LockFixture::Make(*fs_);
  ASSERT_TRUE(f.has_value());
  LockCalls lk(fs_->backend(), f->node);
  ASSERT_TRUE(lk.Set(f->h1, kOwnerA, F_WRLCK, 0, 9).ok());
  ASSERT_TRUE(lk.Set(f->h1, kOwnerB, F_WRLCK, 10, 19).ok());
  // A closes its other fd of the file: all of A's locks on it go.
  ASSERT_TRUE(lk.Flush(f->h2, kOwnerA).ok());
  EXPECT_TRUE(lk.Set(f->h2, 0x3333, F_WRLCK, 0, 9).ok());
  EXPECT_ERRNO(lk.Set(f->h2, 0x3333, F_WRLCK, 10, 10), EAGAIN);  // B's stays
}

TEST_P(BackendConformanceTest, SetLkwCompletesWhenTheLockIsFreed) {
  std::optional<LockFixture> f = LockFixture::Make(*fs_);
  ASSERT_TRUE(f.has_value());
  LockCalls lk(fs_->backend(), f->node);
  ASSERT_TRUE(lk.Set(f->h1, kOwnerA, F_WRLCK).ok());
  std::shared_ptr<PendingLock> waiting = lk.SetWait(f->h2, kOwnerB, F_WRLCK, 0, 0);
  EXPECT_FALSE(waiting->done.HasBeenNotified());
  ASSERT_TRUE(lk.Set(f->h1, kOwnerA, F_UNLCK).ok());
  ASSERT_TRUE(waiting->done.WaitForNotificationWithTimeout(kDeadline));
  EXPECT_TRUE(waiting->status.ok()) << waiting->status;
  EXPECT_ERRNO(lk.Set(f->h1, kOwnerA, F_RDLCK, 0, 0), EAGAIN);
}

TEST_P(BackendConformanceTest, SetLkwIsAnsweredWhenItsHandleGoesOrTheSessionEnds) {
  std::optional<LockFixture> f = LockFixture::Make(*fs_);
  ASSERT_TRUE(f.has_value());
  LockCalls lk(fs_->backend(), f->node);
  ASSERT_TRUE(lk.Set(f->h1, kOwnerA, F_WRLCK).ok());
  std::shared_ptr<PendingLock> on_release = lk.SetWait(f->h2, kOwnerB, F_WRLCK, 0, 0);
  ASSERT_TRUE(lk.Release(f->h2, kOwnerB, false).ok());
  ASSERT_TRUE(on_release->done.WaitForNotificationWithTimeout(kDeadline));
  EXPECT_ERRNO(on_release->status, EINTR);
  std::shared_ptr<PendingLock> on_destroy = lk.SetWait(f->h1, 0x3333, F_RDLCK, 0, 0);
  EXPECT_FALSE(on_destroy->done.HasBeenNotified());
  fs_->backend().Destroy();
  ASSERT_TRUE(on_destroy->done.WaitForNotificationWithTimeout(kDeadline));
  EXPECT_ERRNO(on_destroy->status, EINTR);
}

TEST_P(BackendConformanceTest, FlockBelongsToTheOpenFile) {
  std::optional<LockFixture> f = LockFixture::Make(*fs_);
  ASSERT_TRUE(f.has_value());
  LockCalls lk(fs_->backend(), f->node);
  ASSERT_TRUE(lk.Set(f->h1, kOwnerA, F_WRLCK, 0, UINT64_MAX, /*flock=*/true).ok());
  // Another open file conflicts, whoever asks.
  EXPECT_ERRNO(lk.Set(f->h2, kOwnerA, F_RDLCK, 0, UINT64_MAX, true), EAGAIN);
  std::shared_ptr<PendingLock> waiting =
      lk.SetWait(f->h2, kOwnerB, F_RDLCK, 0, UINT64_MAX, /*flock=*/true);
  EXPECT_FALSE(waiting->done.HasBeenNotified());
  // Releasing the holder's handle (with FUSE_RELEASE_FLOCK_UNLOCK) frees it.
  ASSERT_TRUE(lk.Release(f->h1, std::nullopt, /*release_flock=*/true).ok());
  ASSERT_TRUE(waiting->done.WaitForNotificationWithTimeout(kDeadline));
  EXPECT_TRUE(waiting->status.ok()) << waiting->status;
}

}  // namespace
}  // namespace vfsd
