// FuseRequestHandler: each popped chain becomes a FuseSession request whose
// completion returns the chain to the guest.
#include "daemon/fuse_request_handler.h"

#include <memory>
#include <utility>
#include <vector>

#include "protocol/fuse_request_pool.h"

namespace vfsd {

// A chain between HandleRequest and its completion, at a fixed address.
//
// Why a separate object: the session keeps spans of the chain's iovec lists
// until it replies, and a QueueRequest keeps up to 8 iovecs inline, so the
// request must not move once the spans are taken (a completion capturing a
// moved QueueRequest left them pointing into a dead stack frame whenever a
// backend replied later, e.g. a blocked SETLKW). Captured as a unique_ptr,
// the completion fits absl::AnyInvocable's inline storage, and the blocks
// come from a per-thread cache: no allocation per request.
struct PendingRequest {
  explicit PendingRequest(QueueRequest r) : request(std::move(r)) {}
  static void* operator new(size_t size) {
    if (size != sizeof(PendingRequest)) return ::operator new(size);
    return Blocks::Allocate();
  }
  static void operator delete(void* block, size_t size) {
    if (size != sizeof(PendingRequest)) return ::operator delete(block);
    Blocks::Free(block);
  }

  using Blocks = ThreadBlockCache<sizeof(QueueRequest), 64>;
  QueueRequest request;
};
static_assert(sizeof(PendingRequest) == sizeof(QueueRequest), "Blocks' size");

namespace {
// Pool tasks of the calling queue worker's open batch (BeginBatch to
// EndBatch); per thread because one handler serves every queue's worker.
struct WorkerSubmissions {
  bool open = false;
  std::vector<ThreadPool::Task> tasks;
};
thread_local WorkerSubmissions worker_submissions;
constexpr size_t kSubmitSlice = 64;
}  // namespace

void FuseRequestHandler::BeginBatch() {
  if (pool_ == nullptr) {
    session_.BeginBatch();
    return;
  }
  worker_submissions.open = true;
}

void FuseRequestHandler::EndBatch() {
  if (pool_ == nullptr) {
    session_.EndBatch();
    return;
  }
  worker_submissions.open = false;
  pool_->SubmitAll(absl::MakeSpan(worker_submissions.tasks));
  worker_submissions.tasks.clear();  // keeps its capacity: no allocation per batch
}

void FuseRequestHandler::HandleRequest(QueueRequest request) {
  auto pending = std::make_unique<PendingRequest>(std::move(request));
  if (pool_ == nullptr) {
    Serve(std::move(pending));
    return;
  }
  // Two pointers: the task stays inside AnyInvocable's inline storage.
  ThreadPool::Task task = [this, pending = std::move(pending)]() mutable {
    Serve(std::move(pending));
  };
  if (worker_submissions.open) {
    worker_submissions.tasks.push_back(std::move(task));
    // A wake may pop up to a queue's size of chains: hand them over in
    // slices so the first ones need not wait for the last to be popped.
    if (worker_submissions.tasks.size() >= kSubmitSlice) {
      pool_->SubmitAll(absl::MakeSpan(worker_submissions.tasks));
      worker_submissions.tasks.clear();
    }
  } else {
    pool_->Submit(std::move(task));
  }
}

void FuseRequestHandler::Serve(std::unique_ptr<PendingRequest> pending) {
  // The session reads `in` and writes `out` (guest memory held alive by the
  // request's memory snapshot) and may complete on another thread.
  auto in = pending->request.readable();
  auto out = pending->request.writable();
  session_.HandleRequest(in, out, [pending = std::move(pending)](uint32_t written) mutable {
    pending->request.Complete(written);
  });
}

}  // namespace vfsd
