// CompletionBatch: while one is alive on a thread, chains that thread
// completes (QueueRequest::Complete) are written to their used rings but not
// published; when it ends, each queue touched gets one used-index store and
// at most one interrupt. It is for threads that complete several requests
// in a row without a queue worker's batch around them (the --thread-pool-size
// workers): without it every completion is its own interrupt, an eventfd
// write and a guest wake-up each.
//
// Completions deferred by one thread's batch wait only for that batch's end
// (or an earlier publication of the queue by another thread, which covers
// them too), never for other threads' batches. Batches nest; inner ones
// add nothing.
#ifndef VFSD_TRANSPORT_COMPLETION_BATCH_H_
#define VFSD_TRANSPORT_COMPLETION_BATCH_H_

#include <memory>

#include "absl/container/inlined_vector.h"

namespace vfsd {

class Virtqueue;

class CompletionBatch {
 public:
  CompletionBatch();
  ~CompletionBatch();  // publishes what this batch deferred
  CompletionBatch(const CompletionBatch&) = delete;
  CompletionBatch& operator=(const CompletionBatch&) = delete;

  // The outermost batch alive on this thread, or null.
  static CompletionBatch* Current();

  // Takes the reference of a queue that now has deferred used elements.
  void Add(std::shared_ptr<Virtqueue> queue);

 private:
  bool outermost_;
  // Usually one queue: the handler serves requests of one queue at a time.
  absl::InlinedVector<std::shared_ptr<Virtqueue>, 2> queues_;
};

}  // namespace vfsd

#endif  // VFSD_TRANSPORT_COMPLETION_BATCH_H_
