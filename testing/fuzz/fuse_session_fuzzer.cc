// libFuzzer target: FUSE request decoding and reply encoding
// (FuseSession::HandleRequest) with a backend that answers every operation.
// Each input is one session: a valid INIT built from fuzzed flags, then
// fuzzed requests, each split into separately allocated iovecs at fuzzed
// points and answered into a reply buffer of fuzzed size and segmentation
// (separate heap blocks, so ASan sees any byte outside the guest's buffers).
//
// Invariants checked per request: the completion runs exactly once (the
// backend is synchronous, so before HandleRequest returns); the reported
// length fits the reply buffer; a non-empty reply starts with a
// fuse_out_header whose len equals the bytes reported, whose unique echoes
// the request's, whose error is 0 or a negated errno, and an error reply
// carries nothing but the header.
//
// Input format (see gen_corpus.py):
//   u8  options     bits0-1 cache mode; bit2 xattr; bit3 writeback;
//                   bit4 readdirplus; bit5 posix_acl; bit6 submounts;
//                   bit7 killpriv_v2
//   u8  backend     errno index: 0 succeed, else kErrnos[n % size]
//   u16 result_size readlink/xattr/readdir result size
//   u32 init flags, u32 init flags2, u8 init minor, u32 init max_readahead
//   then records:
//   u16 out_size (reply capacity), u8 out_segments, u8 in_control
//       (bits0-2 in segments - 1; bit7: patch fuse_in_header.len to the
//       record's length), u16 len, then `len` request bytes; then one u16
//       cut point per extra in/out segment.
#include <linux/fuse.h>
#include <sys/uio.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include "glog/logging.h"
#include "protocol/fuse_session.h"
#include "testing/fuzz/fuzz_backend.h"
#include "testing/fuzz/fuzz_input.h"

namespace vfsd {
namespace {

constexpr int kErrnos[] = {ENOENT, EACCES, EIO, ERANGE, ENOSPC, EEXIST, ENOTDIR, EINVAL};
constexpr size_t kMaxOut = 1 << 17;

// A guest buffer list: `total` bytes cut into separately allocated segments.
class Segments {
 public:
  Segments(const uint8_t* data, size_t total, std::vector<size_t> cuts) {
    cuts.push_back(0);
    cuts.push_back(total);
    std::sort(cuts.begin(), cuts.end());
    for (size_t i = 0; i + 1 < cuts.size(); ++i) {
      const size_t len = cuts[i + 1] - cuts[i];
      // Zero-length iovecs are legal in a chain; keep some of them.
      blocks_.emplace_back(new uint8_t[len == 0 ? 1 : len]);
      if (data != nullptr) std::memcpy(blocks_.back().get(), data + cuts[i], len);
      iov_.push_back({blocks_.back().get(), len});
    }
  }
  absl::Span<const iovec> iov() const { return iov_; }
  // Copies the first `len` bytes out (for checking the reply).
  void Gather(void* out, size_t len) const {
    uint8_t* dst = static_cast<uint8_t*>(out);
    for (const iovec& v : iov_) {
      const size_t n = std::min(len, v.iov_len);
      std::memcpy(dst, v.iov_base, n);
      dst += n;
      len -= n;
      if (len == 0) break;
    }
  }

 private:
  std::vector<std::unique_ptr<uint8_t[]>> blocks_;
  std::vector<iovec> iov_;
};

std::vector<size_t> Cuts(FuzzInput& in, size_t count, size_t total) {
  std::vector<size_t> cuts;
  for (size_t i = 0; i < count; ++i) cuts.push_back(total == 0 ? 0 : in.U16() % (total + 1));
  return cuts;
}

// Sends one request and checks the reply. Returns the bytes written.
uint32_t Exchange(FuseSession& session, const std::vector<uint8_t>& request,
                  const Segments& in_segments, size_t out_size, size_t out_count,
                  FuzzInput& in) {
  Segments out(nullptr, out_size, Cuts(in, out_count, out_size));
  int calls = 0;
  uint32_t written = 0;
  session.HandleRequest(in_segments.iov(), out.iov(), [&calls, &written](uint32_t n) {
    ++calls;
    written = n;
  });
  FUZZ_CHECK(calls == 1);
  FUZZ_CHECK(written <= out_size);
  if (written > 0) {
    FUZZ_CHECK(written >= sizeof(fuse_out_header));
    fuse_out_header header;
    out.Gather(&header, sizeof(header));
    FUZZ_CHECK(header.len == written);
    fuse_in_header in_header;
    FUZZ_CHECK(request.size() >= sizeof(in_header));
    std::memcpy(&in_header, request.data(), sizeof(in_header));
    FUZZ_CHECK(header.unique == in_header.unique);
    FUZZ_CHECK(header.error <= 0 && header.error > -4096);
    if (header.error != 0) FUZZ_CHECK(written == sizeof(fuse_out_header));
  }
  return written;
}

void Run(FuzzInput& in) {
  const uint8_t opt = in.U8();
  FuseSessionOptions options;
  options.cache_mode = static_cast<CacheMode>(opt & 3);
  options.xattr = opt & 4;
  options.writeback = opt & 8;
  options.readdirplus = opt & 0x10;
  options.posix_acl = opt & 0x20;
  options.announce_submounts = opt & 0x40;
  options.killpriv_v2 = opt & 0x80;
  FuzzBackend backend;
  const uint8_t fail = in.U8();
  backend.set_fail_errno(fail == 0 ? 0 : kErrnos[fail % std::size(kErrnos)]);
  backend.set_result_size(in.U16());
  FuseSession session(backend, options);

  // INIT first, as the guest kernel does: it is the only request the
  // session accepts before initialisation.
  {
    struct {
      fuse_in_header header;
      fuse_init_in init;
    } __attribute__((packed)) req{};
    req.header.len = sizeof(req);
    req.header.opcode = FUSE_INIT;
    req.header.unique = 1;
    req.init.major = FUSE_KERNEL_VERSION;
    req.init.flags = in.U32();
    req.init.flags2 = in.U32();
    req.init.minor = in.U8();
    req.init.max_readahead = in.U32();
    std::vector<uint8_t> bytes(sizeof(req));
    std::memcpy(bytes.data(), &req, sizeof(req));
    Segments segments(bytes.data(), bytes.size(), {});
    Exchange(session, bytes, segments, 4096, 0, in);
  }

  while (!in.empty()) {
    const size_t out_size = in.U16() % kMaxOut;
    const size_t out_count = in.U8() & 7;
    const uint8_t in_control = in.U8();
    std::vector<uint8_t> request(in.U16());
    in.Bytes(request.data(), request.size());
    if (request.size() < sizeof(fuse_in_header)) {
      // Too short for a header: the session must answer nothing.
      Segments segments(request.data(), request.size(), {});
      FUZZ_CHECK(Exchange(session, request, segments, out_size, 0, in) == 0);
      continue;
    }
    if (in_control & 0x80) {
      // Most mutations break the length first; fixing it up lets the
      // fuzzer reach the argument decoders.
      const uint32_t len = static_cast<uint32_t>(request.size());
      std::memcpy(request.data() + offsetof(fuse_in_header, len), &len, sizeof(len));
    }
    Segments segments(request.data(), request.size(), Cuts(in, in_control & 7, request.size()));
    Exchange(session, request, segments, out_size, out_count, in);
  }
  session.Shutdown();
}

}  // namespace
}  // namespace vfsd

extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {
  FLAGS_logtostderr = true;
  FLAGS_minloglevel = 3;  // refused requests log by design
  google::InitGoogleLogging((*argv)[0]);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  vfsd::FuzzInput in(data, size);
  vfsd::Run(in);
  return 0;
}
