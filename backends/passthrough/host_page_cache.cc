#include "backends/passthrough/host_page_cache.h"

#include <fcntl.h>

#include <cstdint>

namespace vfsd {
namespace {

// posix_fadvise is advice: its failures (ESPIPE on a pipe, EINVAL on a
// filesystem without a page cache) change nothing the guest sees.
void DontNeed(int fd, uint64_t offset, uint64_t length) {
  if (offset > static_cast<uint64_t>(INT64_MAX) || length > static_cast<uint64_t>(INT64_MAX)) {
    return;
  }
  (void)::posix_fadvise(fd, static_cast<off_t>(offset), static_cast<off_t>(length),
                        POSIX_FADV_DONTNEED);
}

// Counts `length` served bytes; every kBytesPerSweep, sweeps the whole file.
void CountAndSweep(int fd, size_t length, std::atomic<uint64_t>& served_since_sweep) {
  const uint64_t served = served_since_sweep.fetch_add(length, std::memory_order_relaxed) + length;
  if (served >= kBytesPerSweep) {
    served_since_sweep.store(0, std::memory_order_relaxed);
    DontNeed(fd, 0, 0);  // length 0: to the end of the file
  }
}

}  // namespace

void DropWrittenPages(int fd, size_t length, std::atomic<uint64_t>& served_since_sweep) {
  CountAndSweep(fd, length, served_since_sweep);
}

void DropReadPages(int fd, uint64_t offset, size_t length,
                   std::atomic<uint64_t>& served_since_sweep) {
  if (length == 0) return;
  DontNeed(fd, offset, length);
  CountAndSweep(fd, length, served_since_sweep);
}

void DropFilePages(int fd) { DontNeed(fd, 0, 0); }

}  // namespace vfsd
