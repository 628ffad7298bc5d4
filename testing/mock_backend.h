// A gmock Backend for protocol-layer tests: every virtual of
// backends/backend.h is a MOCK_METHOD, so a test states which backend calls
// a FUSE request must cause and what they complete with.
//
// Completion callbacks are move-only (absl::AnyInvocable): use
// `WillOnce([](..., Done<Entry> done) { done(entry); })` or the helpers
// below, or capture the callback to complete it later from another thread.
#ifndef VFSD_TESTING_MOCK_BACKEND_H_
#define VFSD_TESTING_MOCK_BACKEND_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <tuple>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "backends/backend.h"
#include "gmock/gmock.h"

namespace vfsd {

class MockBackend : public Backend {
 public:
  MOCK_METHOD(absl::Status, Init, (const SessionOptions& options), (override));
  MOCK_METHOD(void, Destroy, (), (override));

  MOCK_METHOD(void, Lookup,
              (const RequestContext& ctx, NodeId parent, absl::string_view name,
               Done<Entry> done),
              (override));
  MOCK_METHOD(void, Forget, (NodeId node, uint64_t nlookup), (override));
  MOCK_METHOD(void, GetAttr,
              (const RequestContext& ctx, NodeId node, std::optional<HandleId> handle,
               Done<Attr> done),
              (override));
  MOCK_METHOD(void, SetAttr,
              (const RequestContext& ctx, NodeId node, const SetAttrRequest& request,
               Done<Attr> done),
              (override));
  MOCK_METHOD(void, ReadLink, (const RequestContext& ctx, NodeId node, Done<std::string> done),
              (override));
  MOCK_METHOD(void, Symlink,
              (const RequestContext& ctx, NodeId parent, absl::string_view name,
               absl::string_view target, Done<Entry> done),
              (override));
  MOCK_METHOD(void, MkNod,
              (const RequestContext& ctx, NodeId parent, absl::string_view name, uint32_t mode,
               uint32_t rdev, uint32_t umask, Done<Entry> done),
              (override));
  MOCK_METHOD(void, MkDir,
              (const RequestContext& ctx, NodeId parent, absl::string_view name, uint32_t mode,
               uint32_t umask, Done<Entry> done),
              (override));
  MOCK_METHOD(void, Unlink,
              (const RequestContext& ctx, NodeId parent, absl::string_view name,
               DoneStatus done),
              (override));
  MOCK_METHOD(void, RmDir,
              (const RequestContext& ctx, NodeId parent, absl::string_view name,
               DoneStatus done),
              (override));
  MOCK_METHOD(void, Rename,
              (const RequestContext& ctx, NodeId parent, absl::string_view name,
               NodeId new_parent, absl::string_view new_name, uint32_t flags, DoneStatus done),
              (override));
  MOCK_METHOD(void, Link,
              (const RequestContext& ctx, NodeId node, NodeId new_parent,
               absl::string_view new_name, Done<Entry> done),
              (override));

  MOCK_METHOD(void, Open,
              (const RequestContext& ctx, NodeId node, uint32_t flags, bool kill_suidgid,
               Done<OpenResult> done),
              (override));
  MOCK_METHOD(void, Create,
              (const RequestContext& ctx, NodeId parent, absl::string_view name, uint32_t mode,
               uint32_t flags, uint32_t umask, bool kill_suidgid, Done<CreateResult> done),
              (override));
  MOCK_METHOD(void, TmpFile,
              (const RequestContext& ctx, NodeId parent, uint32_t mode, uint32_t flags,
               uint32_t umask, Done<CreateResult> done),
              (override));
  MOCK_METHOD(void, Read,
              (const RequestContext& ctx, NodeId node, HandleId handle, uint64_t offset,
               absl::Span<const iovec> dest, Done<size_t> done),
              (override));
  MOCK_METHOD(void, Write,
              (const RequestContext& ctx, NodeId node, HandleId handle, uint64_t offset,
               absl::Span<const iovec> data, WriteFlags flags, Done<size_t> done),
              (override));
  MOCK_METHOD(void, Flush,
              (const RequestContext& ctx, NodeId node, HandleId handle, uint64_t lock_owner,
               DoneStatus done),
              (override));
  MOCK_METHOD(void, Release,
              (const RequestContext& ctx, NodeId node, HandleId handle, uint32_t flags,
               std::optional<uint64_t> lock_owner, bool release_flock, DoneStatus done),
              (override));
  MOCK_METHOD(void, Fsync,
              (const RequestContext& ctx, NodeId node, HandleId handle, bool datasync,
               DoneStatus done),
              (override));
  MOCK_METHOD(void, Fallocate,
              (const RequestContext& ctx, NodeId node, HandleId handle, uint64_t offset,
               uint64_t length, uint32_t mode, DoneStatus done),
              (override));
  MOCK_METHOD(void, Lseek,
              (const RequestContext& ctx, NodeId node, HandleId handle, uint64_t offset,
               uint32_t whence, Done<uint64_t> done),
              (override));
  MOCK_METHOD(void, CopyFileRange,
              (const RequestContext& ctx, NodeId node_in, HandleId handle_in,
               uint64_t offset_in, NodeId node_out, HandleId handle_out, uint64_t offset_out,
               uint64_t length, uint64_t flags, Done<size_t> done),
              (override));

  MOCK_METHOD(void, OpenDir,
              (const RequestContext& ctx, NodeId node, uint32_t flags, Done<OpenResult> done),
              (override));
  MOCK_METHOD(void, ReadDir,
              (const RequestContext& ctx, NodeId node, HandleId handle, uint64_t offset,
               bool plus, DirEntrySink& sink, DoneStatus done),
              (override));
  MOCK_METHOD(void, ReleaseDir,
              (const RequestContext& ctx, NodeId node, HandleId handle, DoneStatus done),
              (override));
  MOCK_METHOD(void, FsyncDir,
              (const RequestContext& ctx, NodeId node, HandleId handle, bool datasync,
               DoneStatus done),
              (override));

  MOCK_METHOD(void, StatFs, (const RequestContext& ctx, NodeId node, Done<vfsd::StatFs> done),
              (override));
  MOCK_METHOD(void, SyncFs, (const RequestContext& ctx, NodeId node, DoneStatus done),
              (override));
  MOCK_METHOD(void, Access,
              (const RequestContext& ctx, NodeId node, uint32_t mask, DoneStatus done),
              (override));

  MOCK_METHOD(void, SetXattr,
              (const RequestContext& ctx, NodeId node, absl::string_view name,
               absl::string_view value, uint32_t flags, bool acl_kill_sgid, DoneStatus done),
              (override));
  MOCK_METHOD(void, GetXattr,
              (const RequestContext& ctx, NodeId node, absl::string_view name,
               Done<std::string> done),
              (override));
  MOCK_METHOD(void, ListXattr, (const RequestContext& ctx, NodeId node, Done<std::string> done),
              (override));
  MOCK_METHOD(void, RemoveXattr,
              (const RequestContext& ctx, NodeId node, absl::string_view name,
               DoneStatus done),
              (override));

  MOCK_METHOD(void, GetLk,
              (const RequestContext& ctx, NodeId node, HandleId handle, uint64_t owner,
               const FileLock& lock, Done<FileLock> done),
              (override));
  MOCK_METHOD(void, SetLk,
              (const RequestContext& ctx, NodeId node, HandleId handle, uint64_t owner,
               const FileLock& lock, bool wait, bool flock, DoneStatus done),
              (override));
};

// A gmock action that completes the mocked method's callback (argument
// #N) with `value` (an OK value or an error status). gmock's
// InvokeArgument cannot be used: it copies the move-only callback.
//   EXPECT_CALL(backend, Lookup(_, 1, Eq("a"), _))
//       .WillOnce(CompleteArg<3>(entry));
template <size_t N, typename T>
auto CompleteArg(T value) {
  return [value = std::move(value)](auto&&... args) {
    auto& done = std::get<N>(std::forward_as_tuple(args...));
    done(value);
  };
}

}  // namespace vfsd

#endif  // VFSD_TESTING_MOCK_BACKEND_H_
