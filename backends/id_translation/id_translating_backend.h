// IdTranslatingBackend: a Backend decorator that applies --translate-uid /
// --translate-gid (IdMap) around any backend, so every backend gets the
// same uid/gid translation without knowing about it.
//
// Guest -> host: the caller's uid/gid (RequestContext) and the owner a
// SETATTR sets. Host -> guest: every Attr the backend returns (GETATTR,
// SETATTR, LOOKUP and every creating call's Entry, and the entries of
// READDIRPLUS through a wrapped DirEntrySink). Lock owners' pids (GETLK) are
// not ids and pass untouched; xattr values (POSIX ACLs hold ids) are not
// translated, which is why the daemon refuses --translate-* with --posix-acl
// (as Rust virtiofsd).
//
// A guest id in a forbid-guest range: creating a file as that caller, or
// giving a file that owner, is refused with EPERM; calls that only read run
// with the overflow id 65534 in its place (the backend never sees the
// forbidden id as a host id).
#ifndef VFSD_BACKENDS_ID_TRANSLATION_ID_TRANSLATING_BACKEND_H_
#define VFSD_BACKENDS_ID_TRANSLATION_ID_TRANSLATING_BACKEND_H_

#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "backends/backend.h"
#include "backends/id_translation/id_map.h"

namespace vfsd {

class IdTranslatingBackend : public Backend {
 public:
  // The id that stands in for a forbidden guest id on read-only calls
  // (the kernel's overflowuid/overflowgid).
  static constexpr uint32_t kOverflowId = 65534;

  IdTranslatingBackend(std::unique_ptr<Backend> inner, IdMap uids, IdMap gids);

  Backend& inner() { return *inner_; }

  absl::Status Init(const SessionOptions& options) override;
  void Destroy() override;
  void CancelBlockingRequests() override { inner_->CancelBlockingRequests(); }
  void BeginBatch() override { inner_->BeginBatch(); }
  void EndBatch() override { inner_->EndBatch(); }

  void Lookup(const RequestContext& ctx, NodeId parent, absl::string_view name,
              Done<Entry> done) override;
  void Forget(NodeId node, uint64_t nlookup) override;
  void GetAttr(const RequestContext& ctx, NodeId node, std::optional<HandleId> handle,
               Done<Attr> done) override;
  void SetAttr(const RequestContext& ctx, NodeId node, const SetAttrRequest& request,
               Done<Attr> done) override;
  void ReadLink(const RequestContext& ctx, NodeId node, Done<std::string> done) override;
  void Symlink(const RequestContext& ctx, NodeId parent, absl::string_view name,
               absl::string_view target, Done<Entry> done) override;
  void MkNod(const RequestContext& ctx, NodeId parent, absl::string_view name, uint32_t mode,
             uint32_t rdev, uint32_t umask, Done<Entry> done) override;
  void MkDir(const RequestContext& ctx, NodeId parent, absl::string_view name, uint32_t mode,
             uint32_t umask, Done<Entry> done) override;
  void Unlink(const RequestContext& ctx, NodeId parent, absl::string_view name,
              DoneStatus done) override;
  void RmDir(const RequestContext& ctx, NodeId parent, absl::string_view name,
             DoneStatus done) override;
  void Rename(const RequestContext& ctx, NodeId parent, absl::string_view name,
              NodeId new_parent, absl::string_view new_name, uint32_t flags,
              DoneStatus done) override;
  void Link(const RequestContext& ctx, NodeId node, NodeId new_parent,
            absl::string_view new_name, Done<Entry> done) override;

  void Open(const RequestContext& ctx, NodeId node, uint32_t flags, bool kill_suidgid,
            Done<OpenResult> done) override;
  void Create(const RequestContext& ctx, NodeId parent, absl::string_view name, uint32_t mode,
              uint32_t flags, uint32_t umask, bool kill_suidgid,
              Done<CreateResult> done) override;
  void TmpFile(const RequestContext& ctx, NodeId parent, uint32_t mode, uint32_t flags,
               uint32_t umask, Done<CreateResult> done) override;
  void Read(const RequestContext& ctx, NodeId node, HandleId handle, uint64_t offset,
            absl::Span<const iovec> dest, Done<size_t> done) override;
  void Write(const RequestContext& ctx, NodeId node, HandleId handle, uint64_t offset,
             absl::Span<const iovec> data, WriteFlags flags, Done<size_t> done) override;
  void Flush(const RequestContext& ctx, NodeId node, HandleId handle, uint64_t lock_owner,
             DoneStatus done) override;
  void Release(const RequestContext& ctx, NodeId node, HandleId handle, uint32_t flags,
               std::optional<uint64_t> lock_owner, bool release_flock,
               DoneStatus done) override;
  void Fsync(const RequestContext& ctx, NodeId node, HandleId handle, bool datasync,
             DoneStatus done) override;
  void Fallocate(const RequestContext& ctx, NodeId node, HandleId handle, uint64_t offset,
                 uint64_t length, uint32_t mode, DoneStatus done) override;
  void Lseek(const RequestContext& ctx, NodeId node, HandleId handle, uint64_t offset,
             uint32_t whence, Done<uint64_t> done) override;
  void CopyFileRange(const RequestContext& ctx, NodeId node_in, HandleId handle_in,
                     uint64_t offset_in, NodeId node_out, HandleId handle_out,
                     uint64_t offset_out, uint64_t length, uint64_t flags,
                     Done<size_t> done) override;

  void OpenDir(const RequestContext& ctx, NodeId node, uint32_t flags,
               Done<OpenResult> done) override;
  void ReadDir(const RequestContext& ctx, NodeId node, HandleId handle, uint64_t offset,
               bool plus, DirEntrySink& sink, DoneStatus done) override;
  void ReleaseDir(const RequestContext& ctx, NodeId node, HandleId handle,
                  DoneStatus done) override;
  void FsyncDir(const RequestContext& ctx, NodeId node, HandleId handle, bool datasync,
                DoneStatus done) override;

  void StatFs(const RequestContext& ctx, NodeId node, Done<vfsd::StatFs> done) override;
  void SyncFs(const RequestContext& ctx, NodeId node, DoneStatus done) override;
  void Access(const RequestContext& ctx, NodeId node, uint32_t mask, DoneStatus done) override;

  void SetXattr(const RequestContext& ctx, NodeId node, absl::string_view name,
                absl::string_view value, uint32_t flags, bool acl_kill_sgid,
                DoneStatus done) override;
  void GetXattr(const RequestContext& ctx, NodeId node, absl::string_view name,
                Done<std::string> done) override;
  void ListXattr(const RequestContext& ctx, NodeId node, Done<std::string> done) override;
  void RemoveXattr(const RequestContext& ctx, NodeId node, absl::string_view name,
                   DoneStatus done) override;

  void GetLk(const RequestContext& ctx, NodeId node, HandleId handle, uint64_t owner,
             const FileLock& lock, Done<FileLock> done) override;
  void SetLk(const RequestContext& ctx, NodeId node, HandleId handle, uint64_t owner,
             const FileLock& lock, bool wait, bool flock, DoneStatus done) override;

 private:
  // The caller's context with host ids: EPERM (strict) or the overflow id
  // (lenient) for a forbidden guest id.
  absl::StatusOr<RequestContext> HostContext(const RequestContext& ctx, bool strict) const;
  RequestContext LenientContext(const RequestContext& ctx) const;
  Attr GuestAttr(Attr attr) const;
  Done<Entry> GuestEntry(Done<Entry> done) const;
  Done<Attr> GuestAttrDone(Done<Attr> done) const;
  Done<CreateResult> GuestCreate(Done<CreateResult> done) const;

  std::unique_ptr<Backend> inner_;
  const IdMap uids_;
  const IdMap gids_;
};

}  // namespace vfsd

#endif  // VFSD_BACKENDS_ID_TRANSLATION_ID_TRANSLATING_BACKEND_H_
