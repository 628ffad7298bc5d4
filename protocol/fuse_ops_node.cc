// Handlers for name and node operations: LOOKUP, FORGET, BATCH_FORGET,
// GETATTR, SETATTR, READLINK, SYMLINK, MKNOD, MKDIR, UNLINK, RMDIR,
// RENAME(2), LINK.
#include <linux/fuse.h>
#include <stdio.h>  // RENAME_* flags

#include <cerrno>
#include <string>
#include <utility>

#include "backends/errno_status.h"
#include "glog/logging.h"
#include "protocol/fuse_ops.h"
#include "protocol/request_extensions.h"

namespace vfsd {
namespace {

constexpr uint32_t kNsecPerSec = 1000000000;

// renameat2(2) flags a guest may pass; anything else is EINVAL there too.
constexpr uint32_t kRenameFlags = RENAME_NOREPLACE | RENAME_EXCHANGE | RENAME_WHITEOUT;

DoneStatus ReplyStatusWhenDone(FuseRequestPtr req) {
  return [req = std::move(req)](absl::Status status) mutable { req->ReplyStatus(status); };
}

Done<Entry> ReplyEntryWhenDone(FuseRequestPtr req) {
  return [req = std::move(req)](absl::StatusOr<Entry> entry) mutable { ReplyEntry(*req, entry); };
}

// For creating requests: also keeps the security context the backend was
// given alive until it completes.
Done<Entry> ReplyEntryWhenDone(FuseRequestPtr req, std::unique_ptr<LabelledContext> label) {
  return [req = std::move(req), label = std::move(label)](absl::StatusOr<Entry> entry) mutable {
    ReplyEntry(*req, entry);
  };
}

}  // namespace

void HandleLookup(const OpEnv& env, FuseRequestPtr req) {
  std::optional<absl::string_view> name = ReadName(*req, NameKind::kLookup);
  if (!name) return;
  FuseRequest* r = req.get();
  env.backend.Lookup(r->context(), r->node(), *name, ReplyEntryWhenDone(std::move(req)));
}

void HandleForget(const OpEnv& env, FuseRequestPtr req) {
  fuse_forget_in in;
  // No reply exists for FORGET, so a malformed one is only logged.
  if (!req->args().Read(&in)) {
    LOG_EVERY_N(WARNING, 100) << "short FORGET ignored";
  } else {
    env.backend.Forget(req->node(), in.nlookup);
  }
  req->ReplyNone();
}

void HandleBatchForget(const OpEnv& env, FuseRequestPtr req) {
  fuse_batch_forget_in in;
  if (!req->args().Read(&in)) {
    LOG_EVERY_N(WARNING, 100) << "short BATCH_FORGET ignored";
    return req->ReplyNone();
  }
  // The count comes from the guest: only forget what the request holds.
  const size_t present = req->args().rest().size() / sizeof(fuse_forget_one);
  if (in.count > present) {
    LOG_EVERY_N(WARNING, 100) << "BATCH_FORGET claims " << in.count << " entries but holds " << present
                 << "; ignored";
    return req->ReplyNone();
  }
  for (uint32_t i = 0; i < in.count; ++i) {
    fuse_forget_one one;
    req->args().Read(&one);
    if (one.nodeid != 0) env.backend.Forget(one.nodeid, one.nlookup);
  }
  req->ReplyNone();
}

void HandleGetAttr(const OpEnv& env, FuseRequestPtr req) {
  std::optional<HandleId> handle;
  if (req->minor() >= 9) {  // fuse_getattr_in exists since 7.9
    fuse_getattr_in in;
    if (!ReadArg(*req, &in)) return;
    if (in.getattr_flags & FUSE_GETATTR_FH) handle = in.fh;
  }
  FuseRequest* r = req.get();
  env.backend.GetAttr(r->context(), r->node(), handle,
                      [req = std::move(req)](absl::StatusOr<Attr> attr) mutable {
                        ReplyAttr(*req, attr);
                      });
}

void HandleSetAttr(const OpEnv& env, FuseRequestPtr req) {
  fuse_setattr_in in;
  if (!ReadArg(*req, &in)) return;
  SetAttrRequest sa;
  if (in.valid & FATTR_FH) sa.handle = in.fh;
  if (in.valid & FATTR_MODE) sa.mode = in.mode & 07777;
  if (in.valid & FATTR_UID) sa.uid = in.uid;
  if (in.valid & FATTR_GID) sa.gid = in.gid;
  if (in.valid & FATTR_SIZE) sa.size = in.size;
  if (in.valid & FATTR_LOCKOWNER) sa.lock_owner = in.lock_owner;
  if (in.valid & FATTR_KILL_SUIDGID) sa.kill_suidgid = true;
  // utimensat(2) answers EINVAL for out-of-range nanoseconds; so do we,
  // before the backend converts them.
  if (in.valid & FATTR_ATIME_NOW) {
    sa.atime_change = SetAttrRequest::TimeChange::kNow;
  } else if (in.valid & FATTR_ATIME) {
    if (in.atimensec >= kNsecPerSec) return req->ReplyError(EINVAL);
    sa.atime_change = SetAttrRequest::TimeChange::kValue;
    sa.atime = Timespec{static_cast<int64_t>(in.atime), in.atimensec};
  }
  if (in.valid & FATTR_MTIME_NOW) {
    sa.mtime_change = SetAttrRequest::TimeChange::kNow;
  } else if (in.valid & FATTR_MTIME) {
    if (in.mtimensec >= kNsecPerSec) return req->ReplyError(EINVAL);
    sa.mtime_change = SetAttrRequest::TimeChange::kValue;
    sa.mtime = Timespec{static_cast<int64_t>(in.mtime), in.mtimensec};
  }
  if (in.valid & FATTR_CTIME) {
    if (in.ctimensec >= kNsecPerSec) return req->ReplyError(EINVAL);
    sa.ctime = Timespec{static_cast<int64_t>(in.ctime), in.ctimensec};
  }
  FuseRequest* r = req.get();
  env.backend.SetAttr(r->context(), r->node(), sa,
                      [req = std::move(req)](absl::StatusOr<Attr> attr) mutable {
                        ReplyAttr(*req, attr);
                      });
}

void HandleReadLink(const OpEnv& env, FuseRequestPtr req) {
  FuseRequest* r = req.get();
  env.backend.ReadLink(r->context(), r->node(),
                       [req = std::move(req)](absl::StatusOr<std::string> target) mutable {
                         if (!target.ok()) return req->ReplyStatus(target.status());
                         // The kernel wants the target without its NUL.
                         req->ReplyOk(target->data(), target->size());
                       });
}

void HandleSymlink(const OpEnv& env, FuseRequestPtr req) {
  // Kernel order: the new entry's name, then the target (fuse_symlink).
  std::optional<absl::string_view> name = ReadName(*req, NameKind::kEntry);
  if (!name) return;
  absl::StatusOr<absl::string_view> target = req->args().SymlinkTarget();
  if (!target.ok()) return req->ReplyStatus(target.status());
  std::unique_ptr<LabelledContext> label;
  if (!ReadSecurityContextOrReply(*req, env.options.security_label, &label)) return;
  FuseRequest* r = req.get();
  const RequestContext& ctx = label ? label->ctx : r->context();
  env.backend.Symlink(ctx, r->node(), *name, *target,
                      ReplyEntryWhenDone(std::move(req), std::move(label)));
}

void HandleMkNod(const OpEnv& env, FuseRequestPtr req) {
  fuse_mknod_in in;
  // Before 7.12 there was no umask field.
  if (!ReadArg(*req, &in, req->minor() >= 12 ? sizeof(in) : FUSE_COMPAT_MKNOD_IN_SIZE)) return;
  std::optional<absl::string_view> name = ReadName(*req, NameKind::kEntry);
  if (!name) return;
  std::unique_ptr<LabelledContext> label;
  if (!ReadSecurityContextOrReply(*req, env.options.security_label, &label)) return;
  FuseRequest* r = req.get();
  const RequestContext& ctx = label ? label->ctx : r->context();
  env.backend.MkNod(ctx, r->node(), *name, in.mode, in.rdev, in.umask,
                    ReplyEntryWhenDone(std::move(req), std::move(label)));
}

void HandleMkDir(const OpEnv& env, FuseRequestPtr req) {
  fuse_mkdir_in in;
  if (!ReadArg(*req, &in)) return;
  std::optional<absl::string_view> name = ReadName(*req, NameKind::kEntry);
  if (!name) return;
  std::unique_ptr<LabelledContext> label;
  if (!ReadSecurityContextOrReply(*req, env.options.security_label, &label)) return;
  FuseRequest* r = req.get();
  const RequestContext& ctx = label ? label->ctx : r->context();
  env.backend.MkDir(ctx, r->node(), *name, in.mode, in.umask,
                    ReplyEntryWhenDone(std::move(req), std::move(label)));
}

void HandleUnlink(const OpEnv& env, FuseRequestPtr req) {
  std::optional<absl::string_view> name = ReadName(*req, NameKind::kEntry);
  if (!name) return;
  FuseRequest* r = req.get();
  env.backend.Unlink(r->context(), r->node(), *name, ReplyStatusWhenDone(std::move(req)));
}

void HandleRmDir(const OpEnv& env, FuseRequestPtr req) {
  std::optional<absl::string_view> name = ReadName(*req, NameKind::kEntry);
  if (!name) return;
  FuseRequest* r = req.get();
  env.backend.RmDir(r->context(), r->node(), *name, ReplyStatusWhenDone(std::move(req)));
}

void HandleRename(const OpEnv& env, FuseRequestPtr req) {
  NodeId new_parent = 0;
  uint32_t flags = 0;
  if (req->header().opcode == FUSE_RENAME2) {
    fuse_rename2_in in;
    if (!ReadArg(*req, &in)) return;
    new_parent = in.newdir;
    flags = in.flags;
  } else {
    fuse_rename_in in;
    if (!ReadArg(*req, &in)) return;
    new_parent = in.newdir;
  }
  if (new_parent == 0) return req->ReplyError(EINVAL);
  if (flags & ~kRenameFlags) return req->ReplyError(EINVAL);
  std::optional<absl::string_view> name = ReadName(*req, NameKind::kEntry);
  if (!name) return;
  std::optional<absl::string_view> new_name = ReadName(*req, NameKind::kEntry);
  if (!new_name) return;
  FuseRequest* r = req.get();
  env.backend.Rename(r->context(), r->node(), *name, new_parent, *new_name, flags,
                     ReplyStatusWhenDone(std::move(req)));
}

void HandleLink(const OpEnv& env, FuseRequestPtr req) {
  // The header names the new parent; the argument names the existing node.
  fuse_link_in in;
  if (!ReadArg(*req, &in)) return;
  if (in.oldnodeid == 0) return req->ReplyError(EINVAL);
  std::optional<absl::string_view> name = ReadName(*req, NameKind::kEntry);
  if (!name) return;
  FuseRequest* r = req.get();
  env.backend.Link(r->context(), in.oldnodeid, r->node(), *name,
                   ReplyEntryWhenDone(std::move(req)));
}

}  // namespace vfsd
