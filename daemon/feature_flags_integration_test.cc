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

}  // namespace
}  // namespace vfsd
