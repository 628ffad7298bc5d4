// Handlers for directory operations: OPENDIR, READDIR, READDIRPLUS,
// RELEASEDIR, FSYNCDIR.
#include <linux/fuse.h>

#include <algorithm>
#include <cerrno>
#include <utility>

#include "backends/errno_status.h"
#include "glog/logging.h"
#include "protocol/fuse_ops.h"

namespace vfsd {

void HandleOpenDir(const OpEnv& env, FuseRequestPtr req) {
  fuse_open_in in;
  if (!ReadArg(*req, &in)) return;
  FuseRequest* r = req.get();
  env.backend.OpenDir(r->context(), r->node(), in.flags,
                      [req = std::move(req)](absl::StatusOr<OpenResult> result) mutable {
                        ReplyOpen(*req, result, /*directory=*/true);
                      });
}

void HandleReadDir(const OpEnv& env, FuseRequestPtr req) {
  fuse_read_in in;
  if (!ReadArg(*req, &in, req->minor() >= 9 ? sizeof(in) : FUSE_COMPAT_WRITE_IN_SIZE)) return;
  const bool plus = req->header().opcode == FUSE_READDIRPLUS;
  // Records never exceed what the guest asked for (the kernel rejects a
  // longer reply) nor the buffer it gave.
  const size_t capacity = std::min<size_t>(in.size, req->out_payload_capacity());
  FuseRequest* r = req.get();
  r->dirents().emplace(r->out(), sizeof(fuse_out_header), capacity, plus, r->timeout(),
                       r->protocol().submounts);
  env.backend.ReadDir(
      r->context(), r->node(), in.fh, in.offset, plus, *r->dirents(),
      [req = std::move(req)](absl::Status status) mutable {
        DirentWriter& dirents = *req->dirents();
        dirents.Flush();
        // Entries already encoded are sent even if the backend failed after
        // them: for READDIRPLUS each holds a lookup reference the guest must
        // learn about (or it leaks), and for READDIR the guest simply asks
        // again from the last offset, as getdents(2) returns partial results.
        if (!status.ok() && dirents.count() == 0) return req->ReplyStatus(status);
        if (!status.ok()) {
          VLOG(1) << "READDIR failed after " << dirents.count() << " entries: " << status;
        }
        req->ReplyWritten(dirents.size());
      });
}

void HandleReleaseDir(const OpEnv& env, FuseRequestPtr req) {
  fuse_release_in in;
  if (!ReadArg(*req, &in, req->minor() >= 8 ? sizeof(in) : 16)) return;
  FuseRequest* r = req.get();
  env.backend.ReleaseDir(r->context(), r->node(), in.fh,
                         [req = std::move(req)](absl::Status status) mutable {
                           req->ReplyStatus(status);
                         });
}

void HandleFsyncDir(const OpEnv& env, FuseRequestPtr req) {
  fuse_fsync_in in;
  if (!ReadArg(*req, &in)) return;
  FuseRequest* r = req.get();
  env.backend.FsyncDir(r->context(), r->node(), in.fh,
                       (in.fsync_flags & FUSE_FSYNC_FDATASYNC) != 0,
                       [req = std::move(req)](absl::Status status) mutable {
                         req->ReplyStatus(status);
                       });
}

}  // namespace vfsd
