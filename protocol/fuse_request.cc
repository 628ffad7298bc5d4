#include "protocol/fuse_request.h"

#include <cerrno>
#include <utility>

#include "backends/errno_status.h"
#include "glog/logging.h"
#include "protocol/fuse_request_pool.h"

namespace vfsd {
namespace {

// Enough for the requests in flight on one queue thread at a deep queue
// depth (asynchronous backends keep requests alive across wakes).
using RequestBlocks = ThreadBlockCache<sizeof(FuseRequest), 64>;

}  // namespace

void* FuseRequest::operator new(size_t size) {
  if (size != sizeof(FuseRequest)) return ::operator new(size);  // not reachable: final
  return RequestBlocks::Allocate();
}

void FuseRequest::operator delete(void* block, size_t size) {
  if (size != sizeof(FuseRequest)) return ::operator delete(block);
  RequestBlocks::Free(block);
}

FuseRequest::FuseRequest(const fuse_in_header& header, const NegotiatedProtocol& protocol,
                         CacheMode cache_mode, absl::Span<const iovec> in,
                         absl::Span<const iovec> out, ReplyDone done)
    : header_(header),
      protocol_(protocol),
      cache_mode_(cache_mode),
      in_(in),
      out_(out),
      out_capacity_(IovecTotalLength(out)),
      done_(std::move(done)) {
  context_.uid = header.uid;
  context_.gid = header.gid;
  context_.pid = header.pid;
}

FuseRequest::~FuseRequest() {
  if (done_) {
    // A handler path forgot to reply: never leave the guest's chain hanging.
    LOG(ERROR) << "FUSE request opcode " << header_.opcode << " unique " << header_.unique
               << " dropped without reply";
    done_(0);
  }
}

void FuseRequest::Finish(uint32_t bytes) {
  ReplyDone done = std::move(done_);
  done_ = nullptr;
  if (done) done(bytes);
}

bool FuseRequest::WriteHeader(size_t payload_size, int32_t error) {
  const size_t total = sizeof(fuse_out_header) + payload_size;
  if (total > out_capacity_) return false;
  fuse_out_header oh = {};
  oh.len = static_cast<uint32_t>(total);
  oh.error = error;
  oh.unique = header_.unique;
  CopyToIovecs(out_, 0, &oh, sizeof(oh));
  return true;
}

void FuseRequest::ReplyError(int err) {
  if (err <= 0 || err >= 4096) err = EIO;
  if (!WriteHeader(0, -err)) {
    LOG_EVERY_N(WARNING, 100) << "FUSE opcode " << header_.opcode << ": no room for a reply header ("
                 << out_capacity_ << " bytes)";
    Finish(0);
    return;
  }
  Finish(sizeof(fuse_out_header));
}

void FuseRequest::ReplyStatus(const absl::Status& status) {
  if (status.ok()) {
    ReplyOk(nullptr, 0);
  } else {
    VLOG(2) << "FUSE opcode " << header_.opcode << " unique " << header_.unique << ": " << status;
    ReplyError(ErrnoOf(status));
  }
}

void FuseRequest::ReplyOk(const void* body, size_t size, const void* body2, size_t size2) {
  if (!WriteHeader(size + size2, 0)) {
    LOG_EVERY_N(WARNING, 100) << "FUSE opcode " << header_.opcode << ": reply of "
                 << sizeof(fuse_out_header) + size + size2 << " bytes does not fit the "
                 << out_capacity_ << "-byte reply buffer";
    ReplyError(EIO);
    return;
  }
  CopyToIovecs(out_, sizeof(fuse_out_header), body, size);
  if (size2 != 0) CopyToIovecs(out_, sizeof(fuse_out_header) + size, body2, size2);
  Finish(static_cast<uint32_t>(sizeof(fuse_out_header) + size + size2));
}

void FuseRequest::ReplyWritten(size_t payload_size) {
  if (!WriteHeader(payload_size, 0)) {
    LOG(ERROR) << "FUSE opcode " << header_.opcode << ": payload of " << payload_size
               << " bytes overran the reply buffer";
    ReplyError(EIO);
    return;
  }
  Finish(static_cast<uint32_t>(sizeof(fuse_out_header) + payload_size));
}

void FuseRequest::ReplyNone() { Finish(0); }

}  // namespace vfsd
