// FdCache: the LRU bound on unused fds, pinning (a pinned fd is never
// closed), nested pins, misses that re-open, open errors, and Adopt.
#include "backends/passthrough/fd_cache.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <memory>
#include <vector>

#include "backends/errno_status.h"
#include "gtest/gtest.h"

namespace vfsd {
namespace {

// Opens /dev/null O_PATH and counts the calls.
struct CountingOpener {
  int opens = 0;
  absl::StatusOr<ScopedFd> operator()() {
    ++opens;
    return ScopedFd(::open("/dev/null", O_PATH | O_CLOEXEC));
  }
};

bool IsOpen(int fd) { return fd >= 0 && ::fcntl(fd, F_GETFD) != -1; }

TEST(FdCacheTest, MissOpensAndHitReuses) {
  FdCache cache(4);
  InodeFd slot(&cache);
  CountingOpener opener;
  ASSERT_TRUE(cache.Pin(slot, [&] { return opener(); }).ok());
  const int fd = slot.get();
  EXPECT_TRUE(IsOpen(fd));
  cache.Unpin(slot);
  EXPECT_EQ(cache.open_count(), 1u);
  ASSERT_TRUE(cache.Pin(slot, [&] { return opener(); }).ok());
  EXPECT_EQ(slot.get(), fd);
  EXPECT_EQ(opener.opens, 1);
  cache.Unpin(slot);
}

TEST(FdCacheTest, UnusedFdsAreBoundedByCapacityLeastRecentlyUsedFirst) {
  FdCache cache(2);
  std::vector<std::unique_ptr<InodeFd>> slots;
  CountingOpener opener;
  for (int i = 0; i < 10; ++i) {
    slots.push_back(std::make_unique<InodeFd>(&cache));
    ASSERT_TRUE(cache.Pin(*slots.back(), [&] { return opener(); }).ok());
    cache.Unpin(*slots.back());
    EXPECT_LE(cache.open_count(), 2u);
  }
  // Slots 8 and 9 are cached; 0..7 were evicted and re-open on use.
  EXPECT_EQ(slots[0]->get(), -1);
  EXPECT_TRUE(IsOpen(slots[9]->get()));
  ASSERT_TRUE(cache.Pin(*slots[8], [&] { return opener(); }).ok());  // hit
  cache.Unpin(*slots[8]);                                             // 8 now most recent
  ASSERT_TRUE(cache.Pin(*slots[0], [&] { return opener(); }).ok());  // miss: evicts 9
  cache.Unpin(*slots[0]);
  EXPECT_EQ(opener.opens, 11);
  EXPECT_EQ(slots[9]->get(), -1);
  EXPECT_TRUE(IsOpen(slots[8]->get()));
  EXPECT_TRUE(IsOpen(slots[0]->get()));
}

TEST(FdCacheTest, PinnedFdsAreNeverEvicted) {
  FdCache cache(0);  // nothing unused stays open
  InodeFd a(&cache), b(&cache);
  CountingOpener opener;
  ASSERT_TRUE(cache.Pin(a, [&] { return opener(); }).ok());
  ASSERT_TRUE(cache.Pin(a, [&] { return opener(); }).ok());  // nested
  ASSERT_TRUE(cache.Pin(b, [&] { return opener(); }).ok());
  EXPECT_EQ(cache.pinned_count(), 2u);
  const int fd = a.get();
  cache.Unpin(a);
  EXPECT_TRUE(IsOpen(fd)) << "still pinned once";
  cache.Unpin(a);
  EXPECT_EQ(a.get(), -1);
  EXPECT_FALSE(IsOpen(fd));
  EXPECT_EQ(cache.open_count(), 1u);
  cache.Unpin(b);
  EXPECT_EQ(cache.open_count(), 0u);
  EXPECT_EQ(opener.opens, 2);
}

TEST(FdCacheTest, OpenErrorIsReturnedAndLeavesTheSlotClosed) {
  FdCache cache(4);
  InodeFd slot(&cache);
  absl::Status status =
      cache.Pin(slot, [] { return absl::StatusOr<ScopedFd>(ErrnoStatus(ESTALE, "gone")); });
  EXPECT_EQ(ErrnoOf(status), ESTALE);
  EXPECT_EQ(slot.get(), -1);
  EXPECT_EQ(cache.open_count(), 0u);
  EXPECT_EQ(cache.pinned_count(), 0u);
}

TEST(FdCacheTest, RunningOutOfFdsClosesUnusedCachedOnesAndRetries) {
  FdCache cache(8);
  InodeFd a(&cache), b(&cache), c(&cache);
  CountingOpener opener;
  for (InodeFd* slot : {&a, &b}) {
    ASSERT_TRUE(cache.Pin(*slot, [&] { return opener(); }).ok());
    cache.Unpin(*slot);
  }
  ASSERT_TRUE(cache.Pin(b, [&] { return opener(); }).ok());  // b in use
  int calls = 0;
  absl::Status status = cache.Pin(c, [&]() -> absl::StatusOr<ScopedFd> {
    if (++calls == 1) return ErrnoStatus(EMFILE, "full");
    return opener();
  });
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(a.get(), -1) << "the unused fd made room";
  EXPECT_TRUE(IsOpen(b.get())) << "a pinned fd is never closed";
  cache.Unpin(b);
  cache.Unpin(c);
  // Nothing unused to close: the error stands.
  FdCache empty(8);
  InodeFd d(&empty);
  EXPECT_EQ(ErrnoOf(empty.Pin(d, [] { return absl::StatusOr<ScopedFd>(ErrnoStatus(EMFILE, "full")); })),
            EMFILE);
}

TEST(FdCacheTest, AdoptCachesAnFdAndKeepsAnExistingOne) {
  FdCache cache(4);
  InodeFd slot(&cache);
  const int first = ::open("/dev/null", O_PATH | O_CLOEXEC);
  cache.Adopt(slot, ScopedFd(first));
  EXPECT_EQ(slot.get(), first);
  const int second = ::open("/dev/null", O_PATH | O_CLOEXEC);
  cache.Adopt(slot, ScopedFd(second));
  EXPECT_EQ(slot.get(), first);
  EXPECT_FALSE(IsOpen(second));
  CountingOpener opener;
  ASSERT_TRUE(cache.Pin(slot, [&] { return opener(); }).ok());
  EXPECT_EQ(opener.opens, 0);
  cache.Unpin(slot);
}

TEST(FdCacheTest, DestroyingASlotClosesItsFd) {
  FdCache cache(4);
  auto slot = std::make_unique<InodeFd>(&cache);
  CountingOpener opener;
  ASSERT_TRUE(cache.Pin(*slot, [&] { return opener(); }).ok());
  const int fd = slot->get();
  cache.Unpin(*slot);
  slot.reset();
  EXPECT_FALSE(IsOpen(fd));
  EXPECT_EQ(cache.open_count(), 0u);
}

TEST(FdCacheTest, HeldFdIsOwnedAndClosedWithTheSlot) {
  const int fd = ::open("/dev/null", O_PATH | O_CLOEXEC);
  {
    InodeFd held{ScopedFd(fd)};
    EXPECT_FALSE(held.cached());
    EXPECT_EQ(held.get(), fd);
  }
  EXPECT_FALSE(IsOpen(fd));
}

}  // namespace
}  // namespace vfsd
