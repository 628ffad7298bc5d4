// Keeping guest file data out of the host page cache (cache=never).
//
// The seed's promise for cache=never is a small host memory footprint: the
// host page cache should not fill with the data of every file a guest
// touches. The guest side is direct I/O (FOPEN_DIRECT_IO); on the host the
// passthrough backend still uses buffered preadv/pwritev (O_DIRECT would
// impose alignment the guest does not guarantee), so it tells the kernel it
// is done with the pages instead: POSIX_FADV_DONTNEED of the range after
// every read, and of the whole file every kBytesPerSweep bytes read or
// written through a handle, after FSYNC and on FLUSH/RELEASE. Writes get no
// per-range DONTNEED: that would start writeback of every small write at
// once (many tiny disk writes); the sweep starts it for all of them.
//
// The cost is the point: with cache=never a guest's re-read comes from the
// disk, not from host memory (the seed's trade-off: density over speed;
// cache=auto/always keep the host page cache).
//
// Why the sweeps: DONTNEED drops clean, unmapped pages at once, but for
// dirty pages it only starts writeback, and it never drops a large folio
// (ext4 and XFS cache files in folios up to several MiB) that the range only
// partly covers. Written data and the folios around small reads therefore
// leave the cache at the next sweep, which bounds what one open file keeps
// cached to about kBytesPerSweep plus the kernel's readahead window. Pages another process has mapped stay (the kernel never
// drops mapped pages this way), so a host application sharing the files is
// not slowed down.
#ifndef VFSD_BACKENDS_PASSTHROUGH_HOST_PAGE_CACHE_H_
#define VFSD_BACKENDS_PASSTHROUGH_HOST_PAGE_CACHE_H_

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace vfsd {

// Bytes read or written through one handle between whole-file sweeps.
inline constexpr uint64_t kBytesPerSweep = 8u << 20;

// After a read of [offset, offset + length): drop those pages and, every
// kBytesPerSweep bytes (counted in `served_since_sweep`, one counter per
// handle), the whole file's.
void DropReadPages(int fd, uint64_t offset, size_t length,
                   std::atomic<uint64_t>& served_since_sweep);

// After a write of `length` bytes: every kBytesPerSweep bytes, start the
// writeback of the whole file and drop what is clean.
void DropWrittenPages(int fd, size_t length, std::atomic<uint64_t>& served_since_sweep);

// Drop every clean page of the file (FSYNC, FLUSH, RELEASE).
void DropFilePages(int fd);

}  // namespace vfsd

#endif  // VFSD_BACKENDS_PASSTHROUGH_HOST_PAGE_CACHE_H_
