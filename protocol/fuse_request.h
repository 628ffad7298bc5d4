// One FUSE request in flight: its decoded header, a private copy of its
// arguments, and the way back to the guest (reply buffers + completion).
//
// The session heap-allocates one FuseRequest per request and hands its
// ownership to the backend's completion callback, so everything a backend
// may keep a view of (names, payload iovecs, the directory sink) lives until
// the reply is sent, and a completion on any thread touches only its own
// request. Reply methods call `done` exactly once; after that the request
// must not be used.
#ifndef VFSD_PROTOCOL_FUSE_REQUEST_H_
#define VFSD_PROTOCOL_FUSE_REQUEST_H_

#include <linux/fuse.h>
#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>

#include "absl/container/inlined_vector.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "backends/backend.h"
#include "protocol/arg_reader.h"
#include "protocol/cache_policy.h"
#include "protocol/dirent_writer.h"
#include "protocol/fuse_init.h"
#include "protocol/iovec_io.h"

namespace vfsd {

using ReplyDone = absl::AnyInvocable<void(uint32_t bytes_written)>;

class FuseRequest final {
 public:
  // From a per-thread cache of request-sized blocks (fuse_request_pool.h):
  // one FuseRequest per request, so no malloc per request in steady state.
  static void* operator new(size_t size);
  static void operator delete(void* block, size_t size);

  FuseRequest(const fuse_in_header& header, const NegotiatedProtocol& protocol,
              CacheMode cache_mode, absl::Span<const iovec> in, absl::Span<const iovec> out,
              ReplyDone done);
  ~FuseRequest();
  FuseRequest(const FuseRequest&) = delete;
  FuseRequest& operator=(const FuseRequest&) = delete;

  const fuse_in_header& header() const { return header_; }
  const RequestContext& context() const { return context_; }
  const NegotiatedProtocol& protocol() const { return protocol_; }
  uint32_t minor() const { return protocol_.minor; }
  NodeId node() const { return header_.nodeid; }
  CacheMode cache_mode() const { return cache_mode_; }
  uint64_t timeout() const { return CacheTimeoutSeconds(cache_mode_); }

  // The request's arguments (after the header, without extensions), copied
  // out of guest memory by the session.
  absl::InlinedVector<char, 256>& args_buffer() { return args_; }
  ArgReader& args() { return reader_; }
  void ResetReader() { reader_ = ArgReader(absl::string_view(args_.data(), args_.size())); }

  absl::Span<const iovec> in() const { return in_; }
  // Length of the arguments in `in` after the fuse_in_header (for WRITE,
  // whose payload is not copied into args_buffer()).
  size_t in_args_length() const { return in_args_length_; }
  void set_in_args_length(size_t length) { in_args_length_ = length; }
  absl::Span<const iovec> out() const { return out_; }
  size_t out_capacity() const { return out_capacity_; }
  // Payload room after the fuse_out_header.
  size_t out_payload_capacity() const {
    return out_capacity_ > sizeof(fuse_out_header) ? out_capacity_ - sizeof(fuse_out_header) : 0;
  }

  // WRITE's data (slice of `in`) or READ's destination (slice of `out`).
  IovecVector& payload() { return payload_; }
  // The READDIR/READDIRPLUS sink, writing into `out` after the header.
  std::optional<DirentWriter>& dirents() { return dirents_; }

  // --- replies (each completes the request) ---
  // `-err`; `err` outside 1..4095 becomes EIO.
  void ReplyError(int err);
  // OK: header-only reply; error: its errno (ErrnoOf).
  void ReplyStatus(const absl::Status& status);
  // Header followed by `body` (+ `body2`).
  void ReplyOk(const void* body, size_t size, const void* body2 = nullptr, size_t size2 = 0);
  // Header only; `payload_size` bytes were already written after it in `out`
  // (READ, READDIR).
  void ReplyWritten(size_t payload_size);
  // No reply (FORGET, INTERRUPT): the chain is returned with 0 bytes.
  void ReplyNone();

 private:
  void Finish(uint32_t bytes);
  bool WriteHeader(size_t payload_size, int32_t error);

  fuse_in_header header_;
  RequestContext context_;
  NegotiatedProtocol protocol_;
  CacheMode cache_mode_;
  absl::InlinedVector<char, 256> args_;
  ArgReader reader_{absl::string_view()};
  absl::Span<const iovec> in_;
  absl::Span<const iovec> out_;
  size_t out_capacity_;
  size_t in_args_length_ = 0;
  IovecVector payload_;
  std::optional<DirentWriter> dirents_;
  ReplyDone done_;
};

using FuseRequestPtr = std::unique_ptr<FuseRequest>;

}  // namespace vfsd

#endif  // VFSD_PROTOCOL_FUSE_REQUEST_H_
