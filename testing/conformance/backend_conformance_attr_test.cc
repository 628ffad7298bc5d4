// Conformance tests for the protocol features that reach the backend as
// arguments: clearing setuid/setgid (HANDLE_KILLPRIV_V2's kill_suidgid on
// OPEN, CREATE, WRITE and SETATTR), POSIX ACLs kept as system.posix_acl_*
// xattrs (round trip, default-ACL inheritance instead of the umask,
// FUSE_SETXATTR_ACL_KILL_SGID), security contexts stored on new inodes,
// O_NOATIME (preserve_noatime) and writeback-cache opens. Same fixture as
// backend_conformance_test.cc; the optional features need a target with
// make_with_config and skip otherwise.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "backends/errno_status.h"
#include "gmock/gmock.h"
#include "testing/conformance/backend_conformance_test.h"
#include "testing/conformance/expect_errno.h"

namespace vfsd {
namespace {

// A second backend with optional share features, for one test.
struct FeatureBackend {
  std::unique_ptr<BackendUnderTest> target;
  std::unique_ptr<SyncBackend> fs;
  ~FeatureBackend() {
    if (target != nullptr) target->backend().Destroy();
  }
};

// The POSIX ACL xattr value format (<linux/posix_acl_xattr.h>): a version
// header, then entries sorted by tag.
constexpr uint16_t kUserObj = 0x01, kUser = 0x02, kGroupObj = 0x04, kMask = 0x10, kOther = 0x20;
constexpr uint32_t kUndefinedId = 0xffffffff;

struct AclEntry {
  uint16_t tag;
  uint16_t perm;
  uint32_t id;
};

std::string Acl(const std::vector<AclEntry>& entries) {
  std::string value(4, '\0');
  const uint32_t version = 2;
  std::memcpy(value.data(), &version, 4);
  for (const AclEntry& e : entries) {
    char raw[8];
    std::memcpy(raw, &e.tag, 2);
    std::memcpy(raw + 2, &e.perm, 2);
    std::memcpy(raw + 4, &e.id, 4);
    value.append(raw, 8);
  }
  return value;
}

// The ACL equivalent to permission bits `mode` (no named entries).
std::string ModeAcl(uint32_t mode) {
  return Acl({{kUserObj, static_cast<uint16_t>((mode >> 6) & 7), kUndefinedId},
              {kGroupObj, static_cast<uint16_t>((mode >> 3) & 7), kUndefinedId},
              {kOther, static_cast<uint16_t>(mode & 7), kUndefinedId}});
}

class AttrConformance {
 public:
  // A backend with `config`'s features, or nullptr if the target cannot
  // make one.
  static std::unique_ptr<FeatureBackend> Make(const ConformanceTarget& target,
                                              const BackendConfig& config,
                                              const SessionOptions& session = SessionOptions()) {
    if (!target.make_with_config) return nullptr;
    auto fb = std::make_unique<FeatureBackend>();
    absl::StatusOr<std::unique_ptr<BackendUnderTest>> made = target.make_with_config(config);
    EXPECT_TRUE(made.ok()) << made.status();
    if (!made.ok()) return nullptr;
    fb->target = *std::move(made);
    EXPECT_TRUE(fb->target->backend().Init(session).ok());
    fb->fs = std::make_unique<SyncBackend>(fb->target->backend());
    return fb;
  }
};

uint32_t ModeOf(SyncBackend& fs, NodeId node) {
  absl::StatusOr<Attr> attr = fs.GetAttr(node);
  EXPECT_TRUE(attr.ok()) << attr.status();
  return attr.ok() ? attr->mode & 07777 : 0;
}

// --- kill_suidgid (HANDLE_KILLPRIV_V2) ---

TEST_P(BackendConformanceTest, TruncatingOpenWithKillSuidgidClearsSetuidAndSetgid) {
  Populate({TreeItem::File("suid", "data", 06755), TreeItem::File("keep", "data", 06755),
            TreeItem::File("sgid_noexec", "data", 02644)});
  const NodeId suid = LookupPath("suid")->node;
  const NodeId keep = LookupPath("keep")->node;
  const NodeId noexec = LookupPath("sgid_noexec")->node;

  absl::StatusOr<OpenResult> open = fs_->Open(suid, O_WRONLY | O_TRUNC, /*kill_suidgid=*/true);
  ASSERT_TRUE(open.ok()) << open.status();
  EXPECT_EQ(ModeOf(*fs_, suid), 0755u);
  EXPECT_EQ(fs_->GetAttr(suid)->size, 0u);
  EXPECT_TRUE(fs_->Release(suid, open->handle).ok());

  // Without the flag (a caller with CAP_FSETID) the bits stay.
  open = fs_->Open(keep, O_WRONLY | O_TRUNC, /*kill_suidgid=*/false);
  ASSERT_TRUE(open.ok());
  EXPECT_EQ(ModeOf(*fs_, keep), 06755u);
  EXPECT_TRUE(fs_->Release(keep, open->handle).ok());

  // Setgid without group execute is kept, as the kernel keeps it.
  open = fs_->Open(noexec, O_WRONLY | O_TRUNC, /*kill_suidgid=*/true);
  ASSERT_TRUE(open.ok());
  EXPECT_EQ(ModeOf(*fs_, noexec), 02644u);
  EXPECT_TRUE(fs_->Release(noexec, open->handle).ok());
}

TEST_P(BackendConformanceTest, KillSuidgidOnlyAppliesToTruncatingOpens) {
  Populate({TreeItem::File("f", "data", 04755)});
  const NodeId f = LookupPath("f")->node;
  absl::StatusOr<OpenResult> open = fs_->Open(f, O_RDWR, /*kill_suidgid=*/true);
  ASSERT_TRUE(open.ok()) << open.status();
  EXPECT_EQ(ModeOf(*fs_, f), 04755u);
  EXPECT_TRUE(fs_->Release(f, open->handle).ok());
}

TEST_P(BackendConformanceTest, CreateWithKillSuidgidClearsAnExistingFileOnly) {
  Populate({TreeItem::File("old", "data", 04755)});
  absl::StatusOr<CreateResult> existing =
      fs_->Create(kRootNodeId, "old", 0644, O_WRONLY | O_TRUNC, 0, /*kill_suidgid=*/true);
  ASSERT_TRUE(existing.ok()) << existing.status();
  EXPECT_EQ(ModeOf(*fs_, existing->entry.node), 0755u);
  EXPECT_TRUE(fs_->Release(existing->entry.node, existing->open.handle).ok());

  // A file the call creates keeps the mode asked for.
  absl::StatusOr<CreateResult> fresh =
      fs_->Create(kRootNodeId, "new", 04755, O_WRONLY | O_TRUNC, 0, /*kill_suidgid=*/true);
  ASSERT_TRUE(fresh.ok()) << fresh.status();
  EXPECT_EQ(ModeOf(*fs_, fresh->entry.node), 04755u);
  EXPECT_TRUE(fs_->Release(fresh->entry.node, fresh->open.handle).ok());
}

TEST_P(BackendConformanceTest, WriteWithKillSuidgidClearsTheBits) {
  Populate({TreeItem::File("f", "data", 06775)});
  const NodeId f = LookupPath("f")->node;
  absl::StatusOr<OpenResult> open = fs_->Open(f, O_RDWR);
  ASSERT_TRUE(open.ok());
  ASSERT_TRUE(fs_->Write(f, open->handle, 0, "x").ok());
  EXPECT_EQ(ModeOf(*fs_, f), 06775u);  // a privileged writer keeps them
  WriteFlags kill;
  kill.kill_suidgid = true;
  absl::StatusOr<size_t> written = fs_->Write(f, open->handle, 0, "y", kill);
  ASSERT_TRUE(written.ok()) << written.status();
  EXPECT_EQ(*written, 1u);
  EXPECT_EQ(ModeOf(*fs_, f), 0775u);
  EXPECT_TRUE(fs_->Release(f, open->handle).ok());
}

TEST_P(BackendConformanceTest, SetAttrTruncateWithKillSuidgidClearsTheBits) {
  Populate({TreeItem::File("f", "data", 06755)});
  const NodeId f = LookupPath("f")->node;
  SetAttrRequest truncate;
  truncate.size = 1;
  truncate.kill_suidgid = true;
  absl::StatusOr<Attr> attr = fs_->SetAttr(f, truncate);
  ASSERT_TRUE(attr.ok()) << attr.status();
  EXPECT_EQ(attr->size, 1u);
  EXPECT_EQ(attr->mode & 07777, 0755u);
}

// --- POSIX ACLs (posix_acl: xattrs on) ---

BackendConfig AclConfig() {
  BackendConfig config;
  config.xattr = true;
  config.posix_acl = true;
  return config;
}

// Sets an access ACL; skips the test if the share's filesystem has none.
#define SET_ACL_OR_SKIP(fs, node, name, value, ...)                                   \
  do {                                                                                \
    absl::Status acl_status = (fs).SetXattr((node), (name), (value), ##__VA_ARGS__);  \
    if (ErrnoOf(acl_status) == EOPNOTSUPP) GTEST_SKIP() << "no ACLs on this host fs"; \
    ASSERT_TRUE(acl_status.ok()) << acl_status;                                       \
  } while (0)

TEST_P(BackendConformanceTest, AclRoundTripAndModeFollowsIt) {
  std::unique_ptr<FeatureBackend> fb = AttrConformance::Make(GetParam(), AclConfig());
  if (fb == nullptr) GTEST_SKIP() << "target has no make_with_config";
  ASSERT_TRUE(fb->target->PopulateTree({TreeItem::File("f", "", 0644)}).ok());
  const NodeId f = fb->fs->Lookup(kRootNodeId, "f")->node;
  // user::rw- user:1234:r-- group::r-- mask::rw- other::---
  const std::string acl = Acl({{kUserObj, 6, kUndefinedId},
                               {kUser, 4, 1234},
                               {kGroupObj, 4, kUndefinedId},
                               {kMask, 6, kUndefinedId},
                               {kOther, 0, kUndefinedId}});
  SET_ACL_OR_SKIP(*fb->fs, f, "system.posix_acl_access", acl);
  absl::StatusOr<std::string> got = fb->fs->GetXattr(f, "system.posix_acl_access");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, acl);
  // The group bits of the mode show the mask.
  EXPECT_EQ(ModeOf(*fb->fs, f), 0660u);
  absl::StatusOr<std::string> names = fb->fs->ListXattr(f);
  ASSERT_TRUE(names.ok());
  EXPECT_THAT(*names, ::testing::HasSubstr("system.posix_acl_access"));
  EXPECT_TRUE(fb->fs->RemoveXattr(f, "system.posix_acl_access").ok());
  EXPECT_ERRNO(fb->fs->GetXattr(f, "system.posix_acl_access"), ENODATA);
}

TEST_P(BackendConformanceTest, DefaultAclReplacesTheUmaskOnCreate) {
  std::unique_ptr<FeatureBackend> fb = AttrConformance::Make(GetParam(), AclConfig());
  if (fb == nullptr) GTEST_SKIP() << "target has no make_with_config";
  ASSERT_TRUE(fb->target->PopulateTree({TreeItem::Dir("inherit", 0777),
                                        TreeItem::Dir("plain", 0777)}).ok());
  const NodeId inherit = fb->fs->Lookup(kRootNodeId, "inherit")->node;
  const NodeId plain = fb->fs->Lookup(kRootNodeId, "plain")->node;
  SET_ACL_OR_SKIP(*fb->fs, inherit, "system.posix_acl_default", ModeAcl(0777));

  // With a default ACL the guest's umask (022) is not applied
  // (posix_acl_create): rw for everyone, as the ACL allows.
  absl::StatusOr<CreateResult> f = fb->fs->Create(inherit, "f", 0666, O_RDWR, /*umask=*/022);
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(f->entry.attr.mode & 0777, 0666u);
  EXPECT_TRUE(fb->fs->Release(f->entry.node, f->open.handle).ok());
  absl::StatusOr<Entry> d = fb->fs->MkDir(inherit, "d", 0777, /*umask=*/027);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->attr.mode & 0777, 0777u);
  // A new directory inherits the default ACL itself.
  absl::StatusOr<std::string> inherited = fb->fs->GetXattr(d->node, "system.posix_acl_default");
  ASSERT_TRUE(inherited.ok()) << inherited.status();
  EXPECT_EQ(*inherited, ModeAcl(0777));

  // Without one, the umask applies as usual.
  absl::StatusOr<CreateResult> g = fb->fs->Create(plain, "g", 0666, O_RDWR, /*umask=*/022);
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_EQ(g->entry.attr.mode & 0777, 0644u);
  EXPECT_TRUE(fb->fs->Release(g->entry.node, g->open.handle).ok());
  absl::StatusOr<Entry> n = fb->fs->MkNod(plain, "fifo", S_IFIFO | 0666, 0, /*umask=*/077);
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(n->attr.mode & 0777, 0600u);
}

TEST_P(BackendConformanceTest, AclKillSgidClearsSetgidAndOtherwiseItIsKept) {
  std::unique_ptr<FeatureBackend> fb = AttrConformance::Make(GetParam(), AclConfig());
  if (fb == nullptr) GTEST_SKIP() << "target has no make_with_config";
  if (!fb->target->CanSetOwners()) GTEST_SKIP() << "needs files of other owners";
  // Owned by uid 1000, group 2000 the caller is not in.
  ASSERT_TRUE(fb->target
                  ->PopulateTree({TreeItem::Dir("kill", 02775).Owner(1000, 2000),
                                  TreeItem::Dir("keep", 02775).Owner(1000, 2000)})
                  .ok());
  const NodeId kill = fb->fs->Lookup(kRootNodeId, "kill")->node;
  const NodeId keep = fb->fs->Lookup(kRootNodeId, "keep")->node;
  ASSERT_EQ(ModeOf(*fb->fs, kill), 02775u);
  RequestContext owner;
  owner.uid = 1000;
  owner.gid = 1000;
  SET_ACL_OR_SKIP(*fb->fs, kill, "system.posix_acl_access", ModeAcl(0770), 0,
                  /*acl_kill_sgid=*/true, owner);
  EXPECT_EQ(ModeOf(*fb->fs, kill), 0770u);
  // The guest did not ask (it knows the caller is in the group): setgid
  // stays, whatever the host would have decided for the daemon's groups.
  SET_ACL_OR_SKIP(*fb->fs, keep, "system.posix_acl_access", ModeAcl(0770), 0,
                  /*acl_kill_sgid=*/false, owner);
  EXPECT_EQ(ModeOf(*fb->fs, keep), 02770u);
}

// --- security contexts (security_label) ---

BackendConfig LabelConfig() {
  BackendConfig config;
  config.xattr = true;
  config.security_label = true;
  return config;
}

TEST_P(BackendConformanceTest, SecurityContextIsStoredOnEveryNewInode) {
  std::unique_ptr<FeatureBackend> fb = AttrConformance::Make(GetParam(), LabelConfig());
  if (fb == nullptr) GTEST_SKIP() << "target has no make_with_config";
  SecurityContext label{"security.vfsd_test", "system_u:object_r:test_t:s0"};
  RequestContext ctx;
  ctx.security_context = &label;
  absl::StatusOr<Entry> d = fb->fs->MkDir(kRootNodeId, "d", 0755, 0, ctx);
  if (!d.ok() && (ErrnoOf(d.status()) == EOPNOTSUPP || ErrnoOf(d.status()) == EPERM)) {
    // The host cannot store security.* xattrs here: the creation failed as
    // a whole, leaving nothing behind.
    EXPECT_ERRNO(fb->fs->Lookup(kRootNodeId, "d"), ENOENT);
    GTEST_SKIP() << "host cannot store security.* xattrs: " << d.status();
  }
  ASSERT_TRUE(d.ok()) << d.status();
  absl::StatusOr<CreateResult> f = fb->fs->Create(kRootNodeId, "f", 0644, O_RDWR, 0, false, ctx);
  ASSERT_TRUE(f.ok()) << f.status();
  absl::StatusOr<Entry> n = fb->fs->MkNod(kRootNodeId, "fifo", S_IFIFO | 0644, 0, 0, ctx);
  ASSERT_TRUE(n.ok()) << n.status();
  absl::StatusOr<Entry> l = fb->fs->Symlink(kRootNodeId, "link", "target", ctx);
  ASSERT_TRUE(l.ok()) << l.status();
  // (GETXATTR answers only for files and directories; the FIFO and the
  // symlink were labelled too, or their creation would have failed.)
  for (NodeId node : {d->node, f->entry.node}) {
    absl::StatusOr<std::string> value = fb->fs->GetXattr(node, "security.vfsd_test");
    ASSERT_TRUE(value.ok()) << value.status();
    EXPECT_EQ(*value, label.value);
  }
  EXPECT_TRUE(fb->fs->Release(f->entry.node, f->open.handle).ok());

  // An existing file opened through CREATE is not relabelled.
  SecurityContext other{"security.vfsd_test", "other"};
  ctx.security_context = &other;
  absl::StatusOr<CreateResult> again = fb->fs->Create(kRootNodeId, "f", 0644, O_RDWR, 0, false,
                                                      ctx);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(*fb->fs->GetXattr(again->entry.node, "security.vfsd_test"), label.value);
  EXPECT_TRUE(fb->fs->Release(again->entry.node, again->open.handle).ok());

  // Without a context nothing is set.
  absl::StatusOr<Entry> bare = fb->fs->MkDir(kRootNodeId, "bare", 0755);
  ASSERT_TRUE(bare.ok());
  EXPECT_ERRNO(fb->fs->GetXattr(bare->node, "security.vfsd_test"), ENODATA);
}

TEST_P(BackendConformanceTest, SecurityContextOutsideSecurityNamespaceIsRefused) {
  std::unique_ptr<FeatureBackend> fb = AttrConformance::Make(GetParam(), LabelConfig());
  if (fb == nullptr) GTEST_SKIP() << "target has no make_with_config";
  SecurityContext bad{"trusted.vfsd_test", "x"};
  RequestContext ctx;
  ctx.security_context = &bad;
  EXPECT_ERRNO(fb->fs->MkDir(kRootNodeId, "d", 0755, 0, ctx), EINVAL);
  // Refused before anything stays behind.
  EXPECT_ERRNO(fb->fs->Lookup(kRootNodeId, "d"), ENOENT);
}

// --- preserve_noatime and writeback ---

TEST_P(BackendConformanceTest, PreserveNoatimeReadsLeaveAtime) {
  BackendConfig config;
  config.preserve_noatime = true;
  std::unique_ptr<FeatureBackend> fb = AttrConformance::Make(GetParam(), config);
  if (fb == nullptr) GTEST_SKIP() << "target has no make_with_config";
  ASSERT_TRUE(fb->target->PopulateTree({TreeItem::File("f", "contents")}).ok());
  const NodeId f = fb->fs->Lookup(kRootNodeId, "f")->node;
  // An atime far older than mtime: relatime would update it on a read.
  SetAttrRequest old;
  old.atime_change = SetAttrRequest::TimeChange::kValue;
  old.atime = Timespec{946684800, 0};  // 2000-01-01
  ASSERT_TRUE(fb->fs->SetAttr(f, old).ok());
  absl::StatusOr<OpenResult> open = fb->fs->Open(f, O_RDONLY);
  ASSERT_TRUE(open.ok()) << open.status();
  absl::StatusOr<std::string> data = fb->fs->Read(f, open->handle, 0, 100);
  ASSERT_TRUE(data.ok());
  EXPECT_EQ(*data, "contents");
  EXPECT_EQ(fb->fs->GetAttr(f)->atime.sec, 946684800);
  EXPECT_TRUE(fb->fs->Release(f, open->handle).ok());
}

TEST_P(BackendConformanceTest, WritebackOpensWriteOnlyFilesReadableAndWithoutAppend) {
  SessionOptions session;
  session.writeback_cache = true;
  std::unique_ptr<FeatureBackend> fb =
      AttrConformance::Make(GetParam(), BackendConfig(), session);
  if (fb == nullptr) GTEST_SKIP() << "target has no make_with_config";
  ASSERT_TRUE(fb->target->PopulateTree({TreeItem::File("f", "0123456789")}).ok());
  const NodeId f = fb->fs->Lookup(kRootNodeId, "f")->node;
  // The guest's page cache reads partial pages of write-only files and
  // positions appends itself.
  absl::StatusOr<OpenResult> open = fb->fs->Open(f, O_WRONLY | O_APPEND);
  ASSERT_TRUE(open.ok()) << open.status();
  absl::StatusOr<std::string> data = fb->fs->Read(f, open->handle, 0, 4);
  ASSERT_TRUE(data.ok()) << data.status();
  EXPECT_EQ(*data, "0123");
  ASSERT_TRUE(fb->fs->Write(f, open->handle, 2, "ab").ok());
  EXPECT_EQ(*fb->fs->Read(f, open->handle, 0, 10), "01ab456789");
  EXPECT_TRUE(fb->fs->Release(f, open->handle).ok());
}

}  // namespace
}  // namespace vfsd
