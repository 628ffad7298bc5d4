#include "protocol/fuse_test_util.h"

#include <algorithm>

#include "gtest/gtest.h"
#include "protocol/iovec_io.h"

namespace vfsd {
namespace testing_util {

ScatteredBuffer::ScatteredBuffer(absl::string_view bytes, size_t chunk) {
  for (size_t at = 0; at < bytes.size(); at += chunk) {
    const size_t n = std::min(chunk, bytes.size() - at);
    segments_.push_back(std::make_unique<char[]>(n));
    std::memcpy(segments_.back().get(), bytes.data() + at, n);
    iov_.push_back(iovec{segments_.back().get(), n});
  }
}

ScatteredBuffer::ScatteredBuffer(size_t size, size_t chunk)
    : ScatteredBuffer(std::string(size, '\0'), chunk) {}

std::string ScatteredBuffer::Gather(size_t len) const {
  std::string out(len, '\0');
  out.resize(CopyFromIovecs(iov_, 0, out.data(), len));
  return out;
}

bool ScatteredBuffer::Contains(const void* addr) const {
  const char* p = static_cast<const char*>(addr);
  for (const iovec& seg : iov_) {
    const char* base = static_cast<const char*>(seg.iov_base);
    if (p >= base && p < base + seg.iov_len) return true;
  }
  return false;
}

FuseHarness::FuseHarness(FuseSessionOptions options) : session(backend, options) {}

std::string FuseHarness::Request(uint32_t opcode, uint64_t nodeid, absl::string_view args,
                                 int64_t len_override) {
  fuse_in_header h = {};
  h.len = len_override >= 0 ? static_cast<uint32_t>(len_override)
                            : static_cast<uint32_t>(sizeof(h) + args.size());
  h.opcode = opcode;
  h.unique = kUnique;
  h.nodeid = nodeid;
  h.uid = kUid;
  h.gid = kGid;
  h.pid = kPid;
  return Bytes(h) + std::string(args);
}

Reply DecodeReply(const ScatteredBuffer& out, uint32_t written) {
  Reply reply;
  reply.completed = true;
  reply.written = written;
  std::string bytes = out.Gather(written);
  if (bytes.size() >= sizeof(fuse_out_header)) {
    std::memcpy(&reply.header, bytes.data(), sizeof(fuse_out_header));
    reply.body = bytes.substr(sizeof(fuse_out_header));
  }
  return reply;
}

Reply FuseHarness::Send(absl::string_view request, size_t out_size, size_t chunk) {
  in_ = std::make_unique<ScatteredBuffer>(request, chunk);
  out_ = std::make_unique<ScatteredBuffer>(out_size, 13);
  bool completed = false;
  uint32_t written = 0;
  session.HandleRequest(in_->iov(), out_->iov(), [&](uint32_t n) {
    EXPECT_FALSE(completed) << "done called twice";
    completed = true;
    written = n;
  });
  EXPECT_TRUE(completed) << "request did not complete synchronously";
  Reply reply = DecodeReply(*out_, written);
  reply.completed = completed;
  if (written >= sizeof(fuse_out_header)) {
    EXPECT_EQ(reply.header.len, written);
    EXPECT_EQ(reply.header.unique, kUnique);
  }
  return reply;
}

Reply FuseHarness::Init(uint32_t minor, uint64_t flags) {
  fuse_init_in in = {};
  in.major = FUSE_KERNEL_VERSION;
  in.minor = minor;
  in.max_readahead = 128 * 1024;
  in.flags = static_cast<uint32_t>(flags) | FUSE_INIT_EXT;
  in.flags2 = static_cast<uint32_t>(flags >> 32);
  EXPECT_CALL(backend, Init(::testing::_)).WillOnce(::testing::Return(absl::OkStatus()));
  return Call(FUSE_INIT, 0, Bytes(in));
}

Attr SampleAttr(uint64_t ino) {
  Attr a;
  a.ino = ino;
  a.size = 4096 + ino;
  a.blocks = 8;
  a.atime = {1700000000, 1};
  a.mtime = {1700000001, 2};
  a.ctime = {1700000002, 3};
  a.mode = 0100644;
  a.nlink = 1;
  a.uid = kUid;
  a.gid = kGid;
  a.blksize = 4096;
  return a;
}

Entry SampleEntry(NodeId node) {
  Entry e;
  e.node = node;
  e.generation = 7;
  e.attr = SampleAttr(node + 100);
  return e;
}

}  // namespace testing_util
}  // namespace vfsd
