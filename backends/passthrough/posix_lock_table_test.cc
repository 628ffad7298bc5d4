#include "backends/passthrough/posix_lock_table.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <string>

#include "backends/errno_status.h"
#include "gtest/gtest.h"

namespace vfsd {
namespace {

struct flock Range(short type, off_t start, off_t len) {
  struct flock fl = {};
  fl.l_type = type;
  fl.l_whence = SEEK_SET;
  fl.l_start = start;
  fl.l_len = len;
  return fl;
}

class PosixLockTableTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char path[] = "/tmp/posix_lock_table_testXXXXXX";
    int fd = ::mkstemp(path);
    ASSERT_GE(fd, 0);
    ::close(fd);
    path_ = path;
  }
  void TearDown() override { ::unlink(path_.c_str()); }

  // An opener that counts how often the table asked for a new fd.
  absl::StatusOr<ScopedFd> Open() {
    ++opens_;
    int fd = ::open(path_.c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0) return ErrnoFromLastError("open");
    return ScopedFd(fd);
  }
  std::shared_ptr<LockOwnerFd> Entry(PosixLockTable& table, NodeId node, uint64_t owner,
                                     HandleId handle = 1) {
    absl::StatusOr<std::shared_ptr<LockOwnerFd>> entry =
        table.GetOrOpen(node, owner, handle, [this] { return Open(); });
    EXPECT_TRUE(entry.ok()) << entry.status();
    return entry.ok() ? *entry : nullptr;
  }

  std::string path_;
  int opens_ = 0;
};

TEST_F(PosixLockTableTest, OneFdPerOwnerOpenedLazily) {
  PosixLockTable table;
  EXPECT_TRUE(table.empty());
  EXPECT_EQ(table.Find(2, 7), nullptr);
  std::shared_ptr<LockOwnerFd> a = Entry(table, 2, 7, /*handle=*/1);
  std::shared_ptr<LockOwnerFd> again = Entry(table, 2, 7, /*handle=*/2);
  EXPECT_EQ(a, again);  // same owner through another handle: same fd
  EXPECT_EQ(opens_, 1);
  std::shared_ptr<LockOwnerFd> b = Entry(table, 2, 8);
  std::shared_ptr<LockOwnerFd> other_node = Entry(table, 3, 7);
  EXPECT_NE(a, b);
  EXPECT_NE(a, other_node);
  EXPECT_EQ(table.size(), 3u);
  EXPECT_EQ(table.Find(2, 7), a);
}

TEST_F(PosixLockTableTest, OwnersConflictAndSplitLikeFcntl) {
  PosixLockTable table;
  std::shared_ptr<LockOwnerFd> a = Entry(table, 2, 7);
  std::shared_ptr<LockOwnerFd> b = Entry(table, 2, 8);
  ASSERT_EQ(a->TrySetLock(Range(F_WRLCK, 0, 100), 0, 99, 111), 0);
  EXPECT_EQ(b->TrySetLock(Range(F_RDLCK, 50, 1), 50, 50, 222), EAGAIN);
  // The owner's own locks never conflict: upgrade/downgrade in place.
  EXPECT_EQ(a->TrySetLock(Range(F_RDLCK, 40, 20), 40, 59, 111), 0);
  EXPECT_EQ(b->TrySetLock(Range(F_RDLCK, 45, 5), 45, 49, 222), 0);  // shares the read range
  EXPECT_EQ(b->TrySetLock(Range(F_RDLCK, 0, 1), 0, 0, 222), EAGAIN);
  // A middle unlock splits a's lock; GETLK from b sees the rest.
  EXPECT_EQ(a->TrySetLock(Range(F_UNLCK, 40, 20), 40, 59, 111), 0);
  struct flock q = Range(F_WRLCK, 0, 0);
  ASSERT_EQ(b->GetLock(&q), 0);
  EXPECT_EQ(q.l_type, F_WRLCK);
  EXPECT_EQ(q.l_start, 0);
  EXPECT_EQ(q.l_len, 40);
  EXPECT_EQ(table.HolderPid(2, b.get(), 0, 39), 111u);
  EXPECT_EQ(table.HolderPid(2, a.get(), 0, 39), 0u);
  EXPECT_EQ(table.HolderPid(2, a.get(), 45, 49), 222u);
}

TEST_F(PosixLockTableTest, IdleEntriesCloseAndBusyOnesStay) {
  PosixLockTable table;
  std::shared_ptr<LockOwnerFd> a = Entry(table, 2, 7);
  ASSERT_EQ(a->TrySetLock(Range(F_WRLCK, 0, 10), 0, 9, 1), 0);
  table.DropIfIdle(2, 7);
  EXPECT_EQ(table.size(), 1u);  // still holds a lock
  ASSERT_EQ(a->TrySetLock(Range(F_UNLCK, 0, 10), 0, 9, 1), 0);
  a->AddWaiter();
  table.DropIfIdle(2, 7);
  EXPECT_EQ(table.size(), 1u);  // a request still waits on it
  a->RemoveWaiter();
  table.DropIfIdle(2, 7);
  EXPECT_TRUE(table.empty());
  // The closed entry refuses further use rather than touching a stale fd.
  EXPECT_EQ(a->TrySetLock(Range(F_WRLCK, 0, 10), 0, 9, 1), LockOwnerFd::kClosed);
}

TEST_F(PosixLockTableTest, DropOwnerReleasesItsLocksOnly) {
  PosixLockTable table;
  std::shared_ptr<LockOwnerFd> a = Entry(table, 2, 7);
  std::shared_ptr<LockOwnerFd> b = Entry(table, 2, 8);
  std::shared_ptr<LockOwnerFd> c = Entry(table, 2, 9);
  ASSERT_EQ(a->TrySetLock(Range(F_WRLCK, 0, 10), 0, 9, 1), 0);
  ASSERT_EQ(b->TrySetLock(Range(F_WRLCK, 20, 10), 20, 29, 2), 0);
  EXPECT_TRUE(table.DropOwner(2, 7));
  EXPECT_FALSE(table.DropOwner(2, 7));
  EXPECT_EQ(c->TrySetLock(Range(F_WRLCK, 0, 10), 0, 9, 3), 0);  // a's lock is gone
  EXPECT_EQ(c->TrySetLock(Range(F_WRLCK, 20, 1), 20, 20, 3), EAGAIN);  // b's is not
  EXPECT_EQ(a->TrySetLock(Range(F_WRLCK, 50, 1), 50, 50, 1), LockOwnerFd::kClosed);
  EXPECT_EQ(table.size(), 2u);
}

TEST_F(PosixLockTableTest, ReleasingEveryHandleOfAnOwnerDropsIt) {
  PosixLockTable table;
  std::shared_ptr<LockOwnerFd> a = Entry(table, 2, 7, /*handle=*/10);
  Entry(table, 2, 7, /*handle=*/11);
  std::shared_ptr<LockOwnerFd> b = Entry(table, 2, 8, /*handle=*/11);
  ASSERT_EQ(a->TrySetLock(Range(F_WRLCK, 0, 10), 0, 9, 1), 0);
  EXPECT_EQ(table.ReleaseHandle(2, 10), 0u);  // a still has handle 11
  EXPECT_EQ(table.ReleaseHandle(2, 99), 0u);
  EXPECT_EQ(table.ReleaseHandle(2, 11), 2u);  // both gone
  EXPECT_TRUE(table.empty());
  EXPECT_EQ(a->TrySetLock(Range(F_UNLCK, 0, 10), 0, 9, 1), LockOwnerFd::kClosed);
}

TEST_F(PosixLockTableTest, DropNodeAndClear) {
  PosixLockTable table;
  Entry(table, 2, 7);
  Entry(table, 2, 8);
  Entry(table, 3, 7);
  EXPECT_TRUE(table.DropNode(2));
  EXPECT_FALSE(table.DropNode(2));
  EXPECT_EQ(table.size(), 1u);
  table.Clear();
  EXPECT_TRUE(table.empty());
  EXPECT_EQ(table.Find(3, 7), nullptr);
}

TEST_F(PosixLockTableTest, BoundedOwnersAndRanges) {
  PosixLockTable table(/*max_owners=*/2);
  Entry(table, 2, 1);
  Entry(table, 2, 2);
  absl::StatusOr<std::shared_ptr<LockOwnerFd>> third =
      table.GetOrOpen(2, 3, 1, [this] { return Open(); });
  EXPECT_EQ(ErrnoOf(third.status()), ENOLCK);
  EXPECT_EQ(opens_, 2);  // refused before opening anything
  // Per-owner ranges: every other byte until the bound.
  std::shared_ptr<LockOwnerFd> a = table.Find(2, 1);
  const off_t max = static_cast<off_t>(PosixLockTable::kMaxRangesPerOwner);
  for (off_t i = 0; i < max; ++i) {
    ASSERT_EQ(a->TrySetLock(Range(F_RDLCK, 2 * i, 1), 2 * i, 2 * i, 1), 0) << i;
  }
  EXPECT_EQ(a->TrySetLock(Range(F_RDLCK, 2 * max, 1), 2 * max, 2 * max, 1), ENOLCK);
  // Within what it holds, and unlocks, still work.
  EXPECT_EQ(a->TrySetLock(Range(F_WRLCK, 0, 1), 0, 0, 1), 0);
  EXPECT_EQ(a->TrySetLock(Range(F_UNLCK, 0, 0), 0, UINT64_MAX, 1), 0);
}

}  // namespace
}  // namespace vfsd
