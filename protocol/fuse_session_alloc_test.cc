// Heap allocations per request through FuseSession (decode, dispatch,
// backend call, encode) with a backend that answers at once, counted by
// replacing the global operator new (testing/bench/alloc_counter.h). The hot
// path's allocations are a behaviour we keep from regressing: the limits are
// the counts measured when they were last reduced (docs/benchmarks.md).
#include <linux/fuse.h>
#include <sys/uio.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "protocol/fuse_session.h"
#include "protocol/iovec_io.h"
#include "testing/bench/alloc_counter.h"

namespace vfsd {
namespace {

// Measured: see docs/benchmarks.md ("Allocations per request"); before the
// pooled FuseRequest / PendingRequest and 34 inline iovecs these were 1 per
// request through the session (4 for a 128 KiB READ) and 2 on the daemon path.
constexpr double kGetAttrLimit = 0;
constexpr double kLookupLimit = 0;
constexpr double kReadLimit = 0;
constexpr double kWriteLimit = 0;

class InstantBackend : public Backend {
 public:
  void Lookup(const RequestContext&, NodeId, absl::string_view, Done<Entry> done) override {
    Entry e;
    e.node = 2;
    done(e);
  }
  void GetAttr(const RequestContext&, NodeId n, std::optional<HandleId>, Done<Attr> done) override {
    Attr a;
    a.ino = n;
    a.mode = 0100644;
    done(a);
  }
  void Read(const RequestContext&, NodeId, HandleId, uint64_t, absl::Span<const iovec> dest,
            Done<size_t> done) override {
    done(IovecTotalLength(dest));
  }
  void Write(const RequestContext&, NodeId, HandleId, uint64_t, absl::Span<const iovec> data,
             WriteFlags, Done<size_t> done) override {
    done(IovecTotalLength(data));
  }
};

template <typename T>
std::string Request(uint32_t opcode, uint64_t nodeid, const T& arg, absl::string_view tail = "") {
  fuse_in_header h = {};
  h.len = sizeof(h) + sizeof(arg) + tail.size();
  h.opcode = opcode;
  h.unique = 1;
  h.nodeid = nodeid;
  return std::string(reinterpret_cast<const char*>(&h), sizeof(h)) +
         std::string(reinterpret_cast<const char*>(&arg), sizeof(arg)) + std::string(tail);
}

class FuseSessionAllocTest : public ::testing::Test {
 protected:
  FuseSessionAllocTest() : session_(backend_, FuseSessionOptions()) {
    fuse_init_in init = {};
    init.major = 7;
    init.minor = 38;
    init.flags = ~0u;
    EXPECT_GT(Run(Request(FUSE_INIT, 0, init), 4096), 0u);
  }

  // One request as the guest lays it out: the request in one buffer (a
  // WRITE's payload in a second one), the reply in page-sized buffers.
  uint32_t Run(const std::string& req, size_t out_size, size_t payload = 0) {
    if (out_.size() < out_size) out_.resize(out_size);
    if (payload_.size() < payload) payload_.resize(payload);
    iovec in[2] = {{const_cast<char*>(req.data()), req.size()}, {payload_.data(), payload}};
    iovec out[64];
    size_t n_out = 0;
    for (size_t at = 0; at < out_size && n_out < 64; at += 4096) {
      out[n_out++] = iovec{out_.data() + at, std::min<size_t>(4096, out_size - at)};
    }
    uint32_t written = 0;
    session_.HandleRequest(absl::MakeConstSpan(in, payload > 0 ? 2 : 1),
                           absl::MakeConstSpan(out, n_out),
                           [&written](uint32_t bytes) { written = bytes; });
    return written;
  }

  // Allocations per request over `n` runs, after a warm-up (first-use
  // allocations of caches and logging are not per request).
  double AllocsPerRequest(const std::string& req, size_t out_size, size_t payload = 0) {
    for (int i = 0; i < 100; ++i) Run(req, out_size, payload);
    constexpr int kRuns = 1000;
    AllocCounter counter;
    for (int i = 0; i < kRuns; ++i) {
      if (Run(req, out_size, payload) == 0) ADD_FAILURE() << "no reply";
    }
    const double per_request = static_cast<double>(counter.count()) / kRuns;
    std::printf("%s: %.2f allocations per request\n",
                ::testing::UnitTest::GetInstance()->current_test_info()->name(), per_request);
    return per_request;
  }

  InstantBackend backend_;
  FuseSession session_;
  std::string out_;
  std::string payload_;
};

TEST_F(FuseSessionAllocTest, GetAttr) {
  fuse_getattr_in in = {};
  EXPECT_LE(AllocsPerRequest(Request(FUSE_GETATTR, 5, in), 4096), kGetAttrLimit);
}

TEST_F(FuseSessionAllocTest, Lookup) {
  const std::string name("a-typical-file-name.txt\0", 24);
  fuse_in_header h = {};
  h.len = sizeof(h) + name.size();
  h.opcode = FUSE_LOOKUP;
  h.unique = 1;
  h.nodeid = 1;
  const std::string req = std::string(reinterpret_cast<const char*>(&h), sizeof(h)) + name;
  EXPECT_LE(AllocsPerRequest(req, 4096), kLookupLimit);
}

TEST_F(FuseSessionAllocTest, Read4k) {
  fuse_read_in in = {};
  in.size = 4096;
  EXPECT_LE(AllocsPerRequest(Request(FUSE_READ, 5, in), sizeof(fuse_out_header) + 4096),
            kReadLimit);
}

TEST_F(FuseSessionAllocTest, Read128k) {
  fuse_read_in in = {};
  in.size = 128 * 1024;
  EXPECT_LE(AllocsPerRequest(Request(FUSE_READ, 5, in), sizeof(fuse_out_header) + in.size),
            kReadLimit);
}

TEST_F(FuseSessionAllocTest, Write4k) {
  fuse_write_in in = {};
  in.size = 4096;
  std::string req = Request(FUSE_WRITE, 5, in);
  fuse_in_header h;
  std::memcpy(&h, req.data(), sizeof(h));
  h.len = static_cast<uint32_t>(req.size() + in.size);  // the payload follows in a second buffer
  std::memcpy(req.data(), &h, sizeof(h));
  EXPECT_LE(AllocsPerRequest(req, 4096, in.size), kWriteLimit);
}

}  // namespace
}  // namespace vfsd
