// Hostile-guest robustness: thousands of random and mutated requests
// (every opcode, random lengths, names, header fields, segmentations and
// reply-buffer sizes) against a session whose backend succeeds with real
// data. Whatever the bytes, each request must complete exactly once, never
// write outside the reply buffers (ASan checks this under --config=asan),
// and any reply must be well-formed.
#include <dirent.h>
#include <linux/fuse.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "backends/backend.h"
#include "gtest/gtest.h"
#include "protocol/fuse_session.h"
#include "protocol/fuse_test_util.h"
#include "protocol/iovec_io.h"

namespace vfsd {
namespace {

using namespace testing_util;

// Answers with plausible data so the reply encoders run, not just ENOSYS.
class SucceedingBackend : public Backend {
 public:
  void Lookup(const RequestContext&, NodeId, absl::string_view, Done<Entry> done) override {
    done(SampleEntry(2));
  }
  void GetAttr(const RequestContext&, NodeId n, std::optional<HandleId>, Done<Attr> done) override {
    done(SampleAttr(n));
  }
  void SetAttr(const RequestContext&, NodeId n, const SetAttrRequest&, Done<Attr> done) override {
    done(SampleAttr(n));
  }
  void ReadLink(const RequestContext&, NodeId, Done<std::string> done) override {
    done(std::string(300, 'l'));
  }
  void MkDir(const RequestContext&, NodeId, absl::string_view, uint32_t, uint32_t,
             Done<Entry> done) override {
    done(SampleEntry(3));
  }
  void Open(const RequestContext&, NodeId, uint32_t, bool, Done<OpenResult> done) override {
    done(OpenResult{});
  }
  void Create(const RequestContext&, NodeId, absl::string_view, uint32_t, uint32_t, uint32_t,
              bool, Done<CreateResult> done) override {
    done(CreateResult{});
  }
  void Read(const RequestContext&, NodeId, HandleId, uint64_t, absl::Span<const iovec> dest,
            Done<size_t> done) override {
    const size_t n = IovecTotalLength(dest);
    ZeroIovecs(dest, 0, n);
    done(n);
  }
  void Write(const RequestContext&, NodeId, HandleId, uint64_t, absl::Span<const iovec> data,
             WriteFlags, Done<size_t> done) override {
    std::string copy(IovecTotalLength(data), '\0');
    CopyFromIovecs(data, 0, copy.data(), copy.size());
    done(copy.size());
  }
  void ReadDir(const RequestContext&, NodeId, HandleId, uint64_t offset, bool plus,
               DirEntrySink& sink, DoneStatus done) override {
    static const char* kNames[] = {".", "..", "a", "longer-name-here", "x"};
    Entry e = SampleEntry(9);
    for (uint64_t i = offset; i < 50; ++i) {
      absl::string_view name = kNames[i % 5];
      if (!sink.Fits(name.size())) break;
      sink.Add(DirEntry{i + 10, i + 1, DT_REG, name}, plus ? &e : nullptr);
    }
    done(absl::OkStatus());
  }
  void StatFs(const RequestContext&, NodeId, Done<vfsd::StatFs> done) override {
    done(vfsd::StatFs{});
  }
  void GetXattr(const RequestContext&, NodeId, absl::string_view, Done<std::string> done) override {
    done(std::string(100, 'v'));
  }
  void ListXattr(const RequestContext&, NodeId, Done<std::string> done) override {
    done(std::string("user.a\0user.b\0", 14));
  }
  void GetLk(const RequestContext&, NodeId, HandleId, uint64_t, const FileLock& lock,
             Done<FileLock> done) override {
    done(lock);
  }
};

std::string RandomBytes(std::mt19937& rng, size_t n) {
  std::string s(n, '\0');
  for (char& c : s) {
    // Mostly small values so names, NULs and '/' show up often.
    const uint32_t r = rng();
    c = static_cast<char>((r & 3) == 0 ? r >> 8 : "ab/.\0"[(r >> 8) % 5]);
  }
  return s;
}

TEST(FuseSessionRobustnessTest, RandomRequestsAlwaysCompleteOnceAndStayInBounds) {
  std::mt19937 rng(20261125);
  FuseSessionOptions options;
  options.xattr = true;
  SucceedingBackend backend;
  FuseSession session(backend, options);
  int replies = 0;
  for (int iter = 0; iter < 20000; ++iter) {
    uint32_t opcode;
    switch (rng() % 8) {
      case 0: opcode = rng(); break;                   // anything
      case 1: opcode = FUSE_INIT; break;               // lifecycle churn
      case 2: opcode = FUSE_DESTROY; break;
      default: opcode = 1 + rng() % 52; break;         // a real opcode
    }
    if (!session.initialized() && rng() % 2 == 0) opcode = FUSE_INIT;
    std::string args;
    if (opcode == FUSE_INIT && rng() % 4 != 0) {
      fuse_init_in in = {};
      in.major = 7;
      in.minor = rng() % 40;
      in.flags = rng();
      in.flags2 = rng();
      args = Bytes(in).substr(0, rng() % 2 ? 16 : sizeof(in));
    } else {
      args = RandomBytes(rng, rng() % 3 == 0 ? rng() % 4096 : rng() % 120);
    }
    int64_t len = -1;
    if (rng() % 10 == 0) len = rng() % 200;  // lying header length
    std::string request = FuseHarness::Request(opcode, rng() % 4, args, len);
    if (rng() % 10 == 0) {
      fuse_in_header h;
      memcpy(&h, request.data(), sizeof(h));
      h.total_extlen = rng() % 8;
      memcpy(request.data(), &h, sizeof(h));
    }
    if (rng() % 50 == 0) request.resize(rng() % sizeof(fuse_in_header));

    ScatteredBuffer in(request, 1 + rng() % 64);
    const size_t out_size = rng() % 3 == 0 ? rng() % 64 : rng() % 5000;
    ScatteredBuffer out(out_size, 1 + rng() % 100);
    int calls = 0;
    uint32_t written = 0;
    session.HandleRequest(in.iov(), out.iov(), [&](uint32_t n) {
      ++calls;
      written = n;
    });
    ASSERT_EQ(calls, 1) << "opcode " << opcode << " iteration " << iter;
    ASSERT_LE(written, out_size);
    if (written == 0) continue;
    ASSERT_GE(written, sizeof(fuse_out_header));
    Reply r = DecodeReply(out, written);
    ASSERT_EQ(r.header.len, written);
    ASSERT_EQ(r.header.unique, kUnique);
    ASSERT_LE(r.header.error, 0);
    ASSERT_GT(r.header.error, -4096);
    if (r.header.error != 0) ASSERT_EQ(written, sizeof(fuse_out_header));
    ++replies;
  }
  EXPECT_GT(replies, 1000);
  session.Shutdown();
}

}  // namespace
}  // namespace vfsd
