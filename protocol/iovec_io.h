// Byte-level access to scattered buffers (iovec spans) for the FUSE layer.
//
// A virtio-fs request arrives as a chain of guest-memory segments of
// arbitrary sizes: a struct may straddle two segments, and the guest may
// rewrite the bytes at any time. These helpers copy between such spans and
// host memory at a byte offset, and cut sub-spans (for READ/WRITE payloads
// handed to the backend without a copy). They never read or write outside
// the given iovecs, whatever offsets and lengths they are asked for.
#ifndef VFSD_PROTOCOL_IOVEC_IO_H_
#define VFSD_PROTOCOL_IOVEC_IO_H_

#include <sys/uio.h>

#include <cstddef>
#include <cstdint>

#include "absl/container/inlined_vector.h"
#include "absl/types/span.h"

namespace vfsd {

// Iovec lists as the protocol layer keeps them (a READ/WRITE payload, in
// the pooled FuseRequest). The Linux driver gives a payload one descriptor
// per page, so a 128 KiB READ/WRITE (the default max_read/max_write) is 32
// segments, 33 when it does not start on a page: those stay inline, no
// allocation (measured: a 128 KiB READ cost 3 reallocations with 8).
using IovecVector = absl::InlinedVector<iovec, 34>;

// Sum of the iovec lengths (saturates instead of wrapping).
size_t IovecTotalLength(absl::Span<const iovec> iov);

// Copies up to `len` bytes starting `offset` bytes into `src` to `dst`;
// returns the number of bytes copied (short if `src` ends first).
size_t CopyFromIovecs(absl::Span<const iovec> src, size_t offset, void* dst, size_t len);

// Copies up to `len` bytes from `src` into `dst` starting `offset` bytes in;
// returns the number of bytes copied (short if `dst` ends first).
size_t CopyToIovecs(absl::Span<const iovec> dst, size_t offset, const void* src, size_t len);

// Writes up to `len` zero bytes into `dst` starting `offset` bytes in;
// returns the number written.
size_t ZeroIovecs(absl::Span<const iovec> dst, size_t offset, size_t len);

// Replaces `*out` with the segments of `src` covering bytes
// [offset, offset + len). Returns false (and leaves `*out` empty) if `src`
// holds fewer than offset + len bytes.
bool SliceIovecs(absl::Span<const iovec> src, size_t offset, size_t len, IovecVector* out);

}  // namespace vfsd

#endif  // VFSD_PROTOCOL_IOVEC_IO_H_
