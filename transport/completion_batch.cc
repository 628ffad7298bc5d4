#include "transport/completion_batch.h"

#include <utility>

#include "transport/virtqueue.h"

namespace vfsd {
namespace {
thread_local CompletionBatch* current_batch = nullptr;
}  // namespace

CompletionBatch::CompletionBatch() : outermost_(current_batch == nullptr) {
  if (outermost_) current_batch = this;
}

CompletionBatch::~CompletionBatch() {
  if (!outermost_) return;
  current_batch = nullptr;
  for (const std::shared_ptr<Virtqueue>& queue : queues_) queue->PublishDeferred();
}

CompletionBatch* CompletionBatch::Current() { return current_batch; }

void CompletionBatch::Add(std::shared_ptr<Virtqueue> queue) {
  for (const std::shared_ptr<Virtqueue>& known : queues_) {
    if (known == queue) return;
  }
  queues_.push_back(std::move(queue));
}

}  // namespace vfsd
