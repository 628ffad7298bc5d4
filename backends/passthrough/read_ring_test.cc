// ReadRing's hardening: the ring can only ever do READV, and nothing more
// can be registered on it (io_uring operations bypass seccomp).
#include "backends/passthrough/read_ring.h"

#include <linux/io_uring.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

#include "gtest/gtest.h"

namespace vfsd {
namespace {

TEST(ReadRingTest, NothingButReadvCanBeRegisteredOrEnabled) {
  absl::StatusOr<std::unique_ptr<ReadRing>> ring = ReadRing::Create();
  if (!ring.ok()) GTEST_SKIP() << "no io_uring here: " << ring.status();
  const int fd = (*ring)->fd_for_testing();
  // Registering files (a way to reach fds later) is not an allowed register op.
  int files[1] = {0};
  EXPECT_EQ(syscall(__NR_io_uring_register, fd, IORING_REGISTER_FILES, files, 1), -1);
  EXPECT_EQ(errno, EACCES);
  // Nor can the restrictions be replaced now that the ring runs.
  io_uring_restriction allow_all = {};
  allow_all.opcode = IORING_RESTRICTION_SQE_OP;
  allow_all.sqe_op = IORING_OP_OPENAT;
  EXPECT_EQ(syscall(__NR_io_uring_register, fd, IORING_REGISTER_RESTRICTIONS, &allow_all, 1),
            -1);
}

TEST(ReadRingTest, PoolHandsOutEachRingOnce) {
  ReadRingPool pool(2);
  if (pool.available() == 0) GTEST_SKIP() << "no io_uring here";
  ASSERT_EQ(pool.available(), 2u);
  std::unique_ptr<ReadRing> a = pool.Acquire();
  std::unique_ptr<ReadRing> b = pool.Acquire();
  EXPECT_NE(a, nullptr);
  EXPECT_NE(b, nullptr);
  EXPECT_EQ(pool.Acquire(), nullptr);
  pool.Release(std::move(a));
  EXPECT_EQ(pool.available(), 1u);
  pool.Release(nullptr);
  EXPECT_EQ(pool.available(), 1u);
}

}  // namespace
}  // namespace vfsd
