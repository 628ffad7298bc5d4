// AllocCounter: counts heap allocations (every global operator new) made by
// the current thread while a counter is alive, for tests that pin down the
// per-request allocation count of the hot path (a behaviour, not a timing).
//
// Linking //testing/bench:alloc_counter replaces the global operator new /
// delete of the binary with counting wrappers around malloc/free; only test
// binaries may depend on it.
#ifndef VFSD_TESTING_BENCH_ALLOC_COUNTER_H_
#define VFSD_TESTING_BENCH_ALLOC_COUNTER_H_

#include <cstdint>

namespace vfsd {

class AllocCounter {
 public:
  AllocCounter();
  ~AllocCounter();
  AllocCounter(const AllocCounter&) = delete;
  AllocCounter& operator=(const AllocCounter&) = delete;

  // operator new calls on this thread since construction.
  uint64_t count() const;

 private:
  uint64_t start_;
};

}  // namespace vfsd

#endif  // VFSD_TESTING_BENCH_ALLOC_COUNTER_H_
