#include "transport/queue_request.h"

#include "transport/completion_batch.h"

#include <algorithm>
#include <utility>

#include "transport/virtqueue.h"

namespace vfsd {

QueueRequest& QueueRequest::operator=(QueueRequest&& other) noexcept {
  if (this != &other) {
    Complete(0);  // never silently drop the chain we held
    queue_ = std::move(other.queue_);
    memory_ = std::move(other.memory_);
    queue_index_ = other.queue_index_;
    chain_ = std::move(other.chain_);
  }
  return *this;
}

QueueRequest::~QueueRequest() { Complete(0); }

void QueueRequest::Complete(uint32_t bytes_written) {
  if (queue_ == nullptr) return;
  const uint32_t len =
      static_cast<uint32_t>(std::min<uint64_t>(bytes_written, chain_.writable_bytes));
  if (CompletionBatch* batch = CompletionBatch::Current()) {
    queue_->PushDeferred(chain_.head, len);
    batch->Add(std::move(queue_));  // published when the batch ends
  } else {
    queue_->Push(chain_.head, len);
    queue_.reset();
  }
  memory_.reset();  // after the push: the used ring write is done
}

}  // namespace vfsd
