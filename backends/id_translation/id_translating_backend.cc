#include "backends/id_translation/id_translating_backend.h"

#include <cerrno>
#include <utility>

#include "backends/errno_status.h"

namespace vfsd {
namespace {

// Passes READDIRPLUS entries on with their attributes in guest ids.
class TranslatingSink : public DirEntrySink {
 public:
  TranslatingSink(DirEntrySink& inner, const IdMap& uids, const IdMap& gids)
      : inner_(inner), uids_(uids), gids_(gids) {}
  bool Fits(size_t name_len) const override { return inner_.Fits(name_len); }
  void Add(const DirEntry& dirent, const Entry* entry) override {
    if (entry == nullptr) return inner_.Add(dirent, nullptr);
    Entry guest = *entry;
    guest.attr.uid = uids_.HostToGuest(guest.attr.uid);
    guest.attr.gid = gids_.HostToGuest(guest.attr.gid);
    inner_.Add(dirent, &guest);
  }

 private:
  DirEntrySink& inner_;
  const IdMap& uids_;
  const IdMap& gids_;
};

absl::Status Forbidden(const char* what) { return ErrnoStatus(EPERM, what); }

}  // namespace

IdTranslatingBackend::IdTranslatingBackend(std::unique_ptr<Backend> inner, IdMap uids,
                                           IdMap gids)
    : inner_(std::move(inner)), uids_(std::move(uids)), gids_(std::move(gids)) {}

absl::StatusOr<RequestContext> IdTranslatingBackend::HostContext(const RequestContext& ctx,
                                                                 bool strict) const {
  RequestContext host = ctx;
  const std::optional<uint32_t> uid = uids_.GuestToHost(ctx.uid);
  const std::optional<uint32_t> gid = gids_.GuestToHost(ctx.gid);
  if (strict && (!uid.has_value() || !gid.has_value())) {
    return Forbidden("caller id forbidden by --translate-uid/--translate-gid");
  }
  host.uid = uid.value_or(kOverflowId);
  host.gid = gid.value_or(kOverflowId);
  return host;
}

RequestContext IdTranslatingBackend::LenientContext(const RequestContext& ctx) const {
  return *HostContext(ctx, /*strict=*/false);
}

Attr IdTranslatingBackend::GuestAttr(Attr attr) const {
  attr.uid = uids_.HostToGuest(attr.uid);
  attr.gid = gids_.HostToGuest(attr.gid);
  return attr;
}

Done<Entry> IdTranslatingBackend::GuestEntry(Done<Entry> done) const {
  return [this, done = std::move(done)](absl::StatusOr<Entry> entry) mutable {
    if (entry.ok()) entry->attr = GuestAttr(entry->attr);
    done(std::move(entry));
  };
}

Done<Attr> IdTranslatingBackend::GuestAttrDone(Done<Attr> done) const {
  return [this, done = std::move(done)](absl::StatusOr<Attr> attr) mutable {
    if (attr.ok()) *attr = GuestAttr(*attr);
    done(std::move(attr));
  };
}

Done<CreateResult> IdTranslatingBackend::GuestCreate(Done<CreateResult> done) const {
  return [this, done = std::move(done)](absl::StatusOr<CreateResult> result) mutable {
    if (result.ok()) result->entry.attr = GuestAttr(result->entry.attr);
    done(std::move(result));
  };
}

absl::Status IdTranslatingBackend::Init(const SessionOptions& options) {
  return inner_->Init(options);
}

void IdTranslatingBackend::Destroy() { inner_->Destroy(); }

void IdTranslatingBackend::Lookup(const RequestContext& ctx, NodeId parent,
                                  absl::string_view name, Done<Entry> done) {
  inner_->Lookup(LenientContext(ctx), parent, name, GuestEntry(std::move(done)));
}

void IdTranslatingBackend::Forget(NodeId node, uint64_t nlookup) { inner_->Forget(node, nlookup); }

void IdTranslatingBackend::GetAttr(const RequestContext& ctx, NodeId node,
                                   std::optional<HandleId> handle, Done<Attr> done) {
  inner_->GetAttr(LenientContext(ctx), node, handle, GuestAttrDone(std::move(done)));
}

void IdTranslatingBackend::SetAttr(const RequestContext& ctx, NodeId node,
                                   const SetAttrRequest& request, Done<Attr> done) {
  absl::StatusOr<RequestContext> host = HostContext(ctx, /*strict=*/true);
  if (!host.ok()) return done(host.status());
  SetAttrRequest host_request = request;
  if (request.uid.has_value()) {
    std::optional<uint32_t> uid = uids_.GuestToHost(*request.uid);
    if (!uid.has_value()) return done(Forbidden("chown to a forbidden uid"));
    host_request.uid = *uid;
  }
  if (request.gid.has_value()) {
    std::optional<uint32_t> gid = gids_.GuestToHost(*request.gid);
    if (!gid.has_value()) return done(Forbidden("chown to a forbidden gid"));
    host_request.gid = *gid;
  }
  inner_->SetAttr(*host, node, host_request, GuestAttrDone(std::move(done)));
}

void IdTranslatingBackend::ReadLink(const RequestContext& ctx, NodeId node,
                                    Done<std::string> done) {
  inner_->ReadLink(LenientContext(ctx), node, std::move(done));
}

void IdTranslatingBackend::Symlink(const RequestContext& ctx, NodeId parent,
                                   absl::string_view name, absl::string_view target,
                                   Done<Entry> done) {
  absl::StatusOr<RequestContext> host = HostContext(ctx, /*strict=*/true);
  if (!host.ok()) return done(host.status());
  inner_->Symlink(*host, parent, name, target, GuestEntry(std::move(done)));
}

void IdTranslatingBackend::MkNod(const RequestContext& ctx, NodeId parent,
                                 absl::string_view name, uint32_t mode, uint32_t rdev,
                                 uint32_t umask, Done<Entry> done) {
  absl::StatusOr<RequestContext> host = HostContext(ctx, /*strict=*/true);
  if (!host.ok()) return done(host.status());
  inner_->MkNod(*host, parent, name, mode, rdev, umask, GuestEntry(std::move(done)));
}

void IdTranslatingBackend::MkDir(const RequestContext& ctx, NodeId parent,
                                 absl::string_view name, uint32_t mode, uint32_t umask,
                                 Done<Entry> done) {
  absl::StatusOr<RequestContext> host = HostContext(ctx, /*strict=*/true);
  if (!host.ok()) return done(host.status());
  inner_->MkDir(*host, parent, name, mode, umask, GuestEntry(std::move(done)));
}

void IdTranslatingBackend::Unlink(const RequestContext& ctx, NodeId parent,
                                  absl::string_view name, DoneStatus done) {
  absl::StatusOr<RequestContext> host = HostContext(ctx, /*strict=*/true);
  if (!host.ok()) return done(host.status());
  inner_->Unlink(*host, parent, name, std::move(done));
}

void IdTranslatingBackend::RmDir(const RequestContext& ctx, NodeId parent,
                                 absl::string_view name, DoneStatus done) {
  absl::StatusOr<RequestContext> host = HostContext(ctx, /*strict=*/true);
  if (!host.ok()) return done(host.status());
  inner_->RmDir(*host, parent, name, std::move(done));
}

void IdTranslatingBackend::Rename(const RequestContext& ctx, NodeId parent,
                                  absl::string_view name, NodeId new_parent,
                                  absl::string_view new_name, uint32_t flags, DoneStatus done) {
  absl::StatusOr<RequestContext> host = HostContext(ctx, /*strict=*/true);
  if (!host.ok()) return done(host.status());
  inner_->Rename(*host, parent, name, new_parent, new_name, flags, std::move(done));
}

void IdTranslatingBackend::Link(const RequestContext& ctx, NodeId node, NodeId new_parent,
                                absl::string_view new_name, Done<Entry> done) {
  absl::StatusOr<RequestContext> host = HostContext(ctx, /*strict=*/true);
  if (!host.ok()) return done(host.status());
  inner_->Link(*host, node, new_parent, new_name, GuestEntry(std::move(done)));
}

void IdTranslatingBackend::Open(const RequestContext& ctx, NodeId node, uint32_t flags,
                                bool kill_suidgid, Done<OpenResult> done) {
  inner_->Open(LenientContext(ctx), node, flags, kill_suidgid, std::move(done));
}

void IdTranslatingBackend::Create(const RequestContext& ctx, NodeId parent,
                                  absl::string_view name, uint32_t mode, uint32_t flags,
                                  uint32_t umask, bool kill_suidgid, Done<CreateResult> done) {
  absl::StatusOr<RequestContext> host = HostContext(ctx, /*strict=*/true);
  if (!host.ok()) return done(host.status());
  inner_->Create(*host, parent, name, mode, flags, umask, kill_suidgid,
                 GuestCreate(std::move(done)));
}

void IdTranslatingBackend::TmpFile(const RequestContext& ctx, NodeId parent, uint32_t mode,
                                   uint32_t flags, uint32_t umask, Done<CreateResult> done) {
  absl::StatusOr<RequestContext> host = HostContext(ctx, /*strict=*/true);
  if (!host.ok()) return done(host.status());
  inner_->TmpFile(*host, parent, mode, flags, umask, GuestCreate(std::move(done)));
}

void IdTranslatingBackend::Read(const RequestContext& ctx, NodeId node, HandleId handle,
                                uint64_t offset, absl::Span<const iovec> dest, Done<size_t> done) {
  inner_->Read(LenientContext(ctx), node, handle, offset, dest, std::move(done));
}

void IdTranslatingBackend::Write(const RequestContext& ctx, NodeId node, HandleId handle,
                                 uint64_t offset, absl::Span<const iovec> data, WriteFlags flags,
                                 Done<size_t> done) {
  inner_->Write(LenientContext(ctx), node, handle, offset, data, flags, std::move(done));
}

void IdTranslatingBackend::Flush(const RequestContext& ctx, NodeId node, HandleId handle,
                                 uint64_t lock_owner, DoneStatus done) {
  inner_->Flush(LenientContext(ctx), node, handle, lock_owner, std::move(done));
}

void IdTranslatingBackend::Release(const RequestContext& ctx, NodeId node, HandleId handle,
                                   uint32_t flags, std::optional<uint64_t> lock_owner,
                                   bool release_flock, DoneStatus done) {
  inner_->Release(LenientContext(ctx), node, handle, flags, lock_owner, release_flock,
                  std::move(done));
}

void IdTranslatingBackend::Fsync(const RequestContext& ctx, NodeId node, HandleId handle,
                                 bool datasync, DoneStatus done) {
  inner_->Fsync(LenientContext(ctx), node, handle, datasync, std::move(done));
}

void IdTranslatingBackend::Fallocate(const RequestContext& ctx, NodeId node, HandleId handle,
                                     uint64_t offset, uint64_t length, uint32_t mode,
                                     DoneStatus done) {
  inner_->Fallocate(LenientContext(ctx), node, handle, offset, length, mode, std::move(done));
}

void IdTranslatingBackend::Lseek(const RequestContext& ctx, NodeId node, HandleId handle,
                                 uint64_t offset, uint32_t whence, Done<uint64_t> done) {
  inner_->Lseek(LenientContext(ctx), node, handle, offset, whence, std::move(done));
}

void IdTranslatingBackend::CopyFileRange(const RequestContext& ctx, NodeId node_in,
                                         HandleId handle_in, uint64_t offset_in, NodeId node_out,
                                         HandleId handle_out, uint64_t offset_out,
                                         uint64_t length, uint64_t flags, Done<size_t> done) {
  inner_->CopyFileRange(LenientContext(ctx), node_in, handle_in, offset_in, node_out, handle_out,
                        offset_out, length, flags, std::move(done));
}

void IdTranslatingBackend::OpenDir(const RequestContext& ctx, NodeId node, uint32_t flags,
                                   Done<OpenResult> done) {
  inner_->OpenDir(LenientContext(ctx), node, flags, std::move(done));
}

void IdTranslatingBackend::ReadDir(const RequestContext& ctx, NodeId node, HandleId handle,
                                   uint64_t offset, bool plus, DirEntrySink& sink,
                                   DoneStatus done) {
  if (!plus) return inner_->ReadDir(LenientContext(ctx), node, handle, offset, plus, sink,
                                    std::move(done));
  // The backend may add entries until it completes, on any thread: the
  // wrapper lives in the completion.
  auto wrapped = std::make_unique<TranslatingSink>(sink, uids_, gids_);
  TranslatingSink& ref = *wrapped;
  inner_->ReadDir(LenientContext(ctx), node, handle, offset, plus, ref,
                  [wrapped = std::move(wrapped), done = std::move(done)](
                      absl::Status status) mutable { done(std::move(status)); });
}

void IdTranslatingBackend::ReleaseDir(const RequestContext& ctx, NodeId node, HandleId handle,
                                      DoneStatus done) {
  inner_->ReleaseDir(LenientContext(ctx), node, handle, std::move(done));
}

void IdTranslatingBackend::FsyncDir(const RequestContext& ctx, NodeId node, HandleId handle,
                                    bool datasync, DoneStatus done) {
  inner_->FsyncDir(LenientContext(ctx), node, handle, datasync, std::move(done));
}

void IdTranslatingBackend::StatFs(const RequestContext& ctx, NodeId node,
                                  Done<vfsd::StatFs> done) {
  inner_->StatFs(LenientContext(ctx), node, std::move(done));
}

void IdTranslatingBackend::SyncFs(const RequestContext& ctx, NodeId node, DoneStatus done) {
  inner_->SyncFs(LenientContext(ctx), node, std::move(done));
}

void IdTranslatingBackend::Access(const RequestContext& ctx, NodeId node, uint32_t mask,
                                  DoneStatus done) {
  // ACCESS answers for the caller's host identity; a forbidden one has none.
  absl::StatusOr<RequestContext> host = HostContext(ctx, /*strict=*/true);
  if (!host.ok()) return done(ErrnoStatus(EACCES, "caller id forbidden"));
  inner_->Access(*host, node, mask, std::move(done));
}

void IdTranslatingBackend::SetXattr(const RequestContext& ctx, NodeId node,
                                    absl::string_view name, absl::string_view value,
                                    uint32_t flags, bool acl_kill_sgid, DoneStatus done) {
  absl::StatusOr<RequestContext> host = HostContext(ctx, /*strict=*/true);
  if (!host.ok()) return done(host.status());
  inner_->SetXattr(*host, node, name, value, flags, acl_kill_sgid, std::move(done));
}

void IdTranslatingBackend::GetXattr(const RequestContext& ctx, NodeId node,
                                    absl::string_view name, Done<std::string> done) {
  inner_->GetXattr(LenientContext(ctx), node, name, std::move(done));
}

void IdTranslatingBackend::ListXattr(const RequestContext& ctx, NodeId node,
                                     Done<std::string> done) {
  inner_->ListXattr(LenientContext(ctx), node, std::move(done));
}

void IdTranslatingBackend::RemoveXattr(const RequestContext& ctx, NodeId node,
                                       absl::string_view name, DoneStatus done) {
  absl::StatusOr<RequestContext> host = HostContext(ctx, /*strict=*/true);
  if (!host.ok()) return done(host.status());
  inner_->RemoveXattr(*host, node, name, std::move(done));
}

void IdTranslatingBackend::GetLk(const RequestContext& ctx, NodeId node, HandleId handle,
                                 uint64_t owner, const FileLock& lock, Done<FileLock> done) {
  // The conflicting lock's pid is a guest pid as the backend reports it,
  // not an id: untouched.
  inner_->GetLk(LenientContext(ctx), node, handle, owner, lock, std::move(done));
}

void IdTranslatingBackend::SetLk(const RequestContext& ctx, NodeId node, HandleId handle,
                                 uint64_t owner, const FileLock& lock, bool wait, bool flock,
                                 DoneStatus done) {
  inner_->SetLk(LenientContext(ctx), node, handle, owner, lock, wait, flock, std::move(done));
}

}  // namespace vfsd
