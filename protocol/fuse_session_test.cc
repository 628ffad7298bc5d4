// FuseSession: INIT/DESTROY lifecycle, header validation, unsupported
// opcodes, errno propagation and asynchronous completion.
#include "protocol/fuse_session.h"

#include <linux/fuse.h>

#include <cerrno>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/notification.h"
#include "backends/errno_status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "protocol/fuse_test_util.h"

namespace vfsd {
namespace {

using ::testing::_;
using ::testing::Eq;
using ::testing::Field;
using ::testing::InvokeArgument;
using ::testing::Return;
using namespace testing_util;

TEST(FuseSessionTest, RequestsBeforeInitAreEio) {
  FuseHarness h;
  fuse_getattr_in in = {};
  Reply r = h.Call(FUSE_GETATTR, 1, Bytes(in));
  EXPECT_EQ(r.error(), EIO);
  EXPECT_EQ(r.written, sizeof(fuse_out_header));
  EXPECT_FALSE(h.session.initialized());
}

TEST(FuseSessionTest, InitRepliesAndInitialisesBackend) {
  FuseHarness h;
  Reply r = h.Init();
  ASSERT_EQ(r.error(), 0);
  ASSERT_EQ(r.body.size(), sizeof(fuse_init_out));
  fuse_init_out out = r.As<fuse_init_out>();
  EXPECT_EQ(out.major, 7u);
  EXPECT_EQ(out.minor, 38u);
  EXPECT_TRUE(out.flags & FUSE_MAX_PAGES);
  EXPECT_TRUE(h.session.initialized());
  EXPECT_EQ(h.session.protocol().minor, 38u);
}

TEST(FuseSessionTest, InitTellsBackendNegotiatedOptions) {
  FuseSessionOptions options;
  options.writeback = true;
  FuseHarness h(options);
  fuse_init_in in = {};
  in.major = 7;
  in.minor = 38;
  in.flags = FUSE_WRITEBACK_CACHE;
  EXPECT_CALL(h.backend, Init(Field(&SessionOptions::writeback_cache, true)))
      .WillOnce(Return(absl::OkStatus()));
  EXPECT_EQ(h.Call(FUSE_INIT, 0, Bytes(in)).error(), 0);
}

TEST(FuseSessionTest, OldMinorInitGetsCompatReply) {
  FuseHarness h;
  fuse_init_in in = {};
  in.major = 7;
  in.minor = 22;
  EXPECT_CALL(h.backend, Init(_)).WillOnce(Return(absl::OkStatus()));
  // 7.22 guests send the 16-byte fuse_init_in.
  Reply r = h.Call(FUSE_INIT, 0, Bytes(in).substr(0, 16));
  EXPECT_EQ(r.error(), 0);
  EXPECT_EQ(r.body.size(), size_t{FUSE_COMPAT_22_INIT_OUT_SIZE});
  EXPECT_EQ(h.session.protocol().minor, 22u);
}

TEST(FuseSessionTest, SecondInitIsEio) {
  FuseHarness h;
  h.Init();
  fuse_init_in in = {};
  in.major = 7;
  in.minor = 38;
  EXPECT_EQ(h.Call(FUSE_INIT, 0, Bytes(in)).error(), EIO);
  EXPECT_TRUE(h.session.initialized());
}

TEST(FuseSessionTest, BackendInitFailureIsReported) {
  FuseHarness h;
  fuse_init_in in = {};
  in.major = 7;
  in.minor = 38;
  EXPECT_CALL(h.backend, Init(_)).WillOnce(Return(ErrnoStatus(ENOMEM)));
  EXPECT_EQ(h.Call(FUSE_INIT, 0, Bytes(in)).error(), ENOMEM);
  EXPECT_FALSE(h.session.initialized());
}

TEST(FuseSessionTest, NewerMajorIsToldOurVersion) {
  FuseHarness h;
  fuse_init_in in = {};
  in.major = 8;
  Reply r = h.Call(FUSE_INIT, 0, Bytes(in));
  EXPECT_EQ(r.error(), 0);
  EXPECT_EQ(r.As<fuse_init_out>().major, 7u);
  EXPECT_FALSE(h.session.initialized());
}

TEST(FuseSessionTest, DestroyThenInitAgain) {
  FuseHarness h;
  h.Init();
  EXPECT_CALL(h.backend, Destroy());
  Reply r = h.Call(FUSE_DESTROY, 0, "");
  EXPECT_EQ(r.error(), 0);
  EXPECT_EQ(r.written, sizeof(fuse_out_header));
  EXPECT_FALSE(h.session.initialized());
  EXPECT_EQ(h.Init().error(), 0);  // remount on the same device
}

TEST(FuseSessionTest, ShutdownDestroysOnlyAnInitialisedSession) {
  FuseHarness h;
  h.session.Shutdown();  // StrictMock: no Destroy expected
  h.Init();
  EXPECT_CALL(h.backend, Destroy()).Times(1);
  h.session.Shutdown();
  h.session.Shutdown();
  EXPECT_FALSE(h.session.initialized());
}

TEST(FuseSessionTest, HeaderLengthMustMatchBytesPresent) {
  FuseHarness h;
  h.Init();
  const std::string name = CName("x");
  EXPECT_EQ(h.Send(FuseHarness::Request(FUSE_LOOKUP, 1, name, 40 + 5)).error(), EINVAL);
  EXPECT_EQ(h.Send(FuseHarness::Request(FUSE_LOOKUP, 1, name, 40)).error(), EINVAL);
  EXPECT_EQ(h.Send(FuseHarness::Request(FUSE_LOOKUP, 1, name, 0)).error(), EINVAL);
}

TEST(FuseSessionTest, ExtensionLengthBeyondRequestIsEinval) {
  FuseHarness h;
  h.Init();
  std::string req = FuseHarness::Request(FUSE_LOOKUP, 1, CName("x"));
  fuse_in_header header;
  memcpy(&header, req.data(), sizeof(header));
  header.total_extlen = 1;  // 8 bytes, but only 2 follow the header
  memcpy(req.data(), &header, sizeof(header));
  EXPECT_EQ(h.Send(req).error(), EINVAL);
}

TEST(FuseSessionTest, TruncatedHeaderCompletesWithoutReply) {
  FuseHarness h;
  Reply r = h.Send(FuseHarness::Request(FUSE_LOOKUP, 1, "").substr(0, 20));
  EXPECT_TRUE(r.completed);
  EXPECT_EQ(r.written, 0u);
}

TEST(FuseSessionTest, NoRoomForReplyHeaderSkipsTheBackend) {
  FuseHarness h;
  h.Init();
  // StrictMock: Lookup must not be called.
  Reply r = h.Send(FuseHarness::Request(FUSE_LOOKUP, 1, CName("x")), /*out_size=*/8);
  EXPECT_TRUE(r.completed);
  EXPECT_EQ(r.written, 0u);
}

TEST(FuseSessionTest, NodeIdZeroIsEinval) {
  FuseHarness h;
  h.Init();
  EXPECT_EQ(h.Call(FUSE_LOOKUP, 0, CName("x")).error(), EINVAL);
}

TEST(FuseSessionTest, UnsupportedOpcodes) {
  FuseHarness h;
  h.Init();
  EXPECT_EQ(h.Call(FUSE_IOCTL, 2, std::string(sizeof(fuse_ioctl_in), '\0')).error(), ENOTTY);
  for (uint32_t op : std::vector<uint32_t>{FUSE_POLL, FUSE_BMAP, FUSE_SETUPMAPPING, FUSE_REMOVEMAPPING,
                      FUSE_NOTIFY_REPLY, 999u, static_cast<uint32_t>(CUSE_INIT)}) {
    EXPECT_EQ(h.Call(op, 2, std::string(16, '\0')).error(), ENOSYS) << op;
  }
}

TEST(FuseSessionTest, InterruptHasNoReply) {
  FuseHarness h;
  h.Init();
  fuse_interrupt_in in = {};
  in.unique = 99;
  Reply r = h.Call(FUSE_INTERRUPT, 0, Bytes(in));
  EXPECT_TRUE(r.completed);
  EXPECT_EQ(r.written, 0u);
}

TEST(FuseSessionTest, OversizedArgumentsAreRefused) {
  FuseHarness h;
  h.Init();
  EXPECT_EQ(h.Call(FUSE_LOOKUP, 1, std::string((1 << 20) + 8192, 'a')).error(), EINVAL);
}

TEST(FuseSessionTest, BackendErrnoIsPropagatedExactly) {
  FuseHarness h;
  h.Init();
  for (int err : {ENOENT, EACCES, EPERM, ESTALE, ENOSPC}) {
    EXPECT_CALL(h.backend, Lookup(_, 1, Eq("x"), _))
        .WillOnce(CompleteArg<3>(ErrnoStatus(err, "test")));
    EXPECT_EQ(h.Call(FUSE_LOOKUP, 1, CName("x")).error(), err);
  }
  // A status without an errno payload still maps to something sensible.
  EXPECT_CALL(h.backend, Lookup(_, 1, Eq("x"), _))
      .WillOnce(CompleteArg<3>(absl::InternalError("boom")));
  EXPECT_EQ(h.Call(FUSE_LOOKUP, 1, CName("x")).error(), EIO);
}

TEST(FuseSessionTest, ReplyLargerThanBufferIsEio) {
  FuseHarness h;
  h.Init();
  EXPECT_CALL(h.backend, ReadLink(_, 5, _))
      .WillOnce(CompleteArg<2>(std::string(5000, 'l')));
  Reply r = h.Call(FUSE_READLINK, 5, "", /*out_size=*/4096);
  EXPECT_EQ(r.error(), EIO);
}

TEST(FuseSessionTest, AsyncCompletionOutOfOrderFromOtherThreads) {
  FuseHarness h;
  h.Init();
  std::vector<Done<Entry>> pending;
  EXPECT_CALL(h.backend, Lookup(_, 1, _, _))
      .Times(2)
      .WillRepeatedly([&](const RequestContext&, NodeId, absl::string_view,
                          Done<Entry> done) { pending.push_back(std::move(done)); });
  struct Slot {
    std::unique_ptr<ScatteredBuffer> in, out;
    absl::Notification done;
    uint32_t written = 0;
  };
  Slot slots[2];
  const char* names[2] = {"first", "second"};
  for (int i = 0; i < 2; ++i) {
    std::string req = FuseHarness::Request(FUSE_LOOKUP, 1, CName(names[i]));
    fuse_in_header header;
    memcpy(&header, req.data(), sizeof(header));
    header.unique = 100 + i;
    memcpy(req.data(), &header, sizeof(header));
    slots[i].in = std::make_unique<ScatteredBuffer>(req, 5);
    slots[i].out = std::make_unique<ScatteredBuffer>(4096, 11);
    Slot* s = &slots[i];
    h.session.HandleRequest(s->in->iov(), s->out->iov(), [s](uint32_t n) {
      s->written = n;
      s->done.Notify();
    });
    EXPECT_FALSE(slots[i].done.HasBeenNotified());
  }
  ASSERT_EQ(pending.size(), 2u);
  // Complete the second request first, each from its own thread.
  std::thread t2([&] { pending[1](SampleEntry(22)); });
  std::thread t1([&] {
    slots[1].done.WaitForNotification();
    pending[0](ErrnoStatus(ENOENT));
  });
  t1.join();
  t2.join();
  for (int i = 0; i < 2; ++i) ASSERT_TRUE(slots[i].done.HasBeenNotified());
  Reply r0 = DecodeReply(*slots[0].out, slots[0].written);
  Reply r1 = DecodeReply(*slots[1].out, slots[1].written);
  EXPECT_EQ(r0.header.unique, 100u);
  EXPECT_EQ(r0.error(), ENOENT);
  EXPECT_EQ(r1.header.unique, 101u);
  EXPECT_EQ(r1.error(), 0);
  EXPECT_EQ(r1.As<fuse_entry_out>().nodeid, 22u);
}

TEST(FuseSessionTest, NamesStayValidUntilAsyncCompletion) {
  FuseHarness h;
  h.Init();
  Done<Entry> pending;
  absl::string_view seen;
  EXPECT_CALL(h.backend, Lookup(_, 1, _, _))
      .WillOnce([&](const RequestContext&, NodeId, absl::string_view name, Done<Entry> done) {
        seen = name;
        pending = std::move(done);
      });
  auto in = std::make_unique<ScatteredBuffer>(
      FuseHarness::Request(FUSE_LOOKUP, 1, CName("kept")), 3);
  ScatteredBuffer out(4096, 64);
  uint32_t written = 0;
  h.session.HandleRequest(in->iov(), out.iov(), [&](uint32_t n) { written = n; });
  in.reset();  // the guest's request buffer is gone; the copy is not
  EXPECT_EQ(seen, "kept");
  pending(SampleEntry(3));
  EXPECT_EQ(DecodeReply(out, written).error(), 0);
}

}  // namespace
}  // namespace vfsd
