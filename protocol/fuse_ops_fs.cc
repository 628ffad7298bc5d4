// Handlers for filesystem-wide, extended attribute and lock operations:
// STATFS, SYNCFS, ACCESS, SETXATTR, GETXATTR, LISTXATTR, REMOVEXATTR,
// GETLK, SETLK, SETLKW.
#include <fcntl.h>  // F_RDLCK, F_WRLCK, F_UNLCK
#include <linux/fuse.h>
#include <unistd.h>  // F_OK, R_OK, W_OK, X_OK

#include <cerrno>
#include <string>
#include <utility>

#include "backends/errno_status.h"
#include "glog/logging.h"
#include "protocol/fuse_encode.h"
#include "protocol/fuse_ops.h"

namespace vfsd {
namespace {

// Xattr operations are off unless the daemon enables them: ENOSYS makes the
// kernel stop asking (fc->no_setxattr, no_getxattr, ...) and answer
// EOPNOTSUPP itself, as virtiofsd without --xattr.
bool XattrDisabled(const OpEnv& env, FuseRequest& req) {
  if (env.options.xattr) return false;
  req.ReplyError(ENOSYS);
  return true;
}

// Replies to GETXATTR/LISTXATTR: size 0 asks for the length only; a value
// longer than the guest's buffer is ERANGE (getxattr(2), listxattr(2)).
void ReplyXattrValue(FuseRequest& req, uint32_t size, const absl::StatusOr<std::string>& value) {
  if (!value.ok()) return req.ReplyStatus(value.status());
  if (value->size() > kMaxXattrValue) return req.ReplyError(E2BIG);
  if (size == 0) {
    fuse_getxattr_out out = {};
    out.size = static_cast<uint32_t>(value->size());
    return req.ReplyOk(&out, sizeof(out));
  }
  if (value->size() > size) return req.ReplyError(ERANGE);
  req.ReplyOk(value->data(), value->size());
}

bool ValidLock(const fuse_file_lock& lk) {
  if (lk.type != F_RDLCK && lk.type != F_WRLCK && lk.type != F_UNLCK) return false;
  return lk.start <= lk.end;
}

}  // namespace

void HandleStatFs(const OpEnv& env, FuseRequestPtr req) {
  FuseRequest* r = req.get();
  env.backend.StatFs(r->context(), r->node(),
                     [req = std::move(req)](absl::StatusOr<StatFs> st) mutable {
                       if (!st.ok()) return req->ReplyStatus(st.status());
                       fuse_statfs_out out;
                       EncodeStatFs(*st, &out);
                       req->ReplyOk(&out, StatFsOutSize(req->minor()));
                     });
}

void HandleSyncFs(const OpEnv& env, FuseRequestPtr req) {
  fuse_syncfs_in in;
  if (!ReadArg(*req, &in)) return;
  FuseRequest* r = req.get();
  env.backend.SyncFs(r->context(), r->node(),
                     [req = std::move(req)](absl::Status status) mutable {
                       req->ReplyStatus(status);
                     });
}

void HandleAccess(const OpEnv& env, FuseRequestPtr req) {
  fuse_access_in in;
  if (!ReadArg(*req, &in)) return;
  if (in.mask & ~static_cast<uint32_t>(F_OK | R_OK | W_OK | X_OK)) return req->ReplyError(EINVAL);
  FuseRequest* r = req.get();
  env.backend.Access(r->context(), r->node(), in.mask,
                     [req = std::move(req)](absl::Status status) mutable {
                       req->ReplyStatus(status);
                     });
}

void HandleSetXattr(const OpEnv& env, FuseRequestPtr req) {
  if (XattrDisabled(env, *req)) return;
  fuse_setxattr_in in;
  // The 16-byte form only when FUSE_SETXATTR_EXT was negotiated.
  if (!ReadArg(*req, &in,
               req->protocol().setxattr_ext ? sizeof(in) : FUSE_COMPAT_SETXATTR_IN_SIZE)) {
    return;
  }
  std::optional<absl::string_view> name = ReadName(*req, NameKind::kXattr);
  if (!name) return;
  if (in.size > kMaxXattrValue) return req->ReplyError(E2BIG);
  absl::string_view value;
  if (!req->args().Bytes(in.size, &value)) return req->ReplyError(EINVAL);
  // setxattr_flags exist only in the 16-byte form (zero-filled otherwise).
  const bool acl_kill_sgid = (in.setxattr_flags & FUSE_SETXATTR_ACL_KILL_SGID) != 0;
  FuseRequest* r = req.get();
  env.backend.SetXattr(r->context(), r->node(), *name, value, in.flags, acl_kill_sgid,
                       [req = std::move(req)](absl::Status status) mutable {
                         req->ReplyStatus(status);
                       });
}

void HandleGetXattr(const OpEnv& env, FuseRequestPtr req) {
  if (XattrDisabled(env, *req)) return;
  fuse_getxattr_in in;
  if (!ReadArg(*req, &in)) return;
  std::optional<absl::string_view> name = ReadName(*req, NameKind::kXattr);
  if (!name) return;
  const uint32_t size = in.size;
  FuseRequest* r = req.get();
  env.backend.GetXattr(r->context(), r->node(), *name,
                       [req = std::move(req), size](absl::StatusOr<std::string> value) mutable {
                         ReplyXattrValue(*req, size, value);
                       });
}

void HandleListXattr(const OpEnv& env, FuseRequestPtr req) {
  if (XattrDisabled(env, *req)) return;
  fuse_getxattr_in in;
  if (!ReadArg(*req, &in)) return;
  const uint32_t size = in.size;
  FuseRequest* r = req.get();
  env.backend.ListXattr(r->context(), r->node(),
                        [req = std::move(req), size](absl::StatusOr<std::string> names) mutable {
                          ReplyXattrValue(*req, size, names);
                        });
}

void HandleRemoveXattr(const OpEnv& env, FuseRequestPtr req) {
  if (XattrDisabled(env, *req)) return;
  std::optional<absl::string_view> name = ReadName(*req, NameKind::kXattr);
  if (!name) return;
  FuseRequest* r = req.get();
  env.backend.RemoveXattr(r->context(), r->node(), *name,
                          [req = std::move(req)](absl::Status status) mutable {
                            req->ReplyStatus(status);
                          });
}

void HandleGetLk(const OpEnv& env, FuseRequestPtr req) {
  fuse_lk_in in;
  if (!ReadArg(*req, &in)) return;
  if (!ValidLock(in.lk)) return req->ReplyError(EINVAL);
  FuseRequest* r = req.get();
  env.backend.GetLk(r->context(), r->node(), in.fh, in.owner, DecodeFileLock(in.lk),
                    [req = std::move(req)](absl::StatusOr<FileLock> lock) mutable {
                      if (!lock.ok()) return req->ReplyStatus(lock.status());
                      fuse_lk_out out = {};
                      EncodeFileLock(*lock, &out.lk);
                      req->ReplyOk(&out, sizeof(out));
                    });
}

void HandleSetLk(const OpEnv& env, FuseRequestPtr req) {
  fuse_lk_in in;
  if (!ReadArg(*req, &in)) return;
  if (!ValidLock(in.lk)) return req->ReplyError(EINVAL);
  const bool wait = req->header().opcode == FUSE_SETLKW;
  const bool flock = (in.lk_flags & FUSE_LK_FLOCK) != 0;
  FuseRequest* r = req.get();
  // SETLKW may block in the backend for a long time; backends complete it
  // asynchronously so a queue worker is not held.
  env.backend.SetLk(r->context(), r->node(), in.fh, in.owner, DecodeFileLock(in.lk), wait, flock,
                    [req = std::move(req)](absl::Status status) mutable {
                      req->ReplyStatus(status);
                    });
}

}  // namespace vfsd
