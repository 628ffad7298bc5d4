#include "protocol/fuse_session.h"

#include <linux/fuse.h>

#include <algorithm>
#include <cerrno>
#include <memory>
#include <utility>

#include "backends/errno_status.h"
#include "glog/logging.h"
#include "protocol/fuse_ops.h"
#include "protocol/iovec_io.h"

// Malformed requests are logged with LOG_EVERY_N: a hostile guest must not
// be able to flood the host's logs.

namespace vfsd {
namespace {

constexpr uint64_t kInitialisedBit = uint64_t{1} << 63;
constexpr uint64_t kSubmountsBit = uint64_t{1} << 16;
constexpr uint64_t kSetxattrExtBit = uint64_t{1} << 17;
constexpr uint64_t kMinorMask = 0xffff;

uint64_t Pack(const NegotiatedProtocol& p) {
  return kInitialisedBit | (p.minor & kMinorMask) | (p.submounts ? kSubmountsBit : 0) |
         (p.setxattr_ext ? kSetxattrExtBit : 0);
}

NegotiatedProtocol Unpack(uint64_t state) {
  NegotiatedProtocol p;
  p.minor = static_cast<uint32_t>(state & kMinorMask);
  p.submounts = (state & kSubmountsBit) != 0;
  p.setxattr_ext = (state & kSetxattrExtBit) != 0;
  return p;
}

// Opcodes the kernel sends without expecting a reply.
bool HasNoReply(uint32_t opcode) {
  return opcode == FUSE_FORGET || opcode == FUSE_BATCH_FORGET || opcode == FUSE_INTERRUPT;
}

// Opcodes whose header nodeid is not a node the request acts on.
bool NeedsNode(uint32_t opcode) {
  switch (opcode) {
    case FUSE_INIT:
    case FUSE_DESTROY:
    case FUSE_INTERRUPT:
    case FUSE_FORGET:
    case FUSE_BATCH_FORGET:
    case FUSE_NOTIFY_REPLY:
      return false;
    default:
      return true;
  }
}

// The kernel cannot use a max_write below one page; INIT advertises at least
// that, so WRITE validation must use the same value.
FuseSessionOptions Normalize(FuseSessionOptions options) {
  options.max_write = std::max<uint32_t>(options.max_write, kMinMaxWrite);
  return options;
}

}  // namespace

FuseSession::FuseSession(Backend& backend, FuseSessionOptions options)
    : backend_(backend), options_(Normalize(std::move(options))) {}

FuseSession::~FuseSession() = default;

bool FuseSession::initialized() const {
  return (state_.load(std::memory_order_acquire) & kInitialisedBit) != 0;
}

NegotiatedProtocol FuseSession::protocol() const {
  return Unpack(state_.load(std::memory_order_acquire));
}

void FuseSession::HandleRequest(absl::Span<const iovec> in, absl::Span<const iovec> out,
                                absl::AnyInvocable<void(uint32_t bytes_written)> done) {
  // Copy the header once; every later decision uses this copy, never the
  // guest's (which it may rewrite concurrently).
  fuse_in_header header;
  if (CopyFromIovecs(in, 0, &header, sizeof(header)) != sizeof(header)) {
    LOG_EVERY_N(WARNING, 100) << "FUSE request shorter than its header; dropped";
    done(0);
    return;
  }
  const uint64_t state = state_.load(std::memory_order_acquire);
  auto req = std::make_unique<FuseRequest>(header, Unpack(state), options_.cache_mode, in, out,
                                           std::move(done));
  const uint32_t opcode = header.opcode;
  const bool no_reply = HasNoReply(opcode);
  if (!no_reply && req->out_capacity() < sizeof(fuse_out_header)) {
    // Nowhere to say anything: do not act on a request whose outcome the
    // guest could never learn.
    LOG_EVERY_N(WARNING, 100) << "FUSE opcode " << opcode << " without room for a reply; dropped";
    return req->ReplyNone();
  }
  auto fail = [&req, no_reply](int err) {
    if (no_reply) return req->ReplyNone();
    req->ReplyError(err);
  };

  // The header's length must describe exactly the bytes the guest gave us.
  const size_t in_length = IovecTotalLength(in);
  if (header.len != in_length) {
    LOG_EVERY_N(WARNING, 100) << "FUSE opcode " << opcode << ": header len " << header.len << " but "
                 << in_length << " bytes present";
    return fail(EINVAL);
  }
  const size_t ext_length = size_t{header.total_extlen} * 8;
  if (ext_length > header.len - sizeof(header)) return fail(EINVAL);
  const size_t args_length = header.len - sizeof(header) - ext_length;

  if ((state & kInitialisedBit) == 0 && opcode != FUSE_INIT) {
    // libfuse and virtiofsd: nothing but INIT before INIT.
    VLOG(1) << "FUSE opcode " << opcode << " before INIT";
    return fail(EIO);
  }
  if ((state & kInitialisedBit) != 0 && opcode == FUSE_INIT) {
    LOG_EVERY_N(WARNING, 100) << "second FUSE INIT refused";
    return fail(EIO);
  }
  if (NeedsNode(opcode) && header.nodeid == 0) return fail(EINVAL);

  // Copy the arguments out of guest memory. WRITE's payload stays in place
  // (handed to the backend as iovecs); everything else is small and bounded.
  size_t copy_length = args_length;
  if (opcode == FUSE_WRITE) {
    copy_length = std::min(args_length, sizeof(fuse_write_in));
  } else if (args_length > std::max<size_t>(options_.max_write, kMaxXattrValue) + 4096) {
    LOG_EVERY_N(WARNING, 100) << "FUSE opcode " << opcode << " with " << args_length
                 << " bytes of arguments refused";
    return fail(EINVAL);
  }
  auto& args = req->args_buffer();
  args.resize(copy_length);
  CopyFromIovecs(in, sizeof(header), args.data(), copy_length);
  req->ResetReader();
  req->set_in_args_length(args_length);
  Dispatch(std::move(req));
}

void FuseSession::Dispatch(FuseRequestPtr req) {
  const OpEnv env{backend_, options_};
  switch (req->header().opcode) {
    case FUSE_INIT: return HandleInit(std::move(req));
    case FUSE_DESTROY: return HandleDestroy(std::move(req));
    case FUSE_LOOKUP: return HandleLookup(env, std::move(req));
    case FUSE_FORGET: return HandleForget(env, std::move(req));
    case FUSE_BATCH_FORGET: return HandleBatchForget(env, std::move(req));
    case FUSE_GETATTR: return HandleGetAttr(env, std::move(req));
    case FUSE_SETATTR: return HandleSetAttr(env, std::move(req));
    case FUSE_READLINK: return HandleReadLink(env, std::move(req));
    case FUSE_SYMLINK: return HandleSymlink(env, std::move(req));
    case FUSE_MKNOD: return HandleMkNod(env, std::move(req));
    case FUSE_MKDIR: return HandleMkDir(env, std::move(req));
    case FUSE_UNLINK: return HandleUnlink(env, std::move(req));
    case FUSE_RMDIR: return HandleRmDir(env, std::move(req));
    case FUSE_RENAME:
    case FUSE_RENAME2: return HandleRename(env, std::move(req));
    case FUSE_LINK: return HandleLink(env, std::move(req));
    case FUSE_OPEN: return HandleOpen(env, std::move(req));
    case FUSE_CREATE: return HandleCreate(env, std::move(req));
    case FUSE_TMPFILE: return HandleTmpFile(env, std::move(req));
    case FUSE_READ: return HandleRead(env, std::move(req));
    case FUSE_WRITE: return HandleWrite(env, std::move(req));
    case FUSE_FLUSH: return HandleFlush(env, std::move(req));
    case FUSE_RELEASE: return HandleRelease(env, std::move(req));
    case FUSE_FSYNC: return HandleFsync(env, std::move(req));
    case FUSE_FALLOCATE: return HandleFallocate(env, std::move(req));
    case FUSE_LSEEK: return HandleLseek(env, std::move(req));
    case FUSE_COPY_FILE_RANGE: return HandleCopyFileRange(env, std::move(req));
    case FUSE_OPENDIR: return HandleOpenDir(env, std::move(req));
    case FUSE_READDIR:
    case FUSE_READDIRPLUS: return HandleReadDir(env, std::move(req));
    case FUSE_RELEASEDIR: return HandleReleaseDir(env, std::move(req));
    case FUSE_FSYNCDIR: return HandleFsyncDir(env, std::move(req));
    case FUSE_STATFS: return HandleStatFs(env, std::move(req));
    case FUSE_SYNCFS: return HandleSyncFs(env, std::move(req));
    case FUSE_ACCESS: return HandleAccess(env, std::move(req));
    case FUSE_SETXATTR: return HandleSetXattr(env, std::move(req));
    case FUSE_GETXATTR: return HandleGetXattr(env, std::move(req));
    case FUSE_LISTXATTR: return HandleListXattr(env, std::move(req));
    case FUSE_REMOVEXATTR: return HandleRemoveXattr(env, std::move(req));
    case FUSE_GETLK: return HandleGetLk(env, std::move(req));
    case FUSE_SETLK:
    case FUSE_SETLKW: return HandleSetLk(env, std::move(req));
    case FUSE_INTERRUPT:
      // Never answered: virtio-fs guests do not send it today
      // (virtio_fs_wake_interrupt_and_unlock is a no-op), and backend calls
      // are not cancellable, so the interrupted request simply completes.
      return req->ReplyNone();
    case FUSE_IOCTL:
      // ioctl(2) on a FUSE file: "not a typewriter", the answer for a file
      // without ioctls. (ENOSYS would be cached by the kernel as well.)
      return req->ReplyError(ENOTTY);
    case FUSE_NOTIFY_REPLY:
      // Answers a FUSE_NOTIFY_RETRIEVE, which vfsd never sends; the kernel
      // marks it noreply, so only answer if it gave us room anyway.
    case FUSE_POLL:
    case FUSE_SETUPMAPPING:
    case FUSE_REMOVEMAPPING:
    case FUSE_BMAP:
      // Unsupported by design; the kernel falls back (docs/protocol.md).
      return req->ReplyError(ENOSYS);
    default:
      VLOG(1) << "unknown FUSE opcode " << req->header().opcode;
      return req->ReplyError(ENOSYS);
  }
}

void FuseSession::HandleInit(FuseRequestPtr req) {
  absl::MutexLock lock(&lifecycle_mu_);
  if (state_.load(std::memory_order_acquire) & kInitialisedBit) {
    // Lost a race with a concurrent INIT.
    return req->ReplyError(EIO);
  }
  auto& args = req->args_buffer();
  absl::StatusOr<InitReply> reply =
      NegotiateInit(absl::string_view(args.data(), args.size()), options_);
  if (!reply.ok()) return req->ReplyStatus(reply.status());
  if (reply->initialised) {
    if (absl::Status status = backend_.Init(reply->backend_options); !status.ok()) {
      LOG(ERROR) << "backend Init failed: " << status;
      return req->ReplyStatus(status);
    }
    state_.store(Pack(reply->protocol), std::memory_order_release);
    LOG(INFO) << "FUSE session initialised: protocol 7." << reply->protocol.minor
              << ", cache=" << CacheModeName(options_.cache_mode);
  }
  req->ReplyOk(&reply->out, reply->size);
}

void FuseSession::HandleDestroy(FuseRequestPtr req) {
  {
    absl::MutexLock lock(&lifecycle_mu_);
    if (state_.load(std::memory_order_acquire) & kInitialisedBit) {
      backend_.Destroy();
      state_.store(0, std::memory_order_release);
      LOG(INFO) << "FUSE session destroyed by the guest";
    }
  }
  // The guest may mount again on the same device: a new INIT is accepted.
  req->ReplyOk(nullptr, 0);
}

void FuseSession::CancelBlockingRequests() { backend_.CancelBlockingRequests(); }

void FuseSession::Shutdown() {
  absl::MutexLock lock(&lifecycle_mu_);
  if (state_.load(std::memory_order_acquire) & kInitialisedBit) {
    backend_.Destroy();
    state_.store(0, std::memory_order_release);
    LOG(INFO) << "FUSE session shut down";
  }
}

}  // namespace vfsd
