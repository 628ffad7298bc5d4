// Request extensions: the security context parser against well-formed and
// hostile blocks, and the creating handlers end to end (7.38 extension
// records after the arguments, the 7.36/7.37 block appended to them).
#include "protocol/request_extensions.h"

#include <linux/fuse.h>

#include <cerrno>
#include <string>

#include "backends/errno_status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "protocol/fuse_test_util.h"

namespace vfsd {
namespace {

using ::testing::_;
using ::testing::Eq;
using namespace testing_util;

// A fuse_secctx_header block as the kernel builds it
// (fs/fuse/dir.c get_security_context): header, then per context a
// fuse_secctx, the NUL-terminated name and the value, padded to 8 bytes.
std::string SecctxBlock(absl::string_view name, absl::string_view value, uint32_t nr = 1) {
  std::string body;
  if (nr > 0) {
    fuse_secctx secctx = {};
    secctx.size = static_cast<uint32_t>(value.size());
    body = Bytes(secctx) + CName(name) + std::string(value);
    body.resize((body.size() + 7) & ~size_t{7}, '\0');
  }
  fuse_secctx_header header = {};
  header.size = static_cast<uint32_t>(sizeof(header) + body.size());
  header.nr_secctx = nr;
  return Bytes(header) + body;
}

// FUSE_EXT_GROUPS (7.39; this <linux/fuse.h> is 7.38).
constexpr uint32_t kExtGroups = 32;

// Another extension record (FUSE_EXT_GROUPS shaped): header + payload.
std::string OtherRecord(uint32_t type, size_t payload) {
  fuse_ext_header header = {};
  header.size = static_cast<uint32_t>(sizeof(header) + payload);
  header.type = type;
  return Bytes(header) + std::string(payload, 'g');
}

TEST(ParseSecctxBlockTest, OneContext) {
  const std::string label("system_u:object_r:t\0", 20);
  const std::string block = SecctxBlock("security.selinux", label);
  absl::StatusOr<ParsedExtensions> parsed = ParseSecctxBlock(block);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_TRUE(parsed->has_secctx_header);
  ASSERT_TRUE(parsed->security_context.has_value());
  EXPECT_EQ(parsed->security_context->name, "security.selinux");
  EXPECT_EQ(parsed->security_context->value, label);
}

TEST(ParseSecctxBlockTest, NoContextIsNotAnError) {
  absl::StatusOr<ParsedExtensions> parsed = ParseSecctxBlock(SecctxBlock("", "", 0));
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_TRUE(parsed->has_secctx_header);
  EXPECT_FALSE(parsed->security_context.has_value());
}

TEST(ParseSecctxBlockTest, RejectsHostileBlocks) {
  auto errno_of = [](absl::string_view block) { return ErrnoOf(ParseSecctxBlock(block).status()); };
  EXPECT_EQ(errno_of(""), EINVAL);
  EXPECT_EQ(errno_of("1234567"), EINVAL);
  std::string block = SecctxBlock("security.selinux", "label");
  // Header size beyond the bytes present, and below the header itself.
  std::string longer = block;
  longer[0] = static_cast<char>(block.size() + 8);
  EXPECT_EQ(errno_of(longer), EINVAL);
  std::string shorter = block;
  shorter[0] = 4;
  EXPECT_EQ(errno_of(shorter), EINVAL);
  // Two contexts (the kernel sends one; which would we store?).
  std::string two = block;
  two[4] = 2;
  EXPECT_EQ(errno_of(two), EINVAL);
  // Value longer than the block.
  EXPECT_EQ(errno_of(block.substr(0, block.size() - 8)), EINVAL);
  std::string big = block;
  big[8] = 100;  // fuse_secctx.size
  EXPECT_EQ(errno_of(big), EINVAL);
  // Empty value.
  EXPECT_EQ(errno_of(SecctxBlock("security.selinux", "")), EINVAL);
  // Names outside the security namespace, empty or unterminated.
  EXPECT_EQ(errno_of(SecctxBlock("trusted.overlay", "x")), EINVAL);
  EXPECT_EQ(errno_of(SecctxBlock("system.posix_acl_access", "x")), EINVAL);
  EXPECT_EQ(errno_of(SecctxBlock("security.", "x")), EINVAL);
  EXPECT_EQ(errno_of(SecctxBlock("", "x")), EINVAL);
  EXPECT_EQ(errno_of(SecctxBlock("security." + std::string(250, 'n'), "x")), EINVAL);
  fuse_secctx_header header = {};
  header.size = 8 + 8 + 4;
  header.nr_secctx = 1;
  fuse_secctx secctx = {};
  secctx.size = 1;
  EXPECT_EQ(errno_of(Bytes(header) + Bytes(secctx) + "secu"), EINVAL);
}

TEST(ParseExtensionRecordsTest, SkipsUnknownRecordsAndFindsTheContext) {
  const std::string block =
      OtherRecord(kExtGroups, 8) + SecctxBlock("security.apparmor", "unconfined");
  absl::StatusOr<ParsedExtensions> parsed = ParseExtensionRecords(block, true);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  ASSERT_TRUE(parsed->security_context.has_value());
  EXPECT_EQ(parsed->security_context->name, "security.apparmor");
  EXPECT_EQ(parsed->security_context->value, "unconfined");
  // Unknown records alone: nothing, no error.
  parsed = ParseExtensionRecords(OtherRecord(99, 16), false);
  ASSERT_TRUE(parsed.ok());
  EXPECT_FALSE(parsed->has_secctx_header);
}

TEST(ParseExtensionRecordsTest, RejectsMalformedRecords) {
  auto errno_of = [](absl::string_view block, bool allowed = true) {
    return ErrnoOf(ParseExtensionRecords(block, allowed).status());
  };
  const std::string secctx = SecctxBlock("security.selinux", "l");
  EXPECT_EQ(errno_of(secctx, /*allowed=*/false), EINVAL);  // not negotiated
  EXPECT_EQ(errno_of(secctx + secctx), EINVAL);            // twice
  EXPECT_EQ(errno_of(OtherRecord(40, 8).substr(0, 12)), EINVAL);  // past the block
  std::string zero = OtherRecord(40, 0);
  zero[0] = 0;  // size 0 would never advance
  EXPECT_EQ(errno_of(zero), EINVAL);
  EXPECT_EQ(errno_of(OtherRecord(40, 4)), EINVAL);  // not 8-aligned
  EXPECT_EQ(errno_of("abc"), EINVAL);                // shorter than a header
}

// --- the creating handlers, end to end ---

FuseSessionOptions WithLabels() {
  FuseSessionOptions options;
  options.security_label = true;
  return options;
}

// A request whose extension block follows the arguments (7.38).
std::string RequestWithExtensions(uint32_t opcode, uint64_t nodeid, absl::string_view args,
                                  absl::string_view ext) {
  fuse_in_header header = {};
  header.len = static_cast<uint32_t>(sizeof(header) + args.size() + ext.size());
  header.opcode = opcode;
  header.unique = kUnique;
  header.nodeid = nodeid;
  header.uid = kUid;
  header.gid = kGid;
  header.pid = kPid;
  header.total_extlen = static_cast<uint16_t>(ext.size() / 8);
  return Bytes(header) + std::string(args) + std::string(ext);
}

struct Seen {
  bool called = false;
  bool has_label = false;
  std::string name, value;
  uint32_t uid = 0;
};

// Records the context a backend call saw.
void Record(Seen* seen, const RequestContext& ctx) {
  seen->called = true;
  seen->uid = ctx.uid;
  seen->has_label = ctx.security_context != nullptr;
  if (ctx.security_context != nullptr) {
    seen->name = std::string(ctx.security_context->name);
    seen->value = std::string(ctx.security_context->value);
  }
}

TEST(CreateExtensionsTest, MkDirCarriesTheContextToTheBackend) {
  FuseHarness h(WithLabels());
  ASSERT_EQ(h.Init().error(), 0);
  Seen seen;
  EXPECT_CALL(h.backend, MkDir(_, 1, Eq("dir"), 0755u, 022u, _))
      .WillOnce([&](const RequestContext& ctx, NodeId, absl::string_view, uint32_t, uint32_t,
                    Done<Entry> done) {
        Record(&seen, ctx);
        done(SampleEntry(5));
      });
  fuse_mkdir_in in = {};
  in.mode = 0755;
  in.umask = 022;
  const std::string ext = SecctxBlock("security.selinux", "u:r:t:s0");
  Reply r = h.Send(RequestWithExtensions(FUSE_MKDIR, 1, Bytes(in) + CName("dir"), ext));
  ASSERT_EQ(r.error(), 0);
  EXPECT_TRUE(seen.has_label);
  EXPECT_EQ(seen.name, "security.selinux");
  EXPECT_EQ(seen.value, "u:r:t:s0");
  EXPECT_EQ(seen.uid, kUid);
}

TEST(CreateExtensionsTest, EveryCreatingOpCarriesIt) {
  FuseHarness h(WithLabels());
  ASSERT_EQ(h.Init().error(), 0);
  const std::string ext = OtherRecord(kExtGroups, 8) + SecctxBlock("security.smack", "_");
  Seen mknod, symlink, create, tmpfile;
  EXPECT_CALL(h.backend, MkNod(_, 1, Eq("n"), 010644u, 0u, 0u, _))
      .WillOnce([&](const RequestContext& ctx, NodeId, absl::string_view, uint32_t, uint32_t,
                    uint32_t, Done<Entry> done) {
        Record(&mknod, ctx);
        done(SampleEntry(6));
      });
  EXPECT_CALL(h.backend, Symlink(_, 1, Eq("l"), Eq("target"), _))
      .WillOnce([&](const RequestContext& ctx, NodeId, absl::string_view, absl::string_view,
                    Done<Entry> done) {
        Record(&symlink, ctx);
        done(SampleEntry(7));
      });
  EXPECT_CALL(h.backend, Create(_, 1, Eq("f"), 0100644u, 2u, 0u, false, _))
      .WillOnce([&](const RequestContext& ctx, NodeId, absl::string_view, uint32_t, uint32_t,
                    uint32_t, bool, Done<CreateResult> done) {
        Record(&create, ctx);
        done(CreateResult{SampleEntry(8), OpenResult{}});
      });
  EXPECT_CALL(h.backend, TmpFile(_, 1, 0100600u, 2u, 0u, _))
      .WillOnce([&](const RequestContext& ctx, NodeId, uint32_t, uint32_t, uint32_t,
                    Done<CreateResult> done) {
        Record(&tmpfile, ctx);
        done(CreateResult{SampleEntry(9), OpenResult{}});
      });
  fuse_mknod_in mk = {};
  mk.mode = 010644;
  EXPECT_EQ(h.Send(RequestWithExtensions(FUSE_MKNOD, 1, Bytes(mk) + CName("n"), ext)).error(), 0);
  EXPECT_EQ(
      h.Send(RequestWithExtensions(FUSE_SYMLINK, 1, CName("l") + CName("target"), ext)).error(),
      0);
  fuse_create_in cr = {};
  cr.flags = 2;
  cr.mode = 0100644;
  EXPECT_EQ(h.Send(RequestWithExtensions(FUSE_CREATE, 1, Bytes(cr) + CName("f"), ext)).error(), 0);
  cr.mode = 0100600;
  EXPECT_EQ(h.Send(RequestWithExtensions(FUSE_TMPFILE, 1, Bytes(cr), ext)).error(), 0);
  for (const Seen* s : {&mknod, &symlink, &create, &tmpfile}) {
    EXPECT_TRUE(s->has_label);
    EXPECT_EQ(s->name, "security.smack");
    EXPECT_EQ(s->value, "_");
  }
}

TEST(CreateExtensionsTest, NoContextOrNoLsmMeansNoLabel) {
  FuseHarness h(WithLabels());
  ASSERT_EQ(h.Init().error(), 0);
  Seen plain, nolsm;
  EXPECT_CALL(h.backend, MkDir(_, 1, _, _, _, _))
      .WillOnce([&](const RequestContext& ctx, NodeId, absl::string_view, uint32_t, uint32_t,
                    Done<Entry> done) {
        Record(&plain, ctx);
        done(SampleEntry(5));
      })
      .WillOnce([&](const RequestContext& ctx, NodeId, absl::string_view, uint32_t, uint32_t,
                    Done<Entry> done) {
        Record(&nolsm, ctx);
        done(SampleEntry(5));
      });
  fuse_mkdir_in in = {};
  EXPECT_EQ(h.Call(FUSE_MKDIR, 1, Bytes(in) + CName("a")).error(), 0);
  EXPECT_EQ(h.Send(RequestWithExtensions(FUSE_MKDIR, 1, Bytes(in) + CName("b"),
                                         SecctxBlock("", "", 0)))
                .error(),
            0);
  EXPECT_TRUE(plain.called && !plain.has_label);
  EXPECT_TRUE(nolsm.called && !nolsm.has_label);
}

TEST(CreateExtensionsTest, MalformedOrUnofferedContextIsEinvalWithoutBackendCall) {
  FuseHarness h(WithLabels());  // StrictMock: any backend call fails the test
  ASSERT_EQ(h.Init().error(), 0);
  fuse_mkdir_in in = {};
  const std::string args = Bytes(in) + CName("d");
  EXPECT_EQ(h.Send(RequestWithExtensions(FUSE_MKDIR, 1, args,
                                         SecctxBlock("trusted.x", "v")))
                .error(),
            EINVAL);
  std::string two = SecctxBlock("security.selinux", "v");
  two[4] = 2;
  EXPECT_EQ(h.Send(RequestWithExtensions(FUSE_MKDIR, 1, args, two)).error(), EINVAL);
  std::string misaligned = OtherRecord(40, 8);
  misaligned[0] = 12;
  EXPECT_EQ(h.Send(RequestWithExtensions(FUSE_MKDIR, 1, args, misaligned)).error(), EINVAL);

  FuseHarness off;  // --security-label not given: FUSE_SECURITY_CTX never offered
  ASSERT_EQ(off.Init().error(), 0);
  EXPECT_EQ(off.Send(RequestWithExtensions(FUSE_MKDIR, 1, args,
                                           SecctxBlock("security.selinux", "v")))
                .error(),
            EINVAL);
}

TEST(CreateExtensionsTest, ExtensionsOnOtherRequestsDoNotDisturbTheirArguments) {
  FuseHarness h(WithLabels());
  ASSERT_EQ(h.Init().error(), 0);
  // The session strips the records: LOOKUP still sees exactly its name.
  EXPECT_CALL(h.backend, Lookup(_, 1, Eq("name"), _)).WillOnce(CompleteArg<3>(SampleEntry(4)));
  EXPECT_EQ(h.Send(RequestWithExtensions(FUSE_LOOKUP, 1, CName("name"),
                                         OtherRecord(kExtGroups, 8)))
                .error(),
            0);
  // An extension length beyond the request is refused by the session.
  std::string bad = RequestWithExtensions(FUSE_LOOKUP, 1, CName("name"), "");
  fuse_in_header header;
  memcpy(&header, bad.data(), sizeof(header));
  header.total_extlen = 100;
  memcpy(bad.data(), &header, sizeof(header));
  EXPECT_EQ(h.Send(bad).error(), EINVAL);
}

TEST(CreateExtensionsTest, Minor36AppendsTheBlockToTheArguments) {
  FuseHarness h(WithLabels());
  ASSERT_EQ(h.Init(36).error(), 0);
  Seen seen;
  EXPECT_CALL(h.backend, Symlink(_, 1, Eq("l"), Eq("t"), _))
      .WillOnce([&](const RequestContext& ctx, NodeId, absl::string_view, absl::string_view,
                    Done<Entry> done) {
        Record(&seen, ctx);
        done(SampleEntry(7));
      });
  EXPECT_EQ(h.Call(FUSE_SYMLINK, 1, CName("l") + CName("t") + SecctxBlock("security.ima", "m"))
                .error(),
            0);
  EXPECT_TRUE(seen.has_label);
  EXPECT_EQ(seen.name, "security.ima");
  EXPECT_EQ(seen.value, "m");
  // A truncated appended block is malformed.
  fuse_mkdir_in in = {};
  EXPECT_EQ(h.Call(FUSE_MKDIR, 1, Bytes(in) + CName("d") + "\x10\0\0\0").error(), EINVAL);
}

TEST(CreateExtensionsTest, OldMinorsNeverCarryOne) {
  // Before 7.36 nothing may follow the names; trailing bytes are ignored as
  // they always were.
  FuseHarness h(WithLabels());
  ASSERT_EQ(h.Init(31).error(), 0);
  Seen seen;
  EXPECT_CALL(h.backend, MkDir(_, 1, Eq("d"), _, _, _))
      .WillOnce([&](const RequestContext& ctx, NodeId, absl::string_view, uint32_t, uint32_t,
                    Done<Entry> done) {
        Record(&seen, ctx);
        done(SampleEntry(5));
      });
  fuse_mkdir_in in = {};
  EXPECT_EQ(h.Call(FUSE_MKDIR, 1, Bytes(in) + CName("d") + SecctxBlock("security.x", "v"))
                .error(),
            0);
  EXPECT_FALSE(seen.has_label);
}

}  // namespace
}  // namespace vfsd
