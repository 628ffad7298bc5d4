// One FUSE session with one guest: decodes each request the transport
// hands over, calls the Backend, and encodes the reply into guest memory.
//
// The daemon creates one FuseSession per virtio-fs device connection and
// feeds it every request from every queue, from any number of threads.
// Per-request state lives in the request (see fuse_request.h); the only
// session-wide mutable state is the INIT negotiation result, published
// atomically so request decoding takes no lock.
#ifndef VFSD_PROTOCOL_FUSE_SESSION_H_
#define VFSD_PROTOCOL_FUSE_SESSION_H_

#include <sys/uio.h>

#include <atomic>
#include <cstdint>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/synchronization/mutex.h"
#include "absl/types/span.h"
#include "backends/backend.h"
#include "protocol/cache_policy.h"
#include "protocol/fuse_init.h"
#include "protocol/fuse_request.h"
#include "protocol/fuse_session_options.h"

namespace vfsd {

class FuseSession {
 public:
  // `backend` must outlive the session and every request in flight.
  FuseSession(Backend& backend, FuseSessionOptions options);
  ~FuseSession();
  FuseSession(const FuseSession&) = delete;
  FuseSession& operator=(const FuseSession&) = delete;

  // Handles one request. `in`: the request bytes (fuse_in_header + args,
  // possibly split over several iovecs, possibly guest-writable
  // concurrently: everything is copied before it is validated). `out`:
  // where the reply goes (guest memory). Calls `done(bytes_written)`
  // exactly once, possibly later and from another thread (the backend may
  // complete asynchronously). `in` and `out` must stay valid until then.
  // Requests without a reply (FORGET, BATCH_FORGET, INTERRUPT, requests
  // whose header cannot be read) complete with 0.
  void HandleRequest(absl::Span<const iovec> in, absl::Span<const iovec> out,
                     absl::AnyInvocable<void(uint32_t bytes_written)> done);

  // Called when the VMM disconnects: Backend::Destroy if the session was
  // initialised. A later INIT (new connection) starts a fresh session.
  void Shutdown();
  // Completes the requests that wait for the guest (blocking locks) with
  // EINTR: Backend::CancelBlockingRequests. The transport calls it before
  // waiting for a stopping ring's in-flight requests.
  void CancelBlockingRequests();
  // Backend::BeginBatch/EndBatch, for a queue thread's burst of requests.
  void BeginBatch() { backend_.BeginBatch(); }
  void EndBatch() { backend_.EndBatch(); }

  // True between a successful INIT and DESTROY/Shutdown.
  bool initialized() const;
  // The negotiated protocol (minor 0 before INIT).
  NegotiatedProtocol protocol() const;

  const FuseSessionOptions& options() const { return options_; }

 private:
  void Dispatch(FuseRequestPtr req);
  void HandleInit(FuseRequestPtr req);
  void HandleDestroy(FuseRequestPtr req);

  Backend& backend_;
  const FuseSessionOptions options_;

  // Serialises INIT, DESTROY and Shutdown (and their Backend calls).
  absl::Mutex lifecycle_mu_;
  // Packed NegotiatedProtocol + initialised bit, so every request reads the
  // session state with one atomic load instead of a lock.
  std::atomic<uint64_t> state_{0};
};

}  // namespace vfsd

#endif  // VFSD_PROTOCOL_FUSE_SESSION_H_
