#include "daemon/fuse_request_handler.h"

#include <utility>

namespace vfsd {

void FuseRequestHandler::HandleRequest(QueueRequest request) {
  if (pool_ == nullptr) {
    Run(std::move(request));
    return;
  }
  pool_->Submit([this, request = std::move(request)]() mutable { Run(std::move(request)); });
}

void FuseRequestHandler::Run(QueueRequest request) {
  // The session reads `in` and writes `out` (guest memory held alive by the
  // request's memory snapshot) and may complete on another thread.
  auto in = request.readable();
  auto out = request.writable();
  session_.HandleRequest(in, out, [request = std::move(request)](uint32_t written) mutable {
    request.Complete(written);
  });
}

}  // namespace vfsd
