// Glues the two halves the daemon owns: requests popped by the transport
// become FUSE requests for the protocol layer, whose completions return the
// descriptor chain to the guest. With a thread pool, requests run on the
// pool so a slow backend call never stalls a queue's worker.
#ifndef VFSD_DAEMON_FUSE_REQUEST_HANDLER_H_
#define VFSD_DAEMON_FUSE_REQUEST_HANDLER_H_

#include <memory>

#include "daemon/thread_pool.h"
#include "protocol/fuse_session.h"
#include "transport/queue_request.h"

namespace vfsd {

struct PendingRequest;  // a chain in flight (fuse_request_handler.cc)

class FuseRequestHandler : public RequestHandler {
 public:
  // `pool` may be null: requests then run on the calling queue thread.
  FuseRequestHandler(FuseSession& session, ThreadPool* pool) : session_(session), pool_(pool) {}

  void HandleRequest(QueueRequest request) override;
  void CancelBlockedRequests() override { session_.CancelBlockingRequests(); }
  // Inline: the session (and backend) batch the worker's requests. With a
  // pool: the batch's requests go to the pool together at EndBatch (one
  // lock, one wake-up per worker needed), so the pool's workers can take
  // shares of them (ThreadPool).
  void BeginBatch() override;
  void EndBatch() override;

 private:
  void Serve(std::unique_ptr<PendingRequest> pending);

  FuseSession& session_;
  ThreadPool* pool_;
};

}  // namespace vfsd

#endif  // VFSD_DAEMON_FUSE_REQUEST_HANDLER_H_
