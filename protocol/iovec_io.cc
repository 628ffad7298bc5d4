#include "protocol/iovec_io.h"

#include <algorithm>
#include <cstring>
#include <limits>

namespace vfsd {
namespace {

// Calls fn(segment_base, segment_len) for the bytes [offset, offset + len)
// of `iov`, stopping where `iov` ends; returns the bytes visited.
template <typename Fn>
size_t ForEachRange(absl::Span<const iovec> iov, size_t offset, size_t len, Fn fn) {
  size_t done = 0;
  for (const iovec& seg : iov) {
    if (done == len) break;
    if (offset >= seg.iov_len) {
      offset -= seg.iov_len;
      continue;
    }
    const size_t n = std::min(seg.iov_len - offset, len - done);
    fn(static_cast<char*>(seg.iov_base) + offset, n, done);
    done += n;
    offset = 0;
  }
  return done;
}

}  // namespace

size_t IovecTotalLength(absl::Span<const iovec> iov) {
  size_t total = 0;
  for (const iovec& seg : iov) {
    if (seg.iov_len > std::numeric_limits<size_t>::max() - total) {
      return std::numeric_limits<size_t>::max();
    }
    total += seg.iov_len;
  }
  return total;
}

size_t CopyFromIovecs(absl::Span<const iovec> src, size_t offset, void* dst, size_t len) {
  char* out = static_cast<char*>(dst);
  return ForEachRange(src, offset, len,
                      [out](char* base, size_t n, size_t at) { std::memcpy(out + at, base, n); });
}

size_t CopyToIovecs(absl::Span<const iovec> dst, size_t offset, const void* src, size_t len) {
  const char* in = static_cast<const char*>(src);
  return ForEachRange(dst, offset, len,
                      [in](char* base, size_t n, size_t at) { std::memcpy(base, in + at, n); });
}

size_t ZeroIovecs(absl::Span<const iovec> dst, size_t offset, size_t len) {
  return ForEachRange(dst, offset, len,
                      [](char* base, size_t n, size_t) { std::memset(base, 0, n); });
}

bool SliceIovecs(absl::Span<const iovec> src, size_t offset, size_t len, IovecVector* out) {
  out->clear();
  const size_t got = ForEachRange(src, offset, len, [out](char* base, size_t n, size_t) {
    out->push_back(iovec{base, n});
  });
  if (got != len) {
    out->clear();
    return false;
  }
  return true;
}

}  // namespace vfsd
