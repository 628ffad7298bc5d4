#include "backends/backend.h"

#include <cerrno>

#include "backends/errno_status.h"

namespace vfsd {

// Default answers: ENOSYS, which the guest kernel treats as "not supported"
// (see docs/protocol.md for its fallback per operation).

void Backend::Lookup(const RequestContext& ctx, NodeId parent, absl::string_view name, Done<Entry> done) {
  done(ErrnoStatus(ENOSYS));
}

void Backend::GetAttr(const RequestContext& ctx, NodeId node, std::optional<HandleId> handle, Done<Attr> done) {
  done(ErrnoStatus(ENOSYS));
}

void Backend::SetAttr(const RequestContext& ctx, NodeId node, const SetAttrRequest& request, Done<Attr> done) {
  done(ErrnoStatus(ENOSYS));
}

void Backend::ReadLink(const RequestContext& ctx, NodeId node, Done<std::string> done) {
  done(ErrnoStatus(ENOSYS));
}

void Backend::Symlink(const RequestContext& ctx, NodeId parent, absl::string_view name, absl::string_view target, Done<Entry> done) {
  done(ErrnoStatus(ENOSYS));
}

void Backend::MkNod(const RequestContext& ctx, NodeId parent, absl::string_view name, uint32_t mode, uint32_t rdev, uint32_t umask, Done<Entry> done) {
  done(ErrnoStatus(ENOSYS));
}

void Backend::MkDir(const RequestContext& ctx, NodeId parent, absl::string_view name, uint32_t mode, uint32_t umask, Done<Entry> done) {
  done(ErrnoStatus(ENOSYS));
}

void Backend::Unlink(const RequestContext& ctx, NodeId parent, absl::string_view name, DoneStatus done) {
  done(ErrnoStatus(ENOSYS));
}

void Backend::RmDir(const RequestContext& ctx, NodeId parent, absl::string_view name, DoneStatus done) {
  done(ErrnoStatus(ENOSYS));
}

void Backend::Rename(const RequestContext& ctx, NodeId parent, absl::string_view name, NodeId new_parent, absl::string_view new_name, uint32_t flags, DoneStatus done) {
  done(ErrnoStatus(ENOSYS));
}

void Backend::Link(const RequestContext& ctx, NodeId node, NodeId new_parent, absl::string_view new_name, Done<Entry> done) {
  done(ErrnoStatus(ENOSYS));
}

void Backend::Open(const RequestContext& ctx, NodeId node, uint32_t flags, bool kill_suidgid, Done<OpenResult> done) {
  done(ErrnoStatus(ENOSYS));
}

void Backend::Create(const RequestContext& ctx, NodeId parent, absl::string_view name, uint32_t mode, uint32_t flags, uint32_t umask, bool kill_suidgid, Done<CreateResult> done) {
  done(ErrnoStatus(ENOSYS));
}

void Backend::TmpFile(const RequestContext& ctx, NodeId parent, uint32_t mode, uint32_t flags, uint32_t umask, Done<CreateResult> done) {
  done(ErrnoStatus(ENOSYS));
}

void Backend::Read(const RequestContext& ctx, NodeId node, HandleId handle, uint64_t offset, absl::Span<const iovec> dest, Done<size_t> done) {
  done(ErrnoStatus(ENOSYS));
}

void Backend::Write(const RequestContext& ctx, NodeId node, HandleId handle, uint64_t offset, absl::Span<const iovec> data, WriteFlags flags, Done<size_t> done) {
  done(ErrnoStatus(ENOSYS));
}

void Backend::Flush(const RequestContext& ctx, NodeId node, HandleId handle, uint64_t lock_owner, DoneStatus done) {
  done(ErrnoStatus(ENOSYS));
}

void Backend::Release(const RequestContext& ctx, NodeId node, HandleId handle, uint32_t flags, std::optional<uint64_t> lock_owner, bool release_flock, DoneStatus done) {
  done(ErrnoStatus(ENOSYS));
}

void Backend::Fsync(const RequestContext& ctx, NodeId node, HandleId handle, bool datasync, DoneStatus done) {
  done(ErrnoStatus(ENOSYS));
}

void Backend::Fallocate(const RequestContext& ctx, NodeId node, HandleId handle, uint64_t offset, uint64_t length, uint32_t mode, DoneStatus done) {
  done(ErrnoStatus(ENOSYS));
}

void Backend::Lseek(const RequestContext& ctx, NodeId node, HandleId handle, uint64_t offset, uint32_t whence, Done<uint64_t> done) {
  done(ErrnoStatus(ENOSYS));
}

void Backend::CopyFileRange(const RequestContext& ctx, NodeId node_in, HandleId handle_in, uint64_t offset_in, NodeId node_out, HandleId handle_out, uint64_t offset_out, uint64_t length, uint64_t flags, Done<size_t> done) {
  done(ErrnoStatus(ENOSYS));
}

void Backend::OpenDir(const RequestContext& ctx, NodeId node, uint32_t flags, Done<OpenResult> done) {
  done(ErrnoStatus(ENOSYS));
}

void Backend::ReadDir(const RequestContext& ctx, NodeId node, HandleId handle, uint64_t offset, bool plus, DirEntrySink& sink, DoneStatus done) {
  done(ErrnoStatus(ENOSYS));
}

void Backend::ReleaseDir(const RequestContext& ctx, NodeId node, HandleId handle, DoneStatus done) {
  done(ErrnoStatus(ENOSYS));
}

void Backend::FsyncDir(const RequestContext& ctx, NodeId node, HandleId handle, bool datasync, DoneStatus done) {
  done(ErrnoStatus(ENOSYS));
}

void Backend::StatFs(const RequestContext& ctx, NodeId node, Done<vfsd::StatFs> done) {
  done(ErrnoStatus(ENOSYS));
}

void Backend::SyncFs(const RequestContext& ctx, NodeId node, DoneStatus done) {
  done(ErrnoStatus(ENOSYS));
}

void Backend::Access(const RequestContext& ctx, NodeId node, uint32_t mask, DoneStatus done) {
  done(ErrnoStatus(ENOSYS));
}

void Backend::SetXattr(const RequestContext& ctx, NodeId node, absl::string_view name, absl::string_view value, uint32_t flags, bool acl_kill_sgid, DoneStatus done) {
  done(ErrnoStatus(ENOSYS));
}

void Backend::GetXattr(const RequestContext& ctx, NodeId node, absl::string_view name, Done<std::string> done) {
  done(ErrnoStatus(ENOSYS));
}

void Backend::ListXattr(const RequestContext& ctx, NodeId node, Done<std::string> done) {
  done(ErrnoStatus(ENOSYS));
}

void Backend::RemoveXattr(const RequestContext& ctx, NodeId node, absl::string_view name, DoneStatus done) {
  done(ErrnoStatus(ENOSYS));
}

void Backend::GetLk(const RequestContext& ctx, NodeId node, HandleId handle, uint64_t owner, const FileLock& lock, Done<FileLock> done) {
  done(ErrnoStatus(ENOSYS));
}

void Backend::SetLk(const RequestContext& ctx, NodeId node, HandleId handle, uint64_t owner, const FileLock& lock, bool wait, bool flock, DoneStatus done) {
  done(ErrnoStatus(ENOSYS));
}

}  // namespace vfsd
