// Test helpers for the protocol layer: build raw FUSE requests, scatter them
// over several small iovecs (so structs straddle segment boundaries, as in
// guest memory), run them through a FuseSession wired to a MockBackend, and
// decode the reply bytes.
#ifndef VFSD_PROTOCOL_FUSE_TEST_UTIL_H_
#define VFSD_PROTOCOL_FUSE_TEST_UTIL_H_

#include <linux/fuse.h>
#include <sys/uio.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "protocol/fuse_session.h"
#include "testing/mock_backend.h"

namespace vfsd {
namespace testing_util {

// The raw bytes of a wire struct.
template <typename T>
std::string Bytes(const T& value) {
  return std::string(reinterpret_cast<const char*>(&value), sizeof(value));
}
// A NUL-terminated name as the kernel sends it.
inline std::string CName(absl::string_view name) { return std::string(name) + '\0'; }

// Bytes split into segments of `chunk` bytes (each separately allocated, so
// ASan catches any access past a segment).
class ScatteredBuffer {
 public:
  ScatteredBuffer(absl::string_view bytes, size_t chunk);
  // `size` zero bytes.
  ScatteredBuffer(size_t size, size_t chunk);
  absl::Span<const iovec> iov() const { return iov_; }
  // The contents, gathered.
  std::string Gather(size_t len) const;
  // True if `addr` lies inside one of the segments.
  bool Contains(const void* addr) const;

 private:
  std::vector<std::unique_ptr<char[]>> segments_;
  std::vector<iovec> iov_;
};

struct Reply {
  bool completed = false;
  uint32_t written = 0;
  fuse_out_header header = {};
  std::string body;  // bytes after the header, up to `written`
  int error() const { return -header.error; }
  template <typename T>
  T As() const {
    T value = {};
    std::memcpy(&value, body.data(), std::min(body.size(), sizeof(T)));
    return value;
  }
};

inline constexpr uint64_t kUnique = 0x1234;
inline constexpr uint32_t kUid = 1000, kGid = 100, kPid = 4242;

class FuseHarness {
 public:
  explicit FuseHarness(FuseSessionOptions options = FuseSessionOptions());

  ::testing::StrictMock<MockBackend> backend;
  FuseSession session;

  // A full request: header (len computed unless `len_override`) + args.
  static std::string Request(uint32_t opcode, uint64_t nodeid, absl::string_view args,
                             int64_t len_override = -1);

  // Sends a request in `chunk`-byte segments with an `out_size`-byte reply
  // buffer (in 13-byte segments); expects synchronous completion.
  Reply Send(absl::string_view request, size_t out_size = 4096, size_t chunk = 7);
  Reply Call(uint32_t opcode, uint64_t nodeid, absl::string_view args, size_t out_size = 4096) {
    return Send(Request(opcode, nodeid, args), out_size);
  }

  // INIT with minor 38 and every flag; expects Backend::Init.
  Reply Init(uint32_t minor = FUSE_KERNEL_MINOR_VERSION, uint64_t flags = ~uint64_t{0} >> 1);

  // The out buffer of the last Send (for zero-copy checks).
  const ScatteredBuffer* last_out() const { return out_.get(); }

 private:
  std::unique_ptr<ScatteredBuffer> in_;
  std::unique_ptr<ScatteredBuffer> out_;
};

// Decodes a reply body from scattered `out` with `written` bytes.
Reply DecodeReply(const ScatteredBuffer& out, uint32_t written);

Attr SampleAttr(uint64_t ino);
Entry SampleEntry(NodeId node);

}  // namespace testing_util
}  // namespace vfsd

#endif  // VFSD_PROTOCOL_FUSE_TEST_UTIL_H_
