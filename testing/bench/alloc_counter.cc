// Counting replacements of the global operator new/delete (all the
// replaceable forms, so no allocation escapes the count), per thread.
#include "testing/bench/alloc_counter.h"

#include <cstddef>
#include <cstdlib>
#include <new>

namespace vfsd {
namespace {

thread_local uint64_t allocations = 0;
thread_local int active_counters = 0;

void* Allocate(std::size_t size, std::size_t align) {
  if (active_counters > 0) ++allocations;
  if (size == 0) size = 1;
  void* p = align > alignof(std::max_align_t)
                ? std::aligned_alloc(align, (size + align - 1) / align * align)
                : std::malloc(size);
  if (p == nullptr) std::abort();  // test binaries only: out of memory ends the test
  return p;
}

}  // namespace

AllocCounter::AllocCounter() : start_(allocations) { ++active_counters; }
AllocCounter::~AllocCounter() { --active_counters; }
uint64_t AllocCounter::count() const { return allocations - start_; }

}  // namespace vfsd

void* operator new(std::size_t size) { return vfsd::Allocate(size, 0); }
void* operator new[](std::size_t size) { return vfsd::Allocate(size, 0); }
void* operator new(std::size_t size, std::align_val_t align) {
  return vfsd::Allocate(size, static_cast<std::size_t>(align));
}
void* operator new[](std::size_t size, std::align_val_t align) {
  return vfsd::Allocate(size, static_cast<std::size_t>(align));
}
void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
  return vfsd::Allocate(size, 0);
}
void* operator new[](std::size_t size, const std::nothrow_t&) noexcept {
  return vfsd::Allocate(size, 0);
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
