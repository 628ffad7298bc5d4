// Handlers for open-file operations: OPEN, CREATE, TMPFILE, READ, WRITE,
// FLUSH, RELEASE, FSYNC, FALLOCATE, LSEEK, COPY_FILE_RANGE.
#include <linux/fuse.h>
#include <unistd.h>  // SEEK_DATA, SEEK_HOLE

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <limits>
#include <utility>

#include "backends/errno_status.h"
#include "glog/logging.h"
#include "protocol/fuse_ops.h"
#include "protocol/request_extensions.h"

namespace vfsd {
namespace {

DoneStatus ReplyStatusWhenDone(FuseRequestPtr req) {
  return [req = std::move(req)](absl::Status status) mutable { req->ReplyStatus(status); };
}

// Also keeps the security context the backend was given (if any) alive
// until it completes.
Done<CreateResult> ReplyCreateWhenDone(FuseRequestPtr req,
                                       std::unique_ptr<LabelledContext> label) {
  return [req = std::move(req), label = std::move(label)](
             absl::StatusOr<CreateResult> result) mutable { ReplyCreate(*req, result); };
}

// FUSE_OPEN_KILL_SUIDGID in fuse_open_in / fuse_create_in (7.12+; zero-filled
// before): an O_TRUNC open of an existing file by a caller without
// CAP_FSETID. Only meaningful once HANDLE_KILLPRIV_V2 was offered; a guest
// that sets it anyway gets what it could also ask for with a SETATTR.
template <typename In>
bool KillSuidgid(const In& in) {
  return (in.open_flags & FUSE_OPEN_KILL_SUIDGID) != 0;
}

// fuse_create_in as the negotiated minor sends it: before 7.12 it was a
// fuse_open_in {flags, mode} without umask.
bool ReadCreateIn(FuseRequest& req, fuse_create_in* in) {
  return ReadArg(req, in, req.minor() >= 12 ? sizeof(*in) : sizeof(fuse_open_in));
}

// fuse_read_in / fuse_write_in lost lock_owner and flags before 7.9.
size_t ReadWriteInSize(uint32_t minor) {
  return minor >= 9 ? sizeof(fuse_write_in) : FUSE_COMPAT_WRITE_IN_SIZE;
}

constexpr uint64_t kMaxOffset = std::numeric_limits<int64_t>::max();

}  // namespace

void HandleOpen(const OpEnv& env, FuseRequestPtr req) {
  fuse_open_in in;
  if (!ReadArg(*req, &in)) return;
  FuseRequest* r = req.get();
  env.backend.Open(r->context(), r->node(), in.flags, KillSuidgid(in),
                   [req = std::move(req)](absl::StatusOr<OpenResult> result) mutable {
                     ReplyOpen(*req, result, /*directory=*/false);
                   });
}

void HandleCreate(const OpEnv& env, FuseRequestPtr req) {
  fuse_create_in in;
  if (!ReadCreateIn(*req, &in)) return;
  std::optional<absl::string_view> name = ReadName(*req, NameKind::kEntry);
  if (!name) return;
  std::unique_ptr<LabelledContext> label;
  if (!ReadSecurityContextOrReply(*req, env.options.security_label, &label)) return;
  FuseRequest* r = req.get();
  const RequestContext& ctx = label ? label->ctx : r->context();
  env.backend.Create(ctx, r->node(), *name, in.mode, in.flags, in.umask, KillSuidgid(in),
                     ReplyCreateWhenDone(std::move(req), std::move(label)));
}

void HandleTmpFile(const OpEnv& env, FuseRequestPtr req) {
  fuse_create_in in;
  if (!ReadArg(*req, &in)) return;  // TMPFILE is 7.37+: always the full struct
  std::unique_ptr<LabelledContext> label;
  if (!ReadSecurityContextOrReply(*req, env.options.security_label, &label)) return;
  FuseRequest* r = req.get();
  const RequestContext& ctx = label ? label->ctx : r->context();
  env.backend.TmpFile(ctx, r->node(), in.mode, in.flags, in.umask,
                      ReplyCreateWhenDone(std::move(req), std::move(label)));
}

void HandleRead(const OpEnv& env, FuseRequestPtr req) {
  fuse_read_in in;
  if (!ReadArg(*req, &in, ReadWriteInSize(req->minor()))) return;
  if (in.offset > kMaxOffset) return req->ReplyError(EINVAL);
  // The data goes straight into the guest's reply buffers after the
  // fuse_out_header; never more than the guest asked for or gave room for.
  const size_t len = std::min<size_t>(in.size, req->out_payload_capacity());
  if (len < in.size) {
    VLOG(1) << "READ of " << in.size << " bytes clamped to the " << len
            << "-byte reply buffer";
  }
  if (len == 0) return req->ReplyWritten(0);
  if (!SliceIovecs(req->out(), sizeof(fuse_out_header), len, &req->payload())) {
    return req->ReplyError(EIO);  // unreachable: len fits out
  }
  FuseRequest* r = req.get();
  env.backend.Read(r->context(), r->node(), in.fh, in.offset, r->payload(),
                   [req = std::move(req), len](absl::StatusOr<size_t> got) mutable {
                     if (!got.ok()) return req->ReplyStatus(got.status());
                     if (*got > len) {
                       LOG(ERROR) << "backend read " << *got << " bytes into a " << len
                                  << "-byte buffer";
                       return req->ReplyError(EIO);
                     }
                     req->ReplyWritten(*got);
                   });
}

void HandleWrite(const OpEnv& env, FuseRequestPtr req) {
  const size_t in_size = ReadWriteInSize(req->minor());
  fuse_write_in in;
  if (!ReadArg(*req, &in, in_size)) return;
  // The payload follows the fuse_write_in in the guest's buffers and must
  // be exactly as long as the request says.
  const size_t present = req->in_args_length() - in_size;
  if (in.size != present) {
    LOG_EVERY_N(WARNING, 100) << "WRITE claims " << in.size << " bytes but carries " << present;
    return req->ReplyError(EINVAL);
  }
  if (in.size > env.options.max_write) return req->ReplyError(EINVAL);
  if (in.offset > kMaxOffset) return req->ReplyError(EINVAL);
  if (!SliceIovecs(req->in(), sizeof(fuse_in_header) + in_size, in.size, &req->payload())) {
    return req->ReplyError(EINVAL);
  }
  WriteFlags flags;
  flags.kill_suidgid = (in.write_flags & FUSE_WRITE_KILL_SUIDGID) != 0;
  flags.from_page_cache = (in.write_flags & FUSE_WRITE_CACHE) != 0;
  FuseRequest* r = req.get();
  env.backend.Write(r->context(), r->node(), in.fh, in.offset, r->payload(), flags,
                    [req = std::move(req)](absl::StatusOr<size_t> written) mutable {
                      ReplyWriteSize(*req, written);
                    });
}

void HandleFlush(const OpEnv& env, FuseRequestPtr req) {
  fuse_flush_in in;
  if (!ReadArg(*req, &in)) return;
  FuseRequest* r = req.get();
  env.backend.Flush(r->context(), r->node(), in.fh, in.lock_owner,
                    ReplyStatusWhenDone(std::move(req)));
}

void HandleRelease(const OpEnv& env, FuseRequestPtr req) {
  fuse_release_in in;
  // release_flags and lock_owner appeared in 7.8; before that the struct
  // ended after `flags` (plus padding).
  if (!ReadArg(*req, &in, req->minor() >= 8 ? sizeof(in) : 16)) return;
  std::optional<uint64_t> lock_owner;
  if (in.release_flags & FUSE_RELEASE_FLUSH) lock_owner = in.lock_owner;
  const bool release_flock = (in.release_flags & FUSE_RELEASE_FLOCK_UNLOCK) != 0;
  FuseRequest* r = req.get();
  env.backend.Release(r->context(), r->node(), in.fh, in.flags, lock_owner, release_flock,
                      ReplyStatusWhenDone(std::move(req)));
}

void HandleFsync(const OpEnv& env, FuseRequestPtr req) {
  fuse_fsync_in in;
  if (!ReadArg(*req, &in)) return;
  FuseRequest* r = req.get();
  env.backend.Fsync(r->context(), r->node(), in.fh, (in.fsync_flags & FUSE_FSYNC_FDATASYNC) != 0,
                    ReplyStatusWhenDone(std::move(req)));
}

void HandleFallocate(const OpEnv& env, FuseRequestPtr req) {
  fuse_fallocate_in in;
  if (!ReadArg(*req, &in)) return;
  // fallocate(2): negative offset or non-positive length is EINVAL, a range
  // past the largest file offset EFBIG. Checked here so no backend has to
  // worry about signed overflow.
  if (in.offset > kMaxOffset || in.length == 0 || in.length > kMaxOffset) {
    return req->ReplyError(EINVAL);
  }
  if (in.length > kMaxOffset - in.offset) return req->ReplyError(EFBIG);
  FuseRequest* r = req.get();
  env.backend.Fallocate(r->context(), r->node(), in.fh, in.offset, in.length, in.mode,
                        ReplyStatusWhenDone(std::move(req)));
}

void HandleLseek(const OpEnv& env, FuseRequestPtr req) {
  fuse_lseek_in in;
  if (!ReadArg(*req, &in)) return;
  // The kernel answers SEEK_SET/CUR/END itself and only forwards
  // SEEK_DATA/SEEK_HOLE (fuse_file_llseek).
  if (in.whence != SEEK_DATA && in.whence != SEEK_HOLE) return req->ReplyError(EINVAL);
  if (in.offset > kMaxOffset) return req->ReplyError(ENXIO);  // as lseek(2) past EOF
  FuseRequest* r = req.get();
  env.backend.Lseek(r->context(), r->node(), in.fh, in.offset, in.whence,
                    [req = std::move(req)](absl::StatusOr<uint64_t> offset) mutable {
                      if (!offset.ok()) return req->ReplyStatus(offset.status());
                      fuse_lseek_out out = {};
                      out.offset = *offset;
                      req->ReplyOk(&out, sizeof(out));
                    });
}

void HandleCopyFileRange(const OpEnv& env, FuseRequestPtr req) {
  fuse_copy_file_range_in in;
  if (!ReadArg(*req, &in)) return;
  if (in.nodeid_out == 0) return req->ReplyError(EINVAL);
  if (in.off_in > kMaxOffset || in.off_out > kMaxOffset) return req->ReplyError(EINVAL);
  FuseRequest* r = req.get();
  env.backend.CopyFileRange(r->context(), r->node(), in.fh_in, in.off_in, in.nodeid_out,
                            in.fh_out, in.off_out, in.len, in.flags,
                            [req = std::move(req)](absl::StatusOr<size_t> copied) mutable {
                              ReplyWriteSize(*req, copied);
                            });
}

}  // namespace vfsd
