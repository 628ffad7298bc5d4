// The workload registry and the read-side workloads (getattr, lookup,
// read4k, read128k); the others live in bench_*_workload.cc.
#include "testing/bench/bench_workload.h"

#include <dirent.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "backends/errno_status.h"
#include "testing/bench/bench_workload_util.h"

namespace vfsd {
namespace {

constexpr char kDataFile[] = "bench-data.bin";
constexpr uint64_t kDataFileSize = 64ull << 20;
constexpr char kStatFile[] = "bench-stat.txt";

absl::Span<const uint8_t> Bytes(const fuse_getattr_in& v) { return BenchBytes(v); }
absl::Span<const uint8_t> Bytes(const fuse_read_in& v) { return BenchBytes(v); }

absl::Status CheckOk(const FuseCompletion& c, size_t want_payload) {
  return BenchCheckReply(c, want_payload);
}

// Writes a deterministic file (byte i = i * 131 >> 3) and reads it back so
// it is in the host page cache: the read workloads measure the daemon, not
// the disk.
absl::Status EnsureDataFile(const std::string& dir) {
  const std::string path = dir + "/" + kDataFile;
  struct stat st;
  if (stat(path.c_str(), &st) != 0 || static_cast<uint64_t>(st.st_size) != kDataFileSize) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    std::vector<char> chunk(1 << 20);
    for (uint64_t off = 0; off < kDataFileSize; off += chunk.size()) {
      for (size_t i = 0; i < chunk.size(); ++i) {
        chunk[i] = static_cast<char>(((off + i) * 131) >> 3);
      }
      out.write(chunk.data(), static_cast<std::streamsize>(chunk.size()));
    }
    if (!out) return absl::InternalError("writing " + path);
  }
  std::ifstream in(path, std::ios::binary);
  std::vector<char> chunk(1 << 20);
  while (in.read(chunk.data(), static_cast<std::streamsize>(chunk.size()))) {
  }
  return absl::OkStatus();
}

class GetAttrWorkload : public SingleRequestWorkload {
 public:
  absl::Status PrepareSharedDir(const std::string& dir) override {
    std::ofstream(dir + "/" + kStatFile) << "stat me\n";
    return absl::OkStatus();
  }
  absl::Status Setup(FuseClient& fuse) override {
    absl::StatusOr<fuse_entry_out> entry = fuse.Lookup(FUSE_ROOT_ID, kStatFile);
    if (!entry.ok()) return entry.status();
    nodeid_ = entry->nodeid;
    return absl::OkStatus();
  }
  absl::StatusOr<uint64_t> Submit(FuseClient& fuse, std::mt19937_64&) override {
    static const fuse_getattr_in in{};
    return fuse.Submit(FUSE_GETATTR, nodeid_, {Bytes(in)}, sizeof(fuse_attr_out));
  }
  absl::Status Check(const FuseCompletion& c) override {
    return CheckOk(c, sizeof(fuse_attr_out));
  }

 private:
  uint64_t nodeid_ = 0;
};

// LOOKUP of one existing name. (Each successful lookup takes a reference
// the kernel would later FORGET; the daemon is killed after the run.)
class LookupWorkload : public GetAttrWorkload {
 public:
  absl::StatusOr<uint64_t> Submit(FuseClient& fuse, std::mt19937_64&) override {
    static constexpr char kName[] = "bench-stat.txt";  // NUL included
    return fuse.Submit(FUSE_LOOKUP, FUSE_ROOT_ID,
                       {absl::Span<const uint8_t>(reinterpret_cast<const uint8_t*>(kName),
                                                  sizeof(kName))},
                       sizeof(fuse_entry_out));
  }
  absl::Status Check(const FuseCompletion& c) override {
    return CheckOk(c, sizeof(fuse_entry_out));
  }
};

// READ of `size` bytes at random `size`-aligned offsets of a cached file.
class ReadWorkload : public SingleRequestWorkload {
 public:
  explicit ReadWorkload(uint32_t size) : size_(size) {}
  absl::Status PrepareSharedDir(const std::string& dir) override { return EnsureDataFile(dir); }
  void Configure(FakeVmmSessionOptions* options) const override {
    options->client.max_reply_size = std::max(options->client.max_reply_size, size_);
  }
  absl::Status Setup(FuseClient& fuse) override {
    absl::StatusOr<fuse_entry_out> entry = fuse.Lookup(FUSE_ROOT_ID, kDataFile);
    if (!entry.ok()) return entry.status();
    nodeid_ = entry->nodeid;
    absl::StatusOr<fuse_open_out> open = fuse.Open(nodeid_, O_RDONLY);
    if (!open.ok()) return open.status();
    fh_ = open->fh;
    return absl::OkStatus();
  }
  absl::StatusOr<uint64_t> Submit(FuseClient& fuse, std::mt19937_64& rng) override {
    fuse_read_in in{};
    in.fh = fh_;
    in.offset = (rng() % (kDataFileSize / size_)) * size_;
    in.size = size_;
    in.flags = O_RDONLY;
    absl::StatusOr<uint64_t> unique = fuse.Submit(FUSE_READ, nodeid_, {Bytes(in)}, size_);
    if (unique.ok()) offsets_[OpSlot(*unique)] = in.offset;
    return unique;
  }
  absl::Status Check(const FuseCompletion& c) override {
    absl::Status status = CheckOk(c, size_);
    if (!status.ok()) return status;
    // Spot-check the first and last byte against the file's formula.
    const uint64_t off = offsets_[OpSlot(c.unique)];
    auto expect = [](uint64_t pos) { return static_cast<uint8_t>((pos * 131) >> 3); };
    if (c.payload[0] != expect(off) || c.payload[size_ - 1] != expect(off + size_ - 1)) {
      return absl::DataLossError(absl::StrCat("READ at ", off, " returned wrong data"));
    }
    return absl::OkStatus();
  }

 private:
  uint32_t size_;
  uint64_t nodeid_ = 0, fh_ = 0;
  uint64_t offsets_[kOpSlots] = {};
};

}  // namespace

absl::Status BenchCheckReply(const FuseCompletion& c, size_t want_payload) {
  if (c.error != 0) return ErrnoStatus(-c.error, absl::StrCat("opcode ", c.opcode));
  if (c.payload.size() != want_payload) {
    return absl::DataLossError(absl::StrCat("opcode ", c.opcode, " returned ",
                                            c.payload.size(), " bytes, want ", want_payload));
  }
  return absl::OkStatus();
}

absl::Status FreshDirectory(const std::string& dir) {
  if (DIR* d = opendir(dir.c_str())) {
    absl::Status status;
    while (struct dirent* e = readdir(d)) {
      if (std::strcmp(e->d_name, ".") == 0 || std::strcmp(e->d_name, "..") == 0) continue;
      if (unlinkat(dirfd(d), e->d_name, 0) != 0 && status.ok()) {
        status = ErrnoFromLastError(absl::StrCat("unlink ", dir, "/", e->d_name));
      }
    }
    closedir(d);
    if (!status.ok()) return status;
    // Emptied is not enough: an ext4 directory keeps the blocks it grew to,
    // so the next daemon would create into a larger (sparse) one.
    if (rmdir(dir.c_str()) != 0) return ErrnoFromLastError("rmdir " + dir);
  } else if (errno != ENOENT) {
    return ErrnoFromLastError("opendir " + dir);
  }
  if (mkdir(dir.c_str(), 0755) != 0) return ErrnoFromLastError("mkdir " + dir);
  return absl::OkStatus();
}

absl::Status SyncFilesystem(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoFromLastError("open " + path);
  const int rc = syncfs(fd);
  const int saved = errno;
  close(fd);
  if (rc != 0) {
    errno = saved;
    return ErrnoFromLastError("syncfs " + path);
  }
  return absl::OkStatus();
}

const std::map<std::string, BenchWorkloadInfo>& BenchWorkloads() {
  static const auto* workloads = new std::map<std::string, BenchWorkloadInfo>{
      {"getattr",
       {"FUSE_GETATTR of one file", [] { return std::make_unique<GetAttrWorkload>(); }}},
      {"lookup",
       {"FUSE_LOOKUP of one name in the root", [] { return std::make_unique<LookupWorkload>(); }}},
      {"read4k",
       {"4 KiB FUSE_READ at random offsets of a cached 64 MiB file",
        [] { return std::make_unique<ReadWorkload>(4096); }}},
      {"read128k",
       {"128 KiB FUSE_READ at random offsets of a cached 64 MiB file",
        [] { return std::make_unique<ReadWorkload>(128 * 1024); }}},
      {"write4k",
       {"4 KiB FUSE_WRITE at random offsets of a preallocated 64 MiB file",
        [] { return MakeWriteWorkload(4096); }}},
      {"write128k",
       {"128 KiB FUSE_WRITE at random offsets of a preallocated 64 MiB file",
        [] { return MakeWriteWorkload(128 * 1024); }}},
      {"create",
       {"FUSE_CREATE of a new name + FUSE_RELEASE (directory emptied after each run)",
        [] { return MakeCreateWorkload(); }}},
      {"readdir1000",
       {"OPENDIR + 4 KiB READDIRPLUS pages + RELEASEDIR of a 1000-file directory",
        [] { return MakeReadDirWorkload(/*plus=*/true); }}},
      {"readdir1000-noplus",
       {"OPENDIR + 4 KiB READDIR pages + RELEASEDIR of a 1000-file directory",
        [] { return MakeReadDirWorkload(/*plus=*/false); }}},
  };
  return *workloads;
}

}  // namespace vfsd
