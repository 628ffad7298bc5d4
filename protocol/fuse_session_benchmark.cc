// Per-request cost of the protocol layer alone (decode, dispatch, encode)
// with a backend that answers immediately: GETATTR (small reply), LOOKUP
// (name copy + validation) and a 128 KiB READ (zero-copy into scattered
// page-sized reply buffers). Run: bazel run -c opt //protocol:fuse_session_benchmark
#include <linux/fuse.h>

#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "protocol/fuse_session.h"
#include "protocol/iovec_io.h"

namespace vfsd {
namespace {

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
    done(a);
  }
  void Read(const RequestContext&, NodeId, HandleId, uint64_t, absl::Span<const iovec> dest,
            Done<size_t> done) override {
    done(IovecTotalLength(dest));  // data "already there"
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

struct Fixture {
  Fixture() : session(backend, FuseSessionOptions()) {
    fuse_init_in init = {};
    init.major = 7;
    init.minor = 38;
    init.flags = ~0u;
    Run(Request(FUSE_INIT, 0, init), 4096);
  }
  uint32_t Run(const std::string& req, size_t out_size) {
    // Reply buffers as the guest gives them: one page per descriptor.
    if (out.size() < out_size) out.resize(out_size);
    std::vector<iovec> out_iov;
    for (size_t at = 0; at < out_size; at += 4096) {
      out_iov.push_back(iovec{out.data() + at, std::min<size_t>(4096, out_size - at)});
    }
    iovec in{const_cast<char*>(req.data()), req.size()};
    uint32_t written = 0;
    session.HandleRequest(absl::MakeConstSpan(&in, 1), out_iov,
                          [&written](uint32_t n) { written = n; });
    return written;
  }
  InstantBackend backend;
  FuseSession session;
  std::string out;
};

void BM_GetAttr(benchmark::State& state) {
  Fixture f;
  fuse_getattr_in in = {};
  const std::string req = Request(FUSE_GETATTR, 5, in);
  for (auto _ : state) benchmark::DoNotOptimize(f.Run(req, 4096));
}
BENCHMARK(BM_GetAttr);

void BM_Lookup(benchmark::State& state) {
  Fixture f;
  const std::string name("a-typical-file-name.txt\0", 24);
  std::string req(sizeof(fuse_in_header), '\0');
  fuse_in_header h = {};
  h.len = sizeof(h) + name.size();
  h.opcode = FUSE_LOOKUP;
  h.unique = 1;
  h.nodeid = 1;
  req = std::string(reinterpret_cast<const char*>(&h), sizeof(h)) + name;
  for (auto _ : state) benchmark::DoNotOptimize(f.Run(req, 4096));
}
BENCHMARK(BM_Lookup);

void BM_Read128K(benchmark::State& state) {
  Fixture f;
  fuse_read_in in = {};
  in.size = 128 * 1024;
  const std::string req = Request(FUSE_READ, 5, in);
  for (auto _ : state) benchmark::DoNotOptimize(f.Run(req, sizeof(fuse_out_header) + in.size));
  state.SetBytesProcessed(state.iterations() * in.size);
}
BENCHMARK(BM_Read128K);

}  // namespace
}  // namespace vfsd

BENCHMARK_MAIN();
