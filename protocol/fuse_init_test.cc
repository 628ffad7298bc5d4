#include "protocol/fuse_init.h"

#include <cerrno>
#include <cstring>
#include <string>

#include "backends/errno_status.h"
#include "gtest/gtest.h"

namespace vfsd {
namespace {

std::string InitIn(uint32_t major, uint32_t minor, uint64_t flags, size_t size = sizeof(fuse_init_in)) {
  fuse_init_in in = {};
  in.major = major;
  in.minor = minor;
  in.max_readahead = 65536;
  in.flags = static_cast<uint32_t>(flags);
  in.flags2 = static_cast<uint32_t>(flags >> 32);
  return std::string(reinterpret_cast<const char*>(&in), size);
}

constexpr uint64_t kAllFlags = ~uint64_t{0};

TEST(NegotiateInitTest, CurrentMinor) {
  FuseSessionOptions options;
  absl::StatusOr<InitReply> r = NegotiateInit(InitIn(7, 38, kAllFlags), options);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->initialised);
  EXPECT_EQ(r->size, sizeof(fuse_init_out));
  EXPECT_EQ(r->out.major, 7u);
  EXPECT_EQ(r->out.minor, 38u);
  EXPECT_EQ(r->out.max_readahead, 65536u);
  EXPECT_EQ(r->out.max_write, 1u << 20);
  EXPECT_EQ(r->out.max_pages, 256);
  EXPECT_EQ(r->out.time_gran, 1u);
  const uint32_t expected = FUSE_ASYNC_READ | FUSE_ATOMIC_O_TRUNC | FUSE_BIG_WRITES |
                            FUSE_AUTO_INVAL_DATA | FUSE_ASYNC_DIO | FUSE_PARALLEL_DIROPS |
                            FUSE_MAX_PAGES | FUSE_EXPORT_SUPPORT | FUSE_POSIX_LOCKS |
                            FUSE_FLOCK_LOCKS | FUSE_DONT_MASK | FUSE_DO_READDIRPLUS |
                            FUSE_READDIRPLUS_AUTO | FUSE_INIT_EXT;
  EXPECT_EQ(r->out.flags, expected);
  EXPECT_EQ(r->out.flags2, 0u);  // no SECURITY_CTX / DAX
  EXPECT_EQ(r->protocol.minor, 38u);
  EXPECT_FALSE(r->protocol.submounts);
  EXPECT_FALSE(r->backend_options.writeback_cache);
}

TEST(NegotiateInitTest, NewerGuestMinorGetsOurs) {
  absl::StatusOr<InitReply> r = NegotiateInit(InitIn(7, 40, kAllFlags), FuseSessionOptions());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->out.minor, 38u);
}

TEST(NegotiateInitTest, OnlyFlagsTheGuestOffered) {
  absl::StatusOr<InitReply> r =
      NegotiateInit(InitIn(7, 38, FUSE_ASYNC_READ | FUSE_WRITEBACK_CACHE), FuseSessionOptions());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->out.flags, uint32_t{FUSE_ASYNC_READ});  // writeback not enabled by options
  EXPECT_EQ(r->out.max_pages, 0);                      // MAX_PAGES not offered
}

TEST(NegotiateInitTest, OptionalFlagsFollowOptions) {
  FuseSessionOptions options;
  options.writeback = true;
  options.announce_submounts = true;
  options.posix_acl = true;
  options.xattr = true;
  options.killpriv_v2 = true;
  options.posix_locks = false;
  options.flock = false;
  options.readdirplus = false;
  options.dont_mask = false;
  absl::StatusOr<InitReply> r = NegotiateInit(InitIn(7, 38, kAllFlags), options);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->out.flags & FUSE_WRITEBACK_CACHE);
  EXPECT_TRUE(r->out.flags & FUSE_SUBMOUNTS);
  EXPECT_TRUE(r->out.flags & FUSE_POSIX_ACL);
  EXPECT_TRUE(r->out.flags & FUSE_HANDLE_KILLPRIV_V2);
  EXPECT_FALSE(r->out.flags & FUSE_POSIX_LOCKS);
  EXPECT_FALSE(r->out.flags & FUSE_FLOCK_LOCKS);
  EXPECT_FALSE(r->out.flags & FUSE_DO_READDIRPLUS);
  EXPECT_FALSE(r->out.flags & FUSE_DONT_MASK);
  EXPECT_TRUE(r->protocol.submounts);
  EXPECT_TRUE(r->backend_options.writeback_cache);
  EXPECT_TRUE(r->backend_options.posix_acl);
  EXPECT_TRUE(r->backend_options.handle_killpriv_v2);
}

TEST(NegotiateInitTest, EachOptionalFlagOnlyWithItsOption) {
  // Every daemon flag turns on exactly its INIT flag, nothing else.
  struct Case {
    const char* name;
    void (*enable)(FuseSessionOptions&);
    uint64_t flags;
  };
  const Case cases[] = {
      {"writeback", [](FuseSessionOptions& o) { o.writeback = true; }, FUSE_WRITEBACK_CACHE},
      {"submounts", [](FuseSessionOptions& o) { o.announce_submounts = true; }, FUSE_SUBMOUNTS},
      {"killpriv_v2", [](FuseSessionOptions& o) { o.killpriv_v2 = true; },
       FUSE_HANDLE_KILLPRIV_V2},
      {"xattr", [](FuseSessionOptions& o) { o.xattr = true; }, FUSE_SETXATTR_EXT},
      {"posix_acl",
       [](FuseSessionOptions& o) {
         o.xattr = true;
         o.posix_acl = true;
       },
       FUSE_SETXATTR_EXT | FUSE_POSIX_ACL},
      {"security_label", [](FuseSessionOptions& o) { o.security_label = true; },
       FUSE_SECURITY_CTX},
      // FUSE_DIRECT_IO_ALLOW_MMAP (7.39): flags2 bit 4.
      {"direct_io_allow_mmap", [](FuseSessionOptions& o) { o.direct_io_allow_mmap = true; },
       uint64_t{1} << 36},
  };
  const uint64_t baseline = [] {
    absl::StatusOr<InitReply> r = NegotiateInit(InitIn(7, 38, kAllFlags), FuseSessionOptions());
    return r->out.flags | uint64_t{r->out.flags2} << 32;
  }();
  for (const Case& c : cases) {
    FuseSessionOptions options;
    c.enable(options);
    absl::StatusOr<InitReply> r = NegotiateInit(InitIn(7, 38, kAllFlags), options);
    ASSERT_TRUE(r.ok()) << c.name;
    const uint64_t got = r->out.flags | uint64_t{r->out.flags2} << 32;
    EXPECT_EQ(got, baseline | c.flags) << c.name;
    EXPECT_EQ(r->backend_options.security_context, (c.flags & FUSE_SECURITY_CTX) != 0) << c.name;
    EXPECT_EQ(r->protocol.setxattr_ext, (c.flags & FUSE_SETXATTR_EXT) != 0) << c.name;
  }
  // Not when the guest does not offer them: a 7.31 guest has no flags2.
  FuseSessionOptions options;
  options.security_label = true;
  absl::StatusOr<InitReply> r = NegotiateInit(InitIn(7, 31, 0xffffffff & ~FUSE_INIT_EXT), options);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->out.flags2, 0u);
  EXPECT_FALSE(r->backend_options.security_context);
}

TEST(NegotiateInitTest, PosixAclNeedsXattr) {
  FuseSessionOptions options;
  options.posix_acl = true;
  absl::StatusOr<InitReply> r = NegotiateInit(InitIn(7, 38, kAllFlags), options);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->out.flags & FUSE_POSIX_ACL);
}

TEST(NegotiateInitTest, OldMinorGetsShortReplyWithoutFlags2) {
  // A 7.22 guest sends the 16-byte fuse_init_in and expects 24 bytes back.
  absl::StatusOr<InitReply> r =
      NegotiateInit(InitIn(7, 22, 0xffffffff, 16), FuseSessionOptions());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->size, size_t{FUSE_COMPAT_22_INIT_OUT_SIZE});
  EXPECT_EQ(r->out.minor, 22u);
  EXPECT_FALSE(r->out.flags & FUSE_INIT_EXT);
  EXPECT_EQ(r->protocol.minor, 22u);

  r = NegotiateInit(InitIn(7, 4, 0, 16), FuseSessionOptions());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->size, size_t{FUSE_COMPAT_INIT_OUT_SIZE});
}

TEST(NegotiateInitTest, Flags2IgnoredWithoutInitExt) {
  absl::StatusOr<InitReply> r =
      NegotiateInit(InitIn(7, 38, kAllFlags & ~uint64_t{FUSE_INIT_EXT}), FuseSessionOptions());
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->out.flags & FUSE_INIT_EXT);
  EXPECT_EQ(r->out.flags2, 0u);
}

TEST(NegotiateInitTest, MajorVersions) {
  absl::StatusOr<InitReply> r = NegotiateInit(InitIn(6, 0, 0), FuseSessionOptions());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(ErrnoOf(r.status()), EPROTO);

  // A newer major is told ours and not initialised (it retries with 7).
  r = NegotiateInit(InitIn(8, 0, kAllFlags), FuseSessionOptions());
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->initialised);
  EXPECT_EQ(r->out.major, 7u);
  EXPECT_EQ(r->out.minor, 38u);
}

TEST(NegotiateInitTest, ShortInitIsEinval) {
  absl::StatusOr<InitReply> r = NegotiateInit(InitIn(7, 38, 0, 12), FuseSessionOptions());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(ErrnoOf(r.status()), EINVAL);
}

TEST(NegotiateInitTest, MaxWriteSetsMaxPages) {
  FuseSessionOptions options;
  options.max_write = 128 * 1024;
  absl::StatusOr<InitReply> r = NegotiateInit(InitIn(7, 38, kAllFlags), options);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->out.max_write, 128u * 1024);
  EXPECT_EQ(r->out.max_pages, 32);
}

}  // namespace
}  // namespace vfsd
