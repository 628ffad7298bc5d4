// The protocol feature flags end to end: the real //daemon:vfsd, in its
// default sandbox and seccomp filter, driven by the fake VMM. Each flag must
// show up as its INIT flag (and only with the flag), and --translate-uid /
// --translate-gid must reach the backend through the daemon's wiring.
// Needs root (namespace sandbox, files of other owners); skips otherwise.
#include <fcntl.h>
#include <linux/fuse.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "testing/fake_vmm_session.h"

namespace vfsd {
namespace {

std::string VfsdPath() {
  const char* runfiles = std::getenv("TEST_SRCDIR");
  return absl::StrCat(runfiles ? runfiles : ".", "/vfsd/daemon/vfsd");
}

// FUSE_CREATE_SUPP_GROUP (7.39; this <linux/fuse.h> is 7.38): never offered.
constexpr uint64_t kCreateSuppGroup = uint64_t{1} << 34;
// Everything a current guest kernel may offer, SECURITY_CTX included.
constexpr uint64_t kGuestFlags =
    FuseClient::kDefaultInitFlags | FUSE_SECURITY_CTX | kCreateSuppGroup;

class FeatureFlagsIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root";
    absl::StatusOr<std::string> dir = MakeTempDir("feature_share");
    ASSERT_TRUE(dir.ok()) << dir.status();
    share_ = *dir;
    std::ofstream(share_ + "/owned") << "x";
    ASSERT_EQ(chown((share_ + "/owned").c_str(), 1234, 2345), 0);
  }
  void TearDown() override {
    session_.reset();
    if (!share_.empty()) std::filesystem::remove_all(share_);
  }

  // Starts vfsd with `flags` and INITs offering kGuestFlags; the negotiated
  // flags (flags2 in the high half).
  uint64_t Start(const std::string& flags) {
    DaemonSpec spec{"vfsd", absl::StrCat(VfsdPath(),
                                         " --socket-path={socket} --shared-dir={dir}"
                                         " --log-level=warn ",
                                         flags)};
    FakeVmmSessionOptions options;
    options.init = false;
    absl::StatusOr<std::unique_ptr<FakeVmmSession>> session =
        FakeVmmSession::Start(spec, share_, options);
    EXPECT_TRUE(session.ok()) << session.status();
    if (!session.ok()) return 0;
    session_ = std::move(*session);
    absl::StatusOr<fuse_init_out> init = session_->fuse->Init(kGuestFlags);
    EXPECT_TRUE(init.ok()) << init.status();
    if (!init.ok()) return 0;
    return init->flags | uint64_t{init->flags2} << 32;
  }

  FuseClient& fuse() { return *session_->fuse; }

  std::string share_;
  std::unique_ptr<FakeVmmSession> session_;
};

constexpr uint64_t kOptional = FUSE_WRITEBACK_CACHE | FUSE_POSIX_ACL | FUSE_SUBMOUNTS |
                               FUSE_HANDLE_KILLPRIV_V2 | FUSE_SETXATTR_EXT | FUSE_SECURITY_CTX;

TEST_F(FeatureFlagsIntegrationTest, NothingOptionalByDefault) {
  const uint64_t flags = Start("");
  EXPECT_EQ(flags & kOptional, 0u);
  EXPECT_EQ(flags & kCreateSuppGroup, 0u);  // never offered
}

TEST_F(FeatureFlagsIntegrationTest, EachFlagOffersItsInitFlag) {
  const uint64_t flags = Start(
      "--writeback --posix-acl --announce-submounts --killpriv-v2 --security-label");
  // --posix-acl and --security-label imply --xattr, hence SETXATTR_EXT.
  EXPECT_EQ(flags & kOptional, kOptional);
  EXPECT_EQ(flags & kCreateSuppGroup, 0u);
}

TEST_F(FeatureFlagsIntegrationTest, XattrAloneOffersOnlySetxattrExt) {
  const uint64_t flags = Start("--xattr");
  EXPECT_EQ(flags & kOptional, uint64_t{FUSE_SETXATTR_EXT});
}

TEST_F(FeatureFlagsIntegrationTest, TranslatedIdsBothWays) {
  // Host 1234 is guest 42; guest root creates as host 5678; gid 2345 is 7.
  // (Host uid 5678 may only create in the share root if everyone may.)
  ASSERT_EQ(chmod(share_.c_str(), 0777), 0);
  Start("--translate-uid=map:42:1234:1 --translate-uid=squash-guest:0:5678:1"
        " --translate-gid=map:7:2345:1");
  absl::StatusOr<fuse_entry_out> owned = fuse().Lookup(FUSE_ROOT_ID, "owned");
  ASSERT_TRUE(owned.ok()) << owned.status();
  EXPECT_EQ(owned->attr.uid, 42u);
  EXPECT_EQ(owned->attr.gid, 7u);
  absl::StatusOr<fuse_attr_out> attr = fuse().GetAttr(owned->nodeid);
  ASSERT_TRUE(attr.ok()) << attr.status();
  EXPECT_EQ(attr->attr.uid, 42u);

  // MKDIR by the fake guest's caller (uid 0, gid 0).
  std::vector<uint8_t> args(sizeof(fuse_mkdir_in));
  fuse_mkdir_in in{};
  in.mode = S_IFDIR | 0755;
  std::memcpy(args.data(), &in, sizeof(in));
  const std::string name = "made";
  args.insert(args.end(), name.begin(), name.end());
  args.push_back(0);
  absl::StatusOr<FuseReply> reply = fuse().Call(FUSE_MKDIR, FUSE_ROOT_ID, args, 4096);
  ASSERT_TRUE(reply.ok()) << reply.status();
  ASSERT_EQ(reply->error, 0);
  struct stat st;
  ASSERT_EQ(stat((share_ + "/made").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 5678u);
  EXPECT_EQ(st.st_gid, 0u);  // gid 0 is not mapped
  fuse_entry_out entry;
  ASSERT_GE(reply->payload.size(), sizeof(entry));
  std::memcpy(&entry, reply->payload.data(), sizeof(entry));
  EXPECT_EQ(entry.attr.uid, 5678u);  // host 5678 has no mapping back
}

// The POSIX ACL paths under the seccomp filter: setting an access ACL with
// FUSE_SETXATTR_ACL_KILL_SGID clears setgid; a default ACL replaces the
// umask of a MKDIR below it (per-thread umask).
TEST_F(FeatureFlagsIntegrationTest, PosixAclInTheSandbox) {
  const std::string dir = share_ + "/acl";
  ASSERT_EQ(mkdir(dir.c_str(), 0777), 0);
  ASSERT_EQ(chown(dir.c_str(), 1000, 2000), 0);
  ASSERT_EQ(chmod(dir.c_str(), 02777), 0);
  Start("--posix-acl");
  absl::StatusOr<fuse_entry_out> node = fuse().Lookup(FUSE_ROOT_ID, "acl");
  ASSERT_TRUE(node.ok()) << node.status();

  // system.posix_acl_default = user::rwx group::rwx other::rwx
  auto acl = [](uint16_t perm) {
    std::vector<uint8_t> value = {2, 0, 0, 0};
    for (uint16_t tag : {0x01, 0x04, 0x20}) {
      const uint8_t entry[8] = {static_cast<uint8_t>(tag), 0, static_cast<uint8_t>(perm), 0,
                                0xff, 0xff, 0xff, 0xff};
      value.insert(value.end(), entry, entry + 8);
    }
    return value;
  };
  auto setxattr = [&](const std::string& name, const std::vector<uint8_t>& value,
                      uint32_t setxattr_flags) {
    fuse_setxattr_in in{};
    in.size = static_cast<uint32_t>(value.size());
    in.setxattr_flags = setxattr_flags;
    std::vector<uint8_t> args(sizeof(in));
    std::memcpy(args.data(), &in, sizeof(in));
    args.insert(args.end(), name.begin(), name.end());
    args.push_back(0);
    args.insert(args.end(), value.begin(), value.end());
    absl::StatusOr<FuseReply> reply = fuse().Call(FUSE_SETXATTR, node->nodeid, args, 4096);
    return reply.ok() ? reply->error : -EIO;
  };
  const int set_default = setxattr("system.posix_acl_default", acl(7), 0);
  if (set_default == -EOPNOTSUPP) GTEST_SKIP() << "no ACLs on this host fs";
  ASSERT_EQ(set_default, 0);

  std::vector<uint8_t> args(sizeof(fuse_mkdir_in));
  fuse_mkdir_in mk{};
  mk.mode = S_IFDIR | 0777;
  mk.umask = 022;
  std::memcpy(args.data(), &mk, sizeof(mk));
  for (char c : std::string("sub")) args.push_back(static_cast<uint8_t>(c));
  args.push_back(0);
  absl::StatusOr<FuseReply> reply = fuse().Call(FUSE_MKDIR, node->nodeid, args, 4096);
  ASSERT_TRUE(reply.ok()) << reply.status();
  ASSERT_EQ(reply->error, 0);
  struct stat st;
  ASSERT_EQ(stat((dir + "/sub").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0777u);  // the default ACL, not the umask

  ASSERT_EQ(setxattr("system.posix_acl_access", acl(7), FUSE_SETXATTR_ACL_KILL_SGID), 0);
  ASSERT_EQ(stat(dir.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0777u);  // setgid cleared as asked
}

}  // namespace
}  // namespace vfsd
