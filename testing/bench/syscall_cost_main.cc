// syscall_cost: what one system call costs on this machine, the floor under
// every FUSE request a daemon answers with one (GETATTR is one statx, a
// READ one preadv, a WRITE one pwritev). On a paravirtualised VM the entry
// and exit alone can cost more than the work, which bounds how far any
// daemon can beat another in ops per CPU-second (docs/benchmarks.md).
// Prints ns per call, single thread, 1 s each; no flags. The file lives in
// the current directory (run it on the filesystem the benchmarks share).
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "backends/passthrough/handle_table.h"
#include "backends/passthrough/read_ring.h"
#include "backends/passthrough/scoped_fd.h"

namespace vfsd {
namespace {

constexpr size_t kFileSize = 64 << 20;
constexpr size_t kPiece = 4096;

// Calls `op(i)` for about a second; returns ns per call (`per_call` calls
// of the measured thing per op).
template <typename Op>
double NsPerCall(Op op, int per_call = 1) {
  using Clock = std::chrono::steady_clock;
  uint64_t calls = 0;
  const Clock::time_point start = Clock::now();
  Clock::time_point now = start;
  while (now - start < std::chrono::seconds(1)) {
    for (int i = 0; i < 256; ++i, ++calls) op(calls);
    now = Clock::now();
  }
  return std::chrono::duration<double, std::nano>(now - start).count() /
         static_cast<double>(calls * per_call);
}

int Main() {
  const std::string path = "syscall_cost.tmp";
  int fd = ::open(path.c_str(), O_CREAT | O_RDWR | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    std::perror("open syscall_cost.tmp");
    return 1;
  }
  // The O_PATH fd is what the passthrough backend keeps per inode.
  int path_fd = ::open(path.c_str(), O_PATH | O_CLOEXEC);
  ::unlink(path.c_str());
  std::vector<char> data(kFileSize, 'x');
  if (::pwrite(fd, data.data(), data.size(), 0) != static_cast<ssize_t>(data.size())) {
    std::perror("pwrite");
    return 1;
  }
  // Written back now, or the pwritev figure would include that writeback.
  if (::fdatasync(fd) != 0) {
    std::perror("fdatasync");
    return 1;
  }
  std::mt19937_64 rng(1);
  static char buffer[16][kPiece];
  auto offset = [&] { return static_cast<off_t>(rng() % (kFileSize / kPiece) * kPiece); };

  std::printf("getppid (no work): %.0f ns\n", NsPerCall([](uint64_t) { ::syscall(SYS_getppid); }));
  struct statx stx;
  std::printf("statx of an O_PATH fd (GETATTR): %.0f ns\n", NsPerCall([&](uint64_t) {
                ::statx(path_fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS,
                        &stx);
              }));
  std::printf("preadv 4 KiB, page cache (READ): %.0f ns\n", NsPerCall([&](uint64_t i) {
                iovec iov{buffer[i % 16], kPiece};
                (void)!::preadv(fd, &iov, 1, offset());
              }));
  // Writes go to a posix_fallocate'd file, as vfsd_bench's write4k: the
  // file written above sits in large folios, and ext4 walks every block of
  // a folio on each write to it (several times the cost).
  const std::string write_path = "syscall_cost_write.tmp";
  int write_fd = ::open(write_path.c_str(), O_CREAT | O_RDWR | O_TRUNC | O_CLOEXEC, 0600);
  if (write_fd < 0 || ::posix_fallocate(write_fd, 0, kFileSize) != 0) {
    std::perror("syscall_cost_write.tmp");
    return 1;
  }
  ::unlink(write_path.c_str());
  auto write_piece = [&](uint64_t i) {
    iovec iov{buffer[i % 16], kPiece};
    (void)!::pwritev(write_fd, &iov, 1, offset());
  };
  // The first second mostly dirties clean pages (journal, dirty
  // accounting); write4k soon runs over pages already dirty, as the second.
  std::printf("pwritev 4 KiB, first second: %.0f ns\n", NsPerCall(write_piece));
  std::printf("pwritev 4 KiB, second second (WRITE): %.0f ns\n", NsPerCall(write_piece));
  ::close(write_fd);

  absl::StatusOr<std::unique_ptr<ReadRing>> ring = ReadRing::Create();
  if (!ring.ok()) {
    std::printf("io_uring READV x16: unavailable (%s)\n", ring.status().ToString().c_str());
  } else {
    auto handle = std::make_shared<OpenHandle>(1, false, ScopedFd(::dup(fd)));
    iovec iov[16];
    for (int i = 0; i < 16; ++i) iov[i] = {buffer[i], kPiece};
    std::printf("io_uring READV 4 KiB, 16 per io_uring_enter (batched READ): %.0f ns\n",
                NsPerCall(
                    [&](uint64_t) {
                      for (int i = 0; i < 16; ++i) {
                        PendingRead read;
                        read.handle = handle;
                        read.offset = static_cast<uint64_t>(offset());
                        read.done = [](absl::StatusOr<size_t>) {};
                        (*ring)->Queue(handle->fd.get(), absl::MakeConstSpan(&iov[i], 1),
                                       std::move(read));
                      }
                      (*ring)->Flush([](PendingRead& read, ssize_t n) {
                        read.done(static_cast<size_t>(n));
                      });
                    },
                    16));
  }
  ::close(path_fd);
  ::close(fd);
  return 0;
}

}  // namespace
}  // namespace vfsd

int main() { return vfsd::Main(); }
