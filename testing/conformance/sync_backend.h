// SyncBackend: calls Backend methods synchronously, for tests.
//
// Backends may complete a request before returning or later from another
// thread; tests want a value. Each call here starts the request, waits for
// its completion and returns the StatusOr. A completion that never comes
// fails the test after a generous deadline instead of hanging it, and a
// second completion of the same request (a contract violation) is reported
// as a test failure.
#ifndef VFSD_TESTING_CONFORMANCE_SYNC_BACKEND_H_
#define VFSD_TESTING_CONFORMANCE_SYNC_BACKEND_H_

#include <sys/uio.h>

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "backends/backend.h"

namespace vfsd {
namespace testing_internal {

// Shared between the caller and the completion callback, so a late or
// repeated completion never touches a dead stack frame.
template <typename T>
struct CompletionState {
  std::mutex mu;
  std::condition_variable cv;
  std::optional<T> result;
  int calls = 0;
};

// Waits for the completion; a missing one becomes DeadlineExceeded.
template <typename T>
T WaitFor(const std::shared_ptr<CompletionState<T>>& state, T on_timeout);

void ReportExtraCompletion();

}  // namespace testing_internal

// Collects READDIR/READDIRPLUS output within a byte budget computed like the
// FUSE reply (fuse_dirent: 24 bytes + name, 8-aligned; fuse_direntplus adds
// a 128-byte fuse_entry_out), so tests can force replies to stop anywhere.
class RecordingDirSink : public DirEntrySink {
 public:
  struct Record {
    uint64_t ino = 0;
    uint64_t next_offset = 0;
    uint32_t type = 0;
    std::string name;
    std::optional<Entry> entry;  // READDIRPLUS, except "." and ".."
  };

  RecordingDirSink(size_t budget_bytes, bool plus) : budget_(budget_bytes), plus_(plus) {}

  bool Fits(size_t name_len) const override { return used_ + RecordSize(name_len) <= budget_; }
  void Add(const DirEntry& dirent, const Entry* entry) override;

  const std::vector<Record>& records() const { return records_; }
  // Add() calls for entries Fits() had refused (must stay 0).
  int overflows() const { return overflows_; }

 private:
  size_t RecordSize(size_t name_len) const {
    return (plus_ ? 128 : 0) + ((24 + name_len + 7) & ~size_t{7});
  }

  size_t budget_;
  bool plus_;
  size_t used_ = 0;
  int overflows_ = 0;
  std::vector<Record> records_;
};

class SyncBackend {
 public:
  explicit SyncBackend(Backend& backend) : backend_(backend) {}

  // The context used when a call does not pass one: root in the guest.
  static RequestContext Root() { return RequestContext{}; }

  absl::StatusOr<Entry> Lookup(NodeId parent, absl::string_view name,
                               const RequestContext& ctx = Root());
  void Forget(NodeId node, uint64_t nlookup) { backend_.Forget(node, nlookup); }
  absl::StatusOr<Attr> GetAttr(NodeId node, std::optional<HandleId> handle = std::nullopt,
                               const RequestContext& ctx = Root());
  absl::StatusOr<std::string> ReadLink(NodeId node, const RequestContext& ctx = Root());
  absl::StatusOr<OpenResult> Open(NodeId node, uint32_t flags, const RequestContext& ctx = Root());
  // OPEN with FUSE_OPEN_KILL_SUIDGID as `kill_suidgid`.
  absl::StatusOr<OpenResult> Open(NodeId node, uint32_t flags, bool kill_suidgid,
                                  const RequestContext& ctx = Root());
  // Reads up to `size` bytes into a buffer split in `pieces` iovecs.
  absl::StatusOr<std::string> Read(NodeId node, HandleId handle, uint64_t offset, size_t size,
                                   size_t pieces = 1, const RequestContext& ctx = Root());
  absl::Status Flush(NodeId node, HandleId handle, const RequestContext& ctx = Root());
  absl::Status Release(NodeId node, HandleId handle, const RequestContext& ctx = Root());
  absl::StatusOr<OpenResult> OpenDir(NodeId node, uint32_t flags = 0,
                                     const RequestContext& ctx = Root());
  absl::Status ReadDir(NodeId node, HandleId handle, uint64_t offset, bool plus,
                       DirEntrySink& sink, const RequestContext& ctx = Root());
  absl::Status ReleaseDir(NodeId node, HandleId handle, const RequestContext& ctx = Root());
  absl::StatusOr<vfsd::StatFs> StatFs(NodeId node, const RequestContext& ctx = Root());
  absl::Status Access(NodeId node, uint32_t mask, const RequestContext& ctx = Root());

  // Modifying operations.
  absl::StatusOr<Attr> SetAttr(NodeId node, const SetAttrRequest& request,
                               const RequestContext& ctx = Root());
  absl::StatusOr<Entry> MkDir(NodeId parent, absl::string_view name, uint32_t mode,
                              uint32_t umask = 0, const RequestContext& ctx = Root());
  absl::StatusOr<Entry> MkNod(NodeId parent, absl::string_view name, uint32_t mode,
                              uint32_t rdev = 0, uint32_t umask = 0,
                              const RequestContext& ctx = Root());
  absl::StatusOr<Entry> Symlink(NodeId parent, absl::string_view name, absl::string_view target,
                                const RequestContext& ctx = Root());
  absl::Status Unlink(NodeId parent, absl::string_view name, const RequestContext& ctx = Root());
  absl::Status RmDir(NodeId parent, absl::string_view name, const RequestContext& ctx = Root());
  absl::Status Rename(NodeId parent, absl::string_view name, NodeId new_parent,
                      absl::string_view new_name, uint32_t flags = 0,
                      const RequestContext& ctx = Root());
  absl::StatusOr<Entry> Link(NodeId node, NodeId new_parent, absl::string_view new_name,
                             const RequestContext& ctx = Root());
  absl::StatusOr<CreateResult> Create(NodeId parent, absl::string_view name, uint32_t mode,
                                      uint32_t flags, uint32_t umask = 0,
                                      const RequestContext& ctx = Root());
  // CREATE with FUSE_OPEN_KILL_SUIDGID as `kill_suidgid`.
  absl::StatusOr<CreateResult> Create(NodeId parent, absl::string_view name, uint32_t mode,
                                      uint32_t flags, uint32_t umask, bool kill_suidgid,
                                      const RequestContext& ctx = Root());
  absl::StatusOr<CreateResult> TmpFile(NodeId parent, uint32_t mode, uint32_t flags,
                                       uint32_t umask = 0, const RequestContext& ctx = Root());
  absl::StatusOr<size_t> Write(NodeId node, HandleId handle, uint64_t offset,
                               absl::string_view data, WriteFlags flags = {},
                               const RequestContext& ctx = Root());
  absl::Status Fsync(NodeId node, HandleId handle, bool datasync,
                     const RequestContext& ctx = Root());
  absl::Status FsyncDir(NodeId node, HandleId handle, bool datasync,
                        const RequestContext& ctx = Root());
  absl::Status Fallocate(NodeId node, HandleId handle, uint64_t offset, uint64_t length,
                         uint32_t mode, const RequestContext& ctx = Root());
  absl::StatusOr<uint64_t> Lseek(NodeId node, HandleId handle, uint64_t offset, uint32_t whence,
                                 const RequestContext& ctx = Root());
  absl::StatusOr<size_t> CopyFileRange(NodeId node_in, HandleId handle_in, uint64_t offset_in,
                                       NodeId node_out, HandleId handle_out,
                                       uint64_t offset_out, uint64_t length,
                                       const RequestContext& ctx = Root());
  absl::Status SyncFs(NodeId node, const RequestContext& ctx = Root());

  // Extended attributes.
  absl::Status SetXattr(NodeId node, absl::string_view name, absl::string_view value,
                        uint32_t flags = 0, bool acl_kill_sgid = false,
                        const RequestContext& ctx = Root());
  absl::StatusOr<std::string> GetXattr(NodeId node, absl::string_view name,
                                       const RequestContext& ctx = Root());
  absl::StatusOr<std::string> ListXattr(NodeId node, const RequestContext& ctx = Root());
  absl::Status RemoveXattr(NodeId node, absl::string_view name,
                           const RequestContext& ctx = Root());

  // Every entry of directory `node` from offset 0 to the end, in replies of
  // at most `budget` bytes; each record's `entry` holds the READDIRPLUS
  // entry (whose lookup reference the caller now owns).
  absl::StatusOr<std::vector<RecordingDirSink::Record>> ReadAll(NodeId node, bool plus,
                                                               size_t budget = 4096);

  Backend& backend() { return backend_; }

 private:
  Backend& backend_;
};

}  // namespace vfsd

#endif  // VFSD_TESTING_CONFORMANCE_SYNC_BACKEND_H_
