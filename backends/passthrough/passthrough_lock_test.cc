// PassthroughBackend's locks: POSIX locks owned by the guest's lock owner
// (not the handle), FLUSH/RELEASE dropping them, SETLKW completing from the
// waiter thread, its cancellation and bound, and blocking flock.
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "backends/errno_status.h"
#include "backends/passthrough/lock_waiter.h"
#include "backends/passthrough/passthrough_backend.h"
#include "gtest/gtest.h"
#include "testing/conformance/expect_errno.h"
#include "testing/conformance/tsan_notification.h"
#include "testing/conformance/host_tree.h"
#include "testing/conformance/sync_backend.h"

namespace vfsd {
namespace {

constexpr std::chrono::seconds kDeadline{30};  // only a hang gets near it

using Notification = TsanNotification;

constexpr uint64_t kOwnerA = 0xa;
constexpr uint64_t kOwnerB = 0xb;

// A request that may complete later, on another thread.
struct Pending {
  Notification done;
  absl::Status status = absl::UnknownError("not completed");
  bool Wait() { return done.WaitForNotificationWithTimeout(kDeadline); }
};

class PassthroughLockTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<TempShare> share = TempShare::Create();
    ASSERT_TRUE(share.ok()) << share.status();
    share_ = std::make_unique<TempShare>(*std::move(share));
    ASSERT_TRUE(CreateHostTree(share_->path(), {TreeItem::File("f", "data")}).ok());
    MakeBackend(/*readonly=*/false);
  }

  void MakeBackend(bool readonly) {
    BackendConfig config;
    config.shared_dir = share_->path();
    config.readonly = readonly;
    fs_.reset();
    backend_.reset();
    absl::StatusOr<std::unique_ptr<Backend>> backend = PassthroughBackend::Create(config);
    ASSERT_TRUE(backend.ok()) << backend.status();
    backend_ = *std::move(backend);
    pt_ = static_cast<PassthroughBackend*>(backend_.get());
    fs_ = std::make_unique<SyncBackend>(*backend_);
    absl::StatusOr<Entry> f = fs_->Lookup(kRootNodeId, "f");
    ASSERT_TRUE(f.ok()) << f.status();
    f_ = f->node;
  }

  HandleId OpenF(uint32_t flags = O_RDWR) {
    absl::StatusOr<OpenResult> h = fs_->Open(f_, flags);
    EXPECT_TRUE(h.ok()) << h.status();
    return h.ok() ? h->handle : 0;
  }

  // SETLK, completing inline (a non-blocking request always does).
  absl::Status Lock(HandleId h, uint64_t owner, uint32_t type, uint64_t start = 0,
                    uint64_t end = UINT64_MAX, uint32_t pid = 0) {
    absl::Status result = absl::UnknownError("not completed");
    backend_->SetLk({}, f_, h, owner, FileLock{start, end, type, pid}, /*wait=*/false,
                    /*flock=*/false, [&](absl::Status s) { result = s; });
    return result;
  }
  // SETLKW (or blocking flock): may complete later.
  std::unique_ptr<Pending> LockWait(HandleId h, uint64_t owner, uint32_t type,
                                    uint64_t start = 0, uint64_t end = UINT64_MAX,
                                    bool flock = false) {
    auto pending = std::make_unique<Pending>();
    Pending* p = pending.get();
    backend_->SetLk({}, f_, h, owner, FileLock{start, end, type, 0}, /*wait=*/true, flock,
                    [p](absl::Status s) {
                      p->status = s;
                      p->done.Notify();
                    });
    return pending;
  }
  absl::Status Flock(HandleId h, uint32_t type) {
    absl::Status result = absl::UnknownError("not completed");
    backend_->SetLk({}, f_, h, 0, FileLock{0, UINT64_MAX, type, 0}, false, /*flock=*/true,
                    [&](absl::Status s) { result = s; });
    return result;
  }
  absl::StatusOr<FileLock> GetLk(HandleId h, uint64_t owner, uint32_t type, uint64_t start = 0,
                                 uint64_t end = UINT64_MAX) {
    absl::StatusOr<FileLock> result = absl::UnknownError("not completed");
    backend_->GetLk({}, f_, h, owner, FileLock{start, end, type, 0},
                    [&](absl::StatusOr<FileLock> s) { result = s; });
    return result;
  }
  absl::Status Flush(HandleId h, uint64_t owner) {
    absl::Status result = absl::UnknownError("not completed");
    backend_->Flush({}, f_, h, owner, [&](absl::Status s) { result = s; });
    return result;
  }
  absl::Status Release(HandleId h, std::optional<uint64_t> owner = std::nullopt,
                       bool release_flock = false) {
    absl::Status result = absl::UnknownError("not completed");
    backend_->Release({}, f_, h, O_RDWR, owner, release_flock,
                      [&](absl::Status s) { result = s; });
    return result;
  }

  std::unique_ptr<TempShare> share_;
  std::unique_ptr<Backend> backend_;
  PassthroughBackend* pt_ = nullptr;
  std::unique_ptr<SyncBackend> fs_;
  NodeId f_ = 0;
};

TEST_F(PassthroughLockTest, OwnersConflictHandlesDoNot) {
  const HandleId h1 = OpenF();
  const HandleId h2 = OpenF();
  ASSERT_TRUE(Lock(h1, kOwnerA, F_WRLCK, 0, 99).ok());
  // The same process through another fd (handle): its own lock, no conflict.
  EXPECT_TRUE(Lock(h2, kOwnerA, F_WRLCK, 50, 149).ok());
  // Another process, whichever handle it uses (a forked child shares h1).
  EXPECT_ERRNO(Lock(h1, kOwnerB, F_RDLCK, 10, 10), EAGAIN);
  EXPECT_ERRNO(Lock(h2, kOwnerB, F_WRLCK, 149, 149), EAGAIN);
  EXPECT_TRUE(Lock(h2, kOwnerB, F_WRLCK, 150, 150).ok());
  EXPECT_EQ(pt_->lock_owner_fd_count(), 2u);  // one fd per owner, not per handle
}

TEST_F(PassthroughLockTest, SameOwnerUpgradesDowngradesAndSplits) {
  const HandleId h = OpenF();
  ASSERT_TRUE(Lock(h, kOwnerA, F_RDLCK, 0, 99).ok());
  EXPECT_TRUE(Lock(h, kOwnerA, F_WRLCK, 0, 99).ok());   // upgrade in place
  EXPECT_TRUE(Lock(h, kOwnerA, F_RDLCK, 40, 59).ok());  // downgrade the middle
  EXPECT_TRUE(Lock(h, kOwnerB, F_RDLCK, 40, 59).ok());  // readers share it
  EXPECT_ERRNO(Lock(h, kOwnerB, F_RDLCK, 39, 40), EAGAIN);
  EXPECT_TRUE(Lock(h, kOwnerA, F_UNLCK, 0, 39).ok());   // split: 0-39 free
  EXPECT_TRUE(Lock(h, kOwnerB, F_WRLCK, 0, 39).ok());
  EXPECT_ERRNO(Lock(h, kOwnerB, F_WRLCK, 60, 60), EAGAIN);  // 60-99 still A's
}

TEST_F(PassthroughLockTest, GetLkReportsAnotherOwnersLock) {
  const HandleId h1 = OpenF();
  const HandleId h2 = OpenF();
  ASSERT_TRUE(Lock(h1, kOwnerA, F_WRLCK, 10, 19, /*pid=*/4242).ok());
  absl::StatusOr<FileLock> seen = GetLk(h2, kOwnerB, F_RDLCK);
  ASSERT_TRUE(seen.ok()) << seen.status();
  EXPECT_EQ(seen->type, static_cast<uint32_t>(F_WRLCK));
  EXPECT_EQ(seen->start, 10u);
  EXPECT_EQ(seen->end, 19u);
  EXPECT_EQ(seen->pid, 4242u);  // the guest pid that locked it
  // Only the caller's own lock overlaps: nothing conflicts.
  absl::StatusOr<FileLock> own = GetLk(h2, kOwnerA, F_WRLCK);
  ASSERT_TRUE(own.ok());
  EXPECT_EQ(own->type, static_cast<uint32_t>(F_UNLCK));
  // Outside the range: free for everyone.
  absl::StatusOr<FileLock> outside = GetLk(h2, kOwnerB, F_WRLCK, 20, 30);
  ASSERT_TRUE(outside.ok());
  EXPECT_EQ(outside->type, static_cast<uint32_t>(F_UNLCK));
  EXPECT_ERRNO(GetLk(h2, kOwnerB, F_UNLCK), EINVAL);
  // A read lock does not conflict with a GETLK for reading.
  ASSERT_TRUE(Lock(h1, kOwnerA, F_RDLCK, 10, 19).ok());
  absl::StatusOr<FileLock> read = GetLk(h2, kOwnerB, F_RDLCK);
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(read->type, static_cast<uint32_t>(F_UNLCK));
}

TEST_F(PassthroughLockTest, FlushDropsTheOwnersLocksOnTheFile) {
  const HandleId h1 = OpenF();
  const HandleId h2 = OpenF();
  ASSERT_TRUE(Lock(h1, kOwnerA, F_WRLCK, 0, 9).ok());
  ASSERT_TRUE(Lock(h2, kOwnerA, F_WRLCK, 20, 29).ok());
  ASSERT_TRUE(Lock(h2, kOwnerB, F_WRLCK, 40, 49).ok());
  // A closes a second fd (h2): all of A's locks go, as close(2) does; B's stay.
  ASSERT_TRUE(Flush(h2, kOwnerA).ok());
  EXPECT_TRUE(Lock(h1, 0xc, F_WRLCK, 0, 29).ok());
  EXPECT_ERRNO(Lock(h1, 0xc, F_WRLCK, 40, 40), EAGAIN);
  EXPECT_EQ(pt_->lock_owner_fd_count(), 2u);  // B and C
  // A FLUSH of an owner with no locks is harmless.
  EXPECT_TRUE(Flush(h1, 0xd).ok());
}

TEST_F(PassthroughLockTest, OwnerFdsGoWhenNothingIsHeld) {
  const HandleId h = OpenF();
  ASSERT_TRUE(Lock(h, kOwnerA, F_WRLCK, 0, 9).ok());
  ASSERT_TRUE(Lock(h, kOwnerA, F_WRLCK, 20, 29).ok());
  EXPECT_EQ(pt_->lock_owner_fd_count(), 1u);
  ASSERT_TRUE(Lock(h, kOwnerA, F_UNLCK, 0, 9).ok());
  EXPECT_EQ(pt_->lock_owner_fd_count(), 1u);
  ASSERT_TRUE(Lock(h, kOwnerA, F_UNLCK, 0, UINT64_MAX).ok());
  EXPECT_EQ(pt_->lock_owner_fd_count(), 0u);
  // Unlocking what was never locked, and a refused lock, leave nothing.
  EXPECT_TRUE(Lock(h, kOwnerB, F_UNLCK).ok());
  const HandleId h2 = OpenF();
  ASSERT_TRUE(Lock(h2, kOwnerA, F_WRLCK).ok());
  EXPECT_ERRNO(Lock(h, kOwnerB, F_WRLCK), EAGAIN);
  EXPECT_EQ(pt_->lock_owner_fd_count(), 1u);
  // Releasing the only handle an owner used drops it (its close was missed).
  ASSERT_TRUE(Release(h2).ok());
  EXPECT_EQ(pt_->lock_owner_fd_count(), 0u);
  EXPECT_TRUE(Lock(h, kOwnerB, F_WRLCK).ok());
  ASSERT_TRUE(Release(h, kOwnerB).ok());
  EXPECT_EQ(pt_->lock_owner_fd_count(), 0u);
}

TEST_F(PassthroughLockTest, InvalidLocksAndHandles) {
  const HandleId h = OpenF();
  EXPECT_ERRNO(Lock(h, kOwnerA, 99), EINVAL);
  EXPECT_ERRNO(Lock(h, kOwnerA, F_WRLCK, 20, 10), EINVAL);
  EXPECT_ERRNO(Lock(h, kOwnerA, F_WRLCK, uint64_t{1} << 63, UINT64_MAX), EINVAL);
  EXPECT_ERRNO(Lock(12345, kOwnerA, F_WRLCK), EBADF);
  EXPECT_ERRNO(GetLk(12345, kOwnerA, F_WRLCK), EBADF);
  EXPECT_EQ(pt_->lock_owner_fd_count(), 0u);
}

TEST_F(PassthroughLockTest, LockTypeNeedsTheHandlesAccessMode) {
  // As fcntl(2): EBADF for a write lock through a read-only handle and a
  // read lock through a write-only one (the owner's fd is read-write).
  const HandleId ro = OpenF(O_RDONLY);
  const HandleId wo = OpenF(O_WRONLY);
  EXPECT_ERRNO(Lock(ro, kOwnerA, F_WRLCK), EBADF);
  EXPECT_ERRNO(Lock(wo, kOwnerA, F_RDLCK), EBADF);
  EXPECT_TRUE(Lock(ro, kOwnerA, F_RDLCK, 0, 9).ok());
  EXPECT_TRUE(Lock(wo, kOwnerA, F_WRLCK, 0, 9).ok());  // same owner: upgrade
  EXPECT_TRUE(Lock(ro, kOwnerA, F_UNLCK).ok());        // unlocking needs neither
  EXPECT_EQ(pt_->lock_owner_fd_count(), 0u);
}

TEST_F(PassthroughLockTest, ReadOnlyShareStillTakesReadLocks) {
  MakeBackend(/*readonly=*/true);
  const HandleId h = OpenF(O_RDONLY);
  // The owner's fd falls back to read-only (EROFS for read-write).
  EXPECT_TRUE(Lock(h, kOwnerA, F_RDLCK).ok());
  EXPECT_TRUE(Lock(h, kOwnerB, F_RDLCK, 0, 0).ok());
  EXPECT_EQ(pt_->lock_owner_fd_count(), 2u);
  EXPECT_ERRNO(Lock(h, kOwnerB, F_WRLCK, 0, 0), EBADF);
}

TEST_F(PassthroughLockTest, SetLkwWaitsUntilTheOtherOwnerUnlocks) {
  const HandleId h1 = OpenF();
  const HandleId h2 = OpenF();
  ASSERT_TRUE(Lock(h1, kOwnerA, F_WRLCK, 0, 9).ok());
  // Free at once: completes inline.
  std::unique_ptr<Pending> free_now = LockWait(h2, kOwnerB, F_WRLCK, 10, 19);
  ASSERT_TRUE(free_now->done.HasBeenNotified());
  EXPECT_TRUE(free_now->status.ok());
  // Conflicting: returns without completing, holding no worker.
  std::unique_ptr<Pending> waiting = LockWait(h2, kOwnerB, F_WRLCK, 5, 5);
  EXPECT_FALSE(waiting->done.HasBeenNotified());
  EXPECT_EQ(pt_->waiting_lock_count(), 1u);
  ASSERT_TRUE(Lock(h1, kOwnerA, F_UNLCK, 0, 9).ok());
  ASSERT_TRUE(waiting->Wait());
  EXPECT_TRUE(waiting->status.ok()) << waiting->status;
  EXPECT_ERRNO(Lock(h1, kOwnerA, F_WRLCK, 5, 5), EAGAIN);  // B holds it now
  EXPECT_EQ(pt_->waiting_lock_count(), 0u);
}

TEST_F(PassthroughLockTest, SetLkwGrantedWhenTheHolderCloses) {
  const HandleId h1 = OpenF();
  const HandleId h2 = OpenF();
  ASSERT_TRUE(Lock(h1, kOwnerA, F_WRLCK).ok());
  std::unique_ptr<Pending> waiting = LockWait(h2, kOwnerB, F_RDLCK, 0, 0);
  EXPECT_FALSE(waiting->done.HasBeenNotified());
  ASSERT_TRUE(Flush(h1, kOwnerA).ok());  // A closes the file
  ASSERT_TRUE(waiting->Wait());
  EXPECT_TRUE(waiting->status.ok()) << waiting->status;
}

TEST_F(PassthroughLockTest, SetLkwGrantedWhenAHostProcessUnlocks) {
  // A lock the backend is not told about the release of: found by retrying.
  const std::string path = share_->path() + "/f";
  int host_fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  ASSERT_GE(host_fd, 0);
  struct flock fl = {};
  fl.l_type = F_WRLCK;
  fl.l_whence = SEEK_SET;
  ASSERT_EQ(::fcntl(host_fd, F_OFD_SETLK, &fl), 0);
  const HandleId h = OpenF();
  std::unique_ptr<Pending> waiting = LockWait(h, kOwnerA, F_WRLCK, 0, 0);
  EXPECT_FALSE(waiting->done.HasBeenNotified());
  ::close(host_fd);
  ASSERT_TRUE(waiting->Wait());
  EXPECT_TRUE(waiting->status.ok()) << waiting->status;
}

TEST_F(PassthroughLockTest, SetLkwCancelledWithEintr) {
  const HandleId h1 = OpenF();
  const HandleId h2 = OpenF();
  const HandleId h3 = OpenF();
  ASSERT_TRUE(Lock(h1, kOwnerA, F_WRLCK).ok());
  std::unique_ptr<Pending> on_release = LockWait(h2, kOwnerB, F_WRLCK, 0, 0);
  std::unique_ptr<Pending> on_flush = LockWait(h3, 0xc, F_WRLCK, 1, 1);
  std::unique_ptr<Pending> on_destroy = LockWait(h3, 0xd, F_WRLCK, 2, 2);
  EXPECT_EQ(pt_->waiting_lock_count(), 3u);
  // The waiting request's handle is released.
  ASSERT_TRUE(Release(h2, kOwnerB).ok());
  ASSERT_TRUE(on_release->done.HasBeenNotified());
  EXPECT_ERRNO(on_release->status, EINTR);
  // The waiting owner closes another fd of the file.
  ASSERT_TRUE(Flush(h3, 0xc).ok());
  ASSERT_TRUE(on_flush->done.HasBeenNotified());
  EXPECT_ERRNO(on_flush->status, EINTR);
  EXPECT_FALSE(on_destroy->done.HasBeenNotified());
  // Disconnect / unmount: nothing may stay waiting.
  backend_->Destroy();
  ASSERT_TRUE(on_destroy->done.HasBeenNotified());
  EXPECT_ERRNO(on_destroy->status, EINTR);
  EXPECT_EQ(pt_->waiting_lock_count(), 0u);
  EXPECT_EQ(pt_->lock_owner_fd_count(), 0u);
}

TEST_F(PassthroughLockTest, CancelLockWaitsKeepsHeldLocks) {
  const HandleId h1 = OpenF();
  const HandleId h2 = OpenF();
  ASSERT_TRUE(Lock(h1, kOwnerA, F_WRLCK).ok());
  std::unique_ptr<Pending> waiting = LockWait(h2, kOwnerB, F_WRLCK, 0, 0);
  pt_->CancelLockWaits();  // a vring stop
  ASSERT_TRUE(waiting->done.HasBeenNotified());
  EXPECT_ERRNO(waiting->status, EINTR);
  EXPECT_ERRNO(Lock(h2, kOwnerB, F_WRLCK, 0, 0), EAGAIN);  // A still holds it
  EXPECT_EQ(pt_->lock_owner_fd_count(), 1u);
}

TEST_F(PassthroughLockTest, ForgetCancelsWaitsOnTheNode) {
  const HandleId h1 = OpenF();
  ASSERT_TRUE(Lock(h1, kOwnerA, F_WRLCK).ok());
  std::unique_ptr<Pending> waiting = LockWait(h1, kOwnerB, F_WRLCK, 0, 0);
  fs_->Forget(f_, 1);  // the guest's last reference (a hostile guest may do this)
  ASSERT_TRUE(waiting->done.HasBeenNotified());
  EXPECT_ERRNO(waiting->status, EINTR);
  EXPECT_EQ(pt_->lock_owner_fd_count(), 0u);
}

TEST_F(PassthroughLockTest, TooManyWaitersGetEnolck) {
  const HandleId h1 = OpenF();
  const HandleId h2 = OpenF();
  ASSERT_TRUE(Lock(h1, kOwnerA, F_WRLCK).ok());
  std::vector<std::unique_ptr<Pending>> waits;
  for (uint64_t i = 0; i < LockWaiter::kDefaultMaxWaits; ++i) {
    waits.push_back(LockWait(h2, 100 + i, F_WRLCK, 0, 0));
    ASSERT_FALSE(waits.back()->done.HasBeenNotified()) << i;
  }
  std::unique_ptr<Pending> refused = LockWait(h2, 999, F_WRLCK, 0, 0);
  ASSERT_TRUE(refused->done.HasBeenNotified());
  EXPECT_ERRNO(refused->status, ENOLCK);
  // A refused request leaves no fd behind; the waiting owners keep theirs.
  EXPECT_EQ(pt_->lock_owner_fd_count(), 1u + LockWaiter::kDefaultMaxWaits);
  ASSERT_TRUE(Release(h2).ok());
  for (auto& w : waits) {
    ASSERT_TRUE(w->done.HasBeenNotified());
    EXPECT_ERRNO(w->status, EINTR);
  }
  EXPECT_EQ(pt_->lock_owner_fd_count(), 1u);
}

TEST_F(PassthroughLockTest, BlockingFlockWaitsAndIsCancelledOnRelease) {
  const HandleId h1 = OpenF();
  const HandleId h2 = OpenF();
  const HandleId h3 = OpenF();
  ASSERT_TRUE(Flock(h1, F_WRLCK).ok());
  EXPECT_ERRNO(Flock(h2, F_RDLCK), EAGAIN);
  std::unique_ptr<Pending> granted = LockWait(h2, 0, F_RDLCK, 0, UINT64_MAX, /*flock=*/true);
  EXPECT_FALSE(granted->done.HasBeenNotified());
  ASSERT_TRUE(Flock(h1, F_UNLCK).ok());
  ASSERT_TRUE(granted->Wait());
  EXPECT_TRUE(granted->status.ok()) << granted->status;
  // flock and POSIX locks are independent (Linux).
  EXPECT_TRUE(Lock(h3, kOwnerA, F_WRLCK).ok());
  std::unique_ptr<Pending> cancelled = LockWait(h3, 0, F_WRLCK, 0, UINT64_MAX, /*flock=*/true);
  EXPECT_FALSE(cancelled->done.HasBeenNotified());
  ASSERT_TRUE(Release(h3, std::nullopt, /*release_flock=*/true).ok());
  ASSERT_TRUE(cancelled->done.HasBeenNotified());
  EXPECT_ERRNO(cancelled->status, EINTR);
  // Releasing h2 with its flock lets h1 lock exclusively again.
  ASSERT_TRUE(Release(h2, std::nullopt, /*release_flock=*/true).ok());
  EXPECT_TRUE(Flock(h1, F_WRLCK).ok());
}

TEST_F(PassthroughLockTest, SetLkwGivesMutualExclusionUnderContention) {
  // Several guest processes take turns on one byte with SETLKW: every wait
  // ends granted (no lost wake-up), and never two holders at once.
  constexpr int kThreads = 4;
  constexpr int kRounds = 50;
  std::vector<HandleId> handles;
  for (int t = 0; t < kThreads; ++t) handles.push_back(OpenF());
  std::atomic<int> inside{0};
  std::atomic<int> overlaps{0};
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const uint64_t owner = 100 + t;
      for (int i = 0; i < kRounds; ++i) {
        std::unique_ptr<Pending> p = LockWait(handles[t], owner, F_WRLCK, 0, 0);
        if (!p->Wait() || !p->status.ok()) {
          ++failures;
          return;
        }
        if (inside.fetch_add(1) != 0) ++overlaps;
        inside.fetch_sub(1);
        if (!Lock(handles[t], owner, F_UNLCK, 0, 0).ok()) ++failures;
        // Every few rounds the process closes some fd of the file instead.
        if (i % 7 == 3 && !Flush(handles[t], owner).ok()) ++failures;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(overlaps.load(), 0);
  EXPECT_EQ(pt_->waiting_lock_count(), 0u);
  EXPECT_EQ(pt_->lock_owner_fd_count(), 0u);
}

}  // namespace
}  // namespace vfsd
