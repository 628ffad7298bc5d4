// ThreadBlockCache: a per-thread cache of freed fixed-size heap blocks, for
// the objects the request hot path creates once per request (FuseRequest,
// the daemon's pending QueueRequest) so that a steady stream of requests
// costs no malloc/free.
//
// Why per thread and not a shared pool: a queue worker allocates and (with
// a synchronous backend) frees each request on the same thread, so a
// thread-local stack needs no lock and no atomic. A block freed on another
// thread (asynchronous completion) simply joins that thread's cache; each
// cache is bounded (kMaxCached blocks), beyond which blocks go back to the
// heap, so memory stays bounded however completions move between threads.
#ifndef VFSD_PROTOCOL_FUSE_REQUEST_POOL_H_
#define VFSD_PROTOCOL_FUSE_REQUEST_POOL_H_

#include <cstddef>
#include <new>

namespace vfsd {

template <size_t kSize, size_t kMaxCached>
class ThreadBlockCache {
 public:
  static void* Allocate() {
    if (!dead_) {
      Cache& cache = cache_;  // constructed on this thread's first use
      if (cache.count > 0) return cache.blocks[--cache.count];
    }
    return ::operator new(kSize);
  }

  static void Free(void* block) {
    if (!dead_) {
      Cache& cache = cache_;
      if (cache.count < kMaxCached) {
        cache.blocks[cache.count++] = block;
        return;
      }
    }
    // Unsized: clang (the fuzz build) declares sized delete only with
    // -fsized-deallocation.
    ::operator delete(block);
  }

 private:
  struct Cache {
    // Thread exit: the blocks go back to the heap; a block freed later in
    // this thread's exit (another thread_local's destructor) bypasses the
    // cache, which `dead_` (trivially destructible) still tells.
    ~Cache() {
      dead_ = true;
      while (count > 0) ::operator delete(blocks[--count]);
    }
    void* blocks[kMaxCached];
    size_t count = 0;
  };

  static thread_local Cache cache_;
  static thread_local bool dead_;
};

template <size_t kSize, size_t kMaxCached>
thread_local typename ThreadBlockCache<kSize, kMaxCached>::Cache
    ThreadBlockCache<kSize, kMaxCached>::cache_;
template <size_t kSize, size_t kMaxCached>
thread_local bool ThreadBlockCache<kSize, kMaxCached>::dead_ = false;

}  // namespace vfsd

#endif  // VFSD_PROTOCOL_FUSE_REQUEST_POOL_H_
