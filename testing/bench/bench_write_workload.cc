// write4k / write128k: FUSE_WRITE of a fixed pattern at random size-aligned
// offsets of a preallocated 64 MiB file, through one handle opened in
// Setup. Writing over allocated blocks keeps the host filesystem out of
// block allocation, so the numbers are about the daemon's copy path.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "backends/errno_status.h"
#include "testing/bench/bench_workload_util.h"

namespace vfsd {
namespace {

constexpr char kWriteFile[] = "bench-write.bin";
constexpr uint64_t kWriteFileSize = 64ull << 20;

class WriteWorkload : public SingleRequestWorkload {
 public:
  explicit WriteWorkload(uint32_t size) : size_(size), data_(size) {
    for (uint32_t i = 0; i < size; ++i) data_[i] = static_cast<uint8_t>(i * 7 + 1);
  }

  absl::Status PrepareSharedDir(const std::string& dir) override {
    const std::string path = dir + "/" + kWriteFile;
    const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return ErrnoFromLastError("open " + path);
    // Allocate every block now (not a sparse ftruncate) so timed writes
    // never allocate; posix_fallocate returns the error instead of errno.
    const int err = posix_fallocate(fd, 0, kWriteFileSize);
    close(fd);
    if (err != 0) return ErrnoStatus(err, "posix_fallocate " + path);
    return absl::OkStatus();
  }
  void Configure(FakeVmmSessionOptions* options) const override {
    options->client.max_args_size =
        std::max<uint32_t>(options->client.max_args_size, sizeof(fuse_write_in) + size_);
  }
  absl::Status Setup(FuseClient& fuse) override {
    // A WRITE above the negotiated max_write is EINVAL by contract
    // (fuse_init_out.max_write); say so instead of failing mid-run.
    if (fuse.init_out().max_write < size_) {
      return absl::FailedPreconditionError(absl::StrCat(
          "daemon's max_write ", fuse.init_out().max_write, " < ", size_));
    }
    absl::StatusOr<fuse_entry_out> entry = fuse.Lookup(FUSE_ROOT_ID, kWriteFile);
    if (!entry.ok()) return entry.status();
    nodeid_ = entry->nodeid;
    absl::StatusOr<fuse_open_out> open = fuse.Open(nodeid_, O_RDWR);
    if (!open.ok()) return open.status();
    fh_ = open->fh;
    return absl::OkStatus();
  }
  absl::StatusOr<uint64_t> Submit(FuseClient& fuse, std::mt19937_64& rng) override {
    fuse_write_in in{};
    in.fh = fh_;
    in.offset = (rng() % (kWriteFileSize / size_)) * size_;
    in.size = size_;
    in.flags = O_RDWR;
    return fuse.Submit(FUSE_WRITE, nodeid_, {BenchBytes(in), absl::MakeConstSpan(data_)},
                       sizeof(fuse_write_out));
  }
  absl::Status Check(const FuseCompletion& c) override {
    absl::Status status = BenchCheckReply(c, sizeof(fuse_write_out));
    if (!status.ok()) return status;
    fuse_write_out out;
    std::memcpy(&out, c.payload.data(), sizeof(out));
    if (out.size != size_) {
      return absl::DataLossError(absl::StrCat("short WRITE: ", out.size, " of ", size_));
    }
    return absl::OkStatus();
  }

 private:
  uint32_t size_;
  std::vector<uint8_t> data_;
  uint64_t nodeid_ = 0, fh_ = 0;
};

}  // namespace

std::unique_ptr<BenchWorkload> MakeWriteWorkload(uint32_t size) {
  return std::make_unique<WriteWorkload>(size);
}

}  // namespace vfsd
