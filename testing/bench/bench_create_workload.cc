// create: one operation is FUSE_CREATE of a name never used before in
// bench-create/, FUSE_RELEASE of the returned handle, then FUSE_FORGET of
// the node (what open(O_CREAT|O_EXCL) + close() costs a guest whose dentry
// cache later lets the inode go). The FORGET keeps the daemons' per-inode
// fds from piling up to the fd limit over a long run, as a guest's would.
// The directory is made anew before and after every run so each daemon starts
// from the same state.
#include <fcntl.h>
#include <sys/stat.h>

#include <cstdio>
#include <cstring>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "testing/bench/bench_workload_util.h"

namespace vfsd {
namespace {

constexpr char kCreateDir[] = "bench-create";

class CreateWorkload : public BenchWorkload {
 public:
  absl::Status PrepareSharedDir(const std::string& dir) override {
    return FreshDirectory(dir + "/" + kCreateDir);
  }
  absl::Status CleanUp(const std::string& dir) override {
    absl::Status status = PrepareSharedDir(dir);
    if (!status.ok()) return status;
    // Commit the run's creations and their removal now: left to the
    // journal's timer, that work would land in (and slow) the next run.
    return SyncFilesystem(dir);
  }
  absl::Status Setup(FuseClient& fuse) override {
    absl::StatusOr<fuse_entry_out> entry = fuse.Lookup(FUSE_ROOT_ID, kCreateDir);
    if (!entry.ok()) return entry.status();
    dir_nodeid_ = entry->nodeid;
    return absl::OkStatus();
  }
  absl::StatusOr<uint64_t> Submit(FuseClient& fuse, std::mt19937_64&) override {
    struct {
      fuse_create_in in;
      char name[32];
    } req{};
    // The kernel passes O_CREAT|O_EXCL through for open(O_CREAT|O_EXCL).
    req.in.flags = O_CREAT | O_EXCL | O_WRONLY;
    req.in.mode = S_IFREG | 0644;
    req.in.umask = 022;
    const int n = std::snprintf(req.name, sizeof(req.name), "f%llu",
                                static_cast<unsigned long long>(next_name_++));
    const absl::Span<const uint8_t> all = BenchBytes(req);
    return fuse.Submit(FUSE_CREATE, dir_nodeid_,
                       {all.subspan(0, sizeof(fuse_create_in) + n + 1)},
                       sizeof(fuse_entry_out) + sizeof(fuse_open_out));
  }
  absl::StatusOr<std::optional<uint64_t>> Complete(FuseClient& fuse,
                                                   const FuseCompletion& c) override {
    if (c.opcode == FUSE_FORGET) return std::optional<uint64_t>();  // no reply to check
    if (c.opcode == FUSE_RELEASE) {
      absl::Status status = BenchCheckReply(c, 0);
      if (!status.ok()) return status;
      auto it = released_nodes_.find(c.unique);
      if (it == released_nodes_.end()) return absl::InternalError("RELEASE of an unknown node");
      const uint64_t nodeid = it->second;
      released_nodes_.erase(it);
      fuse_forget_in forget{};
      forget.nlookup = 1;
      absl::StatusOr<uint64_t> unique = fuse.Submit(FUSE_FORGET, nodeid, {BenchBytes(forget)}, 0);
      if (!unique.ok()) return unique.status();
      return std::optional<uint64_t>(*unique);
    }
    absl::Status status = BenchCheckReply(c, sizeof(fuse_entry_out) + sizeof(fuse_open_out));
    if (!status.ok()) return status;
    fuse_entry_out entry;
    fuse_open_out open;
    std::memcpy(&entry, c.payload.data(), sizeof(entry));
    std::memcpy(&open, c.payload.data() + sizeof(entry), sizeof(open));
    if (entry.nodeid == 0 || !S_ISREG(entry.attr.mode)) {
      return absl::DataLossError("CREATE returned no regular-file inode");
    }
    fuse_release_in release{};
    release.fh = open.fh;
    release.flags = O_WRONLY;
    absl::StatusOr<uint64_t> unique =
        fuse.Submit(FUSE_RELEASE, entry.nodeid, {BenchBytes(release)}, 0);
    if (!unique.ok()) return unique.status();
    released_nodes_[*unique] = entry.nodeid;
    return std::optional<uint64_t>(*unique);
  }

 private:
  // RELEASE unique -> the node to FORGET once it completes.
  absl::flat_hash_map<uint64_t, uint64_t> released_nodes_;
  uint64_t dir_nodeid_ = 0;
  uint64_t next_name_ = 0;
};

}  // namespace

std::unique_ptr<BenchWorkload> MakeCreateWorkload() {
  return std::make_unique<CreateWorkload>();
}

}  // namespace vfsd
