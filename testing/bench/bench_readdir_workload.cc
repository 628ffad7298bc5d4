// readdir1000 / readdir1000-noplus: one operation lists a directory of
// 1000 files the way the guest kernel's getdents loop does: OPENDIR, then
// 4 KiB READDIRPLUS (or READDIR) pages, each resuming at the last record's
// offset cookie, until an empty page, then RELEASEDIR. Replies are walked
// in place (no per-entry allocation on the client, which shares the CPUs
// with the daemon) and the op fails unless exactly the 1000 files showed up.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "backends/errno_status.h"
#include "testing/bench/bench_workload_util.h"

namespace vfsd {
namespace {

constexpr char kListDir[] = "bench-dir1000";
constexpr int kEntries = 1000;
constexpr uint32_t kPage = 4096;  // the kernel reads directories a page at a time
// A listing that needs more pages than this is looping (a bad offset cookie).
constexpr uint32_t kMaxPages = 4 * kEntries;

uint64_t Align8(uint64_t n) { return (n + 7) & ~uint64_t{7}; }

// Walks one READDIR(PLUS) page; counts the non-dot names and returns the
// offset cookie of the last record. Daemon output is not trusted.
absl::Status WalkPage(absl::Span<const uint8_t> page, bool plus, int* names,
                      uint64_t* last_off) {
  const size_t prefix = plus ? sizeof(fuse_entry_out) : 0;
  size_t pos = 0;
  while (pos < page.size()) {
    if (page.size() - pos < prefix + sizeof(fuse_dirent)) {
      return absl::DataLossError("truncated dirent record");
    }
    fuse_dirent d;
    std::memcpy(&d, page.data() + pos + prefix, sizeof(d));
    const uint64_t len = Align8(prefix + sizeof(fuse_dirent) + d.namelen);
    if (d.namelen == 0 || len > page.size() - pos) {
      return absl::DataLossError("dirent record overruns the page");
    }
    const char* name = reinterpret_cast<const char*>(page.data() + pos + prefix +
                                                     offsetof(fuse_dirent, name));
    const bool dot = (d.namelen == 1 && name[0] == '.') ||
                     (d.namelen == 2 && name[0] == '.' && name[1] == '.');
    if (!dot) ++*names;
    *last_off = d.off;
    pos += len;
  }
  return absl::OkStatus();
}

class ReadDirWorkload : public BenchWorkload {
 public:
  explicit ReadDirWorkload(bool plus) : plus_(plus) {}

  absl::Status PrepareSharedDir(const std::string& dir) override {
    const std::string path = dir + "/" + kListDir;
    if (mkdir(path.c_str(), 0755) != 0 && errno != EEXIST) {
      return ErrnoFromLastError("mkdir " + path);
    }
    for (int i = 0; i < kEntries; ++i) {
      char name[32];
      std::snprintf(name, sizeof(name), "/entry-%04d", i);
      const std::string file = path + name;
      const int fd = open(file.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
      if (fd < 0) return ErrnoFromLastError("create " + file);
      close(fd);
    }
    return absl::OkStatus();
  }
  absl::Status Setup(FuseClient& fuse) override {
    absl::StatusOr<fuse_entry_out> entry = fuse.Lookup(FUSE_ROOT_ID, kListDir);
    if (!entry.ok()) return entry.status();
    nodeid_ = entry->nodeid;
    return absl::OkStatus();
  }
  absl::StatusOr<uint64_t> Submit(FuseClient& fuse, std::mt19937_64&) override {
    fuse_open_in in{};
    in.flags = O_RDONLY | O_DIRECTORY;
    absl::StatusOr<uint64_t> unique =
        fuse.Submit(FUSE_OPENDIR, nodeid_, {BenchBytes(in)}, sizeof(fuse_open_out));
    if (unique.ok()) ops_[OpSlot(*unique)] = Listing{};
    return unique;
  }
  absl::StatusOr<std::optional<uint64_t>> Complete(FuseClient& fuse,
                                                   const FuseCompletion& c) override {
    Listing op = ops_[OpSlot(c.unique)];
    absl::Status status;
    switch (c.opcode) {
      case FUSE_OPENDIR: {
        if (!(status = BenchCheckReply(c, sizeof(fuse_open_out))).ok()) return status;
        fuse_open_out open;
        std::memcpy(&open, c.payload.data(), sizeof(open));
        op.fh = open.fh;
        return Next(fuse, op, ReadPage(fuse, op));
      }
      case FUSE_READDIR:
      case FUSE_READDIRPLUS: {
        if (c.error != 0) return ErrnoStatus(-c.error, "READDIR");
        if (c.payload.size() > kPage) return absl::DataLossError("READDIR page too long");
        if (c.payload.empty()) {
          if (op.names != kEntries) {
            return absl::DataLossError(
                absl::StrCat("listing returned ", op.names, " files, want ", kEntries));
          }
          fuse_release_in in{};
          in.fh = op.fh;
          in.flags = O_RDONLY | O_DIRECTORY;
          return Next(fuse, op, fuse.Submit(FUSE_RELEASEDIR, nodeid_, {BenchBytes(in)}, 0));
        }
        if (!(status = WalkPage(c.payload, plus_, &op.names, &op.offset)).ok()) return status;
        if (++op.pages > kMaxPages) return absl::DataLossError("directory listing loops");
        return Next(fuse, op, ReadPage(fuse, op));
      }
      case FUSE_RELEASEDIR:
        if (!(status = BenchCheckReply(c, 0)).ok()) return status;
        return std::optional<uint64_t>();
      default:
        return absl::InternalError(absl::StrCat("unexpected opcode ", c.opcode));
    }
  }

 private:
  struct Listing {
    uint64_t fh = 0;
    uint64_t offset = 0;
    uint32_t pages = 0;
    int names = 0;
  };

  absl::StatusOr<uint64_t> ReadPage(FuseClient& fuse, const Listing& op) {
    fuse_read_in in{};
    in.fh = op.fh;
    in.offset = op.offset;
    in.size = kPage;
    in.flags = O_RDONLY | O_DIRECTORY;
    return fuse.Submit(plus_ ? FUSE_READDIRPLUS : FUSE_READDIR, nodeid_, {BenchBytes(in)},
                       kPage);
  }
  // Carries the op's state over to the request just submitted.
  absl::StatusOr<std::optional<uint64_t>> Next(FuseClient&, const Listing& op,
                                               absl::StatusOr<uint64_t> unique) {
    if (!unique.ok()) return unique.status();
    ops_[OpSlot(*unique)] = op;
    return std::optional<uint64_t>(*unique);
  }

  bool plus_;
  uint64_t nodeid_ = 0;
  Listing ops_[kOpSlots];
};

}  // namespace

std::unique_ptr<BenchWorkload> MakeReadDirWorkload(bool plus) {
  return std::make_unique<ReadDirWorkload>(plus);
}

}  // namespace vfsd
