#include "daemon/daemon_flags.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace vfsd {
namespace {

using ::testing::HasSubstr;

TEST(DaemonFlagsTest, ParsesTheCloudHypervisorGuideCommandLine) {
  // ../shared/seed: virtiofsd --log-level debug --socket-path=... --shared-dir=...
  //                 --cache=never --thread-pool-size=$N
  auto options = ParseDaemonFlags({"--log-level", "debug", "--socket-path=/tmp/virtiofs",
                                   "--shared-dir=/tmp/shared_dir", "--cache=never",
                                   "--thread-pool-size=4"});
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_EQ(options->log_level, LogLevel::kDebug);
  EXPECT_EQ(options->socket_path, "/tmp/virtiofs");
  EXPECT_EQ(options->shared_dir, "/tmp/shared_dir");
  EXPECT_EQ(options->cache, "never");
  EXPECT_EQ(options->thread_pool_size, 4u);
  EXPECT_EQ(options->backend, "passthrough");
}

TEST(DaemonFlagsTest, Defaults) {
  auto options = ParseDaemonFlags({});
  ASSERT_TRUE(options.ok());
  EXPECT_EQ(options->cache, "auto");
  EXPECT_EQ(options->thread_pool_size, 0u);
  EXPECT_EQ(options->log_level, LogLevel::kInfo);
  EXPECT_FALSE(options->readonly);
}

TEST(DaemonFlagsTest, BooleanFlagsAndUnderscores) {
  auto options = ParseDaemonFlags({"--readonly", "--xattr", "--shared_dir=/x", "-h"});
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_TRUE(options->readonly);
  EXPECT_TRUE(options->xattr);
  EXPECT_TRUE(options->help);
  EXPECT_EQ(options->shared_dir, "/x");
}

TEST(DaemonFlagsTest, RejectsUnknownFlag) {
  auto options = ParseDaemonFlags({"--no-such-flag=1"});
  ASSERT_FALSE(options.ok());
  EXPECT_THAT(options.status().message(), HasSubstr("unknown flag '--no-such-flag'"));
}

TEST(DaemonFlagsTest, RejectsPositionalArgument) {
  EXPECT_FALSE(ParseDaemonFlags({"/tmp/dir"}).ok());
}

TEST(DaemonFlagsTest, RejectsMissingValue) {
  auto options = ParseDaemonFlags({"--socket-path"});
  ASSERT_FALSE(options.ok());
  EXPECT_THAT(options.status().message(), HasSubstr("needs a value"));
}

TEST(DaemonFlagsTest, RejectsValueOnBooleanFlag) {
  EXPECT_FALSE(ParseDaemonFlags({"--readonly=yes"}).ok());
}

TEST(DaemonFlagsTest, RejectsBadNumbersAndLevels) {
  EXPECT_FALSE(ParseDaemonFlags({"--thread-pool-size=-1"}).ok());
  EXPECT_FALSE(ParseDaemonFlags({"--thread-pool-size=many"}).ok());
  EXPECT_FALSE(ParseDaemonFlags({"--log-level=loud"}).ok());
  EXPECT_FALSE(ParseDaemonFlags({"--fd=x"}).ok());
}

TEST(DaemonFlagsTest, SandboxingDefaultsAreVirtiofsds) {
  auto options = ParseDaemonFlags({});
  ASSERT_TRUE(options.ok());
  EXPECT_EQ(options->sandbox, SandboxMode::kNamespace);
  EXPECT_EQ(options->seccomp, SeccompAction::kKill);
  EXPECT_TRUE(options->modcaps.empty());
  EXPECT_FALSE(options->rlimit_nofile.has_value());
}

TEST(DaemonFlagsTest, ParsesSandboxSeccompAndRlimit) {
  auto options = ParseDaemonFlags(
      {"--sandbox=chroot", "--seccomp", "trap", "--rlimit-nofile=4096"});
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_EQ(options->sandbox, SandboxMode::kChroot);
  EXPECT_EQ(options->seccomp, SeccompAction::kTrap);
  EXPECT_EQ(options->rlimit_nofile, 4096u);
  EXPECT_EQ(ParseDaemonFlags({"--sandbox=none"})->sandbox, SandboxMode::kNone);
  EXPECT_EQ(ParseDaemonFlags({"--sandbox=namespace"})->sandbox, SandboxMode::kNamespace);
  EXPECT_EQ(ParseDaemonFlags({"--seccomp=log"})->seccomp, SeccompAction::kLog);
  EXPECT_EQ(ParseDaemonFlags({"--seccomp=none"})->seccomp, SeccompAction::kNone);
  EXPECT_EQ(ParseDaemonFlags({"--seccomp=kill"})->seccomp, SeccompAction::kKill);
}

TEST(DaemonFlagsTest, ParsesModcaps) {
  auto options = ParseDaemonFlags({"--modcaps=+SYS_ADMIN:-cap_mknod:+chown"});
  ASSERT_TRUE(options.ok()) << options.status();
  ASSERT_EQ(options->modcaps.size(), 3u);
  EXPECT_TRUE(options->modcaps[0].add);
  EXPECT_EQ(options->modcaps[0].name, "sys_admin");
  EXPECT_FALSE(options->modcaps[1].add);
  EXPECT_EQ(options->modcaps[1].name, "mknod");
  EXPECT_EQ(options->modcaps[2].name, "chown");
}

TEST(DaemonFlagsTest, RejectsBadSandboxingValues) {
  auto sandbox = ParseDaemonFlags({"--sandbox=jail"});
  ASSERT_FALSE(sandbox.ok());
  EXPECT_THAT(sandbox.status().message(), HasSubstr("--sandbox"));
  EXPECT_FALSE(ParseDaemonFlags({"--seccomp=allow"}).ok());
  EXPECT_FALSE(ParseDaemonFlags({"--modcaps=sys_admin"}).ok());
  EXPECT_FALSE(ParseDaemonFlags({"--modcaps=+"}).ok());
  EXPECT_FALSE(ParseDaemonFlags({"--modcaps=+chown::-mknod"}).ok());
  EXPECT_FALSE(ParseDaemonFlags({"--rlimit-nofile=-5"}).ok());
  EXPECT_FALSE(ParseDaemonFlags({"--rlimit-nofile=lots"}).ok());
}

TEST(DaemonFlagsTest, MaxRequestQueues) {
  auto options = ParseDaemonFlags({"--max-request-queues=2"});
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_EQ(options->max_request_queues, 2u);
  EXPECT_EQ(ParseDaemonFlags({})->max_request_queues, 8u);
  EXPECT_FALSE(ParseDaemonFlags({"--max-request-queues=0"}).ok());
  EXPECT_FALSE(ParseDaemonFlags({"--max-request-queues=256"}).ok());
}

TEST(DaemonFlagsTest, QueuePollMaxUs) {
  EXPECT_EQ(ParseDaemonFlags({})->queue_poll_max_us, 32u);
  auto options = ParseDaemonFlags({"--queue-poll-max-us=0"});
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_EQ(options->queue_poll_max_us, 0u);
  EXPECT_EQ(ParseDaemonFlags({"--queue-poll-max-us=1000000"})->queue_poll_max_us, 1000000u);
  EXPECT_FALSE(ParseDaemonFlags({"--queue-poll-max-us=1000001"}).ok());
  EXPECT_FALSE(ParseDaemonFlags({"--queue-poll-max-us=-1"}).ok());
  EXPECT_FALSE(ParseDaemonFlags({"--queue-poll-max-us=fast"}).ok());
}

TEST(DaemonFlagsTest, IoUring) {
  EXPECT_FALSE(ParseDaemonFlags({})->drop_host_page_cache);
  EXPECT_FALSE(ParseDaemonFlags({"--host-page-cache=keep"})->drop_host_page_cache);
  EXPECT_TRUE(ParseDaemonFlags({"--host-page-cache=drop"})->drop_host_page_cache);
  EXPECT_FALSE(ParseDaemonFlags({"--host-page-cache=never"}).ok());
  EXPECT_FALSE(ParseDaemonFlags({"--host-page-cache"}).ok());
  EXPECT_TRUE(ParseDaemonFlags({})->io_uring);
  EXPECT_TRUE(ParseDaemonFlags({"--io-uring=auto"})->io_uring);
  EXPECT_FALSE(ParseDaemonFlags({"--io-uring=off"})->io_uring);
  EXPECT_FALSE(ParseDaemonFlags({"--io-uring=on"}).ok());
  EXPECT_FALSE(ParseDaemonFlags({"--io-uring"}).ok());
}

TEST(DaemonFlagsTest, FeatureFlagsDefaultOff) {
  auto options = ParseDaemonFlags({});
  ASSERT_TRUE(options.ok());
  EXPECT_FALSE(options->xattr);
  EXPECT_FALSE(options->posix_acl);
  EXPECT_FALSE(options->security_label);
  EXPECT_FALSE(options->writeback);
  EXPECT_FALSE(options->announce_submounts);
  EXPECT_FALSE(options->killpriv_v2);
  EXPECT_FALSE(options->preserve_noatime);
  EXPECT_FALSE(options->allow_mmap);
  EXPECT_EQ(options->inode_file_handles, BackendConfig::InodeFileHandles::kNever);
}

TEST(DaemonFlagsTest, FeatureFlags) {
  auto options = ParseDaemonFlags({"--writeback", "--announce-submounts", "--killpriv-v2",
                                   "--preserve-noatime", "--inode-file-handles=mandatory",
                                   "--allow-mmap"});
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_TRUE(options->allow_mmap);
  EXPECT_TRUE(options->writeback);
  EXPECT_TRUE(options->announce_submounts);
  EXPECT_TRUE(options->killpriv_v2);
  EXPECT_TRUE(options->preserve_noatime);
  EXPECT_EQ(options->inode_file_handles, BackendConfig::InodeFileHandles::kMandatory);
  // The later of a flag and its --no- form wins.
  options = ParseDaemonFlags({"--killpriv-v2", "--no-killpriv-v2", "--announce-submounts",
                              "--no-announce-submounts"});
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_FALSE(options->killpriv_v2);
  EXPECT_FALSE(options->announce_submounts);
}

TEST(DaemonFlagsTest, PosixAclAndSecurityLabelImplyXattr) {
  // As Rust virtiofsd: both are stored as xattrs.
  auto acl = ParseDaemonFlags({"--posix-acl"});
  ASSERT_TRUE(acl.ok()) << acl.status();
  EXPECT_TRUE(acl->posix_acl);
  EXPECT_TRUE(acl->xattr);
  auto label = ParseDaemonFlags({"--security-label"});
  ASSERT_TRUE(label.ok()) << label.status();
  EXPECT_TRUE(label->security_label);
  EXPECT_TRUE(label->xattr);
}

TEST(DaemonFlagsTest, InodeFileHandlesValues) {
  EXPECT_EQ(ParseDaemonFlags({"--inode-file-handles=never"})->inode_file_handles,
            BackendConfig::InodeFileHandles::kNever);
  EXPECT_EQ(ParseDaemonFlags({"--inode-file-handles", "prefer"})->inode_file_handles,
            BackendConfig::InodeFileHandles::kPrefer);
  // virtiofsd's deprecated alias of prefer.
  EXPECT_EQ(ParseDaemonFlags({"--inode-file-handles=fallback"})->inode_file_handles,
            BackendConfig::InodeFileHandles::kPrefer);
  auto bad = ParseDaemonFlags({"--inode-file-handles=sometimes"});
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("--inode-file-handles"));
  EXPECT_FALSE(ParseDaemonFlags({"--inode-file-handles"}).ok());
  EXPECT_FALSE(ParseDaemonFlags({"--writeback=yes"}).ok());
}

TEST(DaemonFlagsTest, TranslateUidAndGidAreRepeatable) {
  auto options = ParseDaemonFlags({"--translate-uid=map:1000:101000:10",
                                   "--translate-uid", "forbid-guest:0:1",
                                   "--translate-gid=squash-host:0:65534:100"});
  ASSERT_TRUE(options.ok()) << options.status();
  ASSERT_EQ(options->translate_uid.size(), 2u);
  EXPECT_EQ(options->translate_uid[0].ToString(), "map:1000:101000:10");
  EXPECT_EQ(options->translate_uid[1].kind, IdMapping::Kind::kForbidGuest);
  ASSERT_EQ(options->translate_gid.size(), 1u);
  EXPECT_EQ(options->translate_gid[0].kind, IdMapping::Kind::kSquashHost);

  auto bad = ParseDaemonFlags({"--translate-uid=map:1:2"});
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("--translate-uid"));
  EXPECT_FALSE(ParseDaemonFlags({"--translate-gid=swap:1:2:3"}).ok());
  EXPECT_FALSE(ParseDaemonFlags({"--translate-gid=map:1:2:0"}).ok());
}

TEST(DaemonFlagsTest, TranslationConflictsAreValidationErrors) {
  // Overlapping ranges of one direction, and translation with POSIX ACLs
  // (ACL xattrs hold untranslated ids), are refused before starting.
  auto overlap = ParseDaemonFlags({"--socket-path=/tmp/s", "--shared-dir=/", "--sandbox=none",
                                   "--translate-uid=guest:0:1000:10",
                                   "--translate-uid=guest:5:2000:1"});
  ASSERT_TRUE(overlap.ok()) << overlap.status();
  absl::Status status = ValidateDaemonOptions(*overlap);
  EXPECT_THAT(status.message(), HasSubstr("--translate-uid: "));
  auto acl = ParseDaemonFlags({"--socket-path=/tmp/s", "--shared-dir=/", "--sandbox=none",
                               "--posix-acl", "--translate-gid=map:0:1000:1"});
  ASSERT_TRUE(acl.ok()) << acl.status();
  EXPECT_THAT(ValidateDaemonOptions(*acl).message(), HasSubstr("--posix-acl"));
}

TEST(DaemonFlagsTest, UsageDocumentsEveryFlag) {
  std::string usage = DaemonUsage();
  for (const char* flag : {"--socket-path", "--shared-dir", "--backend", "--cache",
                           "--thread-pool-size", "--log-level", "--fd", "--socket-group",
                           "--readonly", "--xattr", "--print-capabilities", "--help",
                           "--sandbox", "--seccomp", "--modcaps", "--rlimit-nofile",
                           "--posix-acl", "--security-label", "--writeback",
                           "--announce-submounts", "--killpriv-v2", "--preserve-noatime",
                           "--inode-file-handles", "--translate-uid", "--translate-gid",
                           "--no-announce-submounts", "--no-killpriv-v2"}) {
    EXPECT_THAT(usage, HasSubstr(flag));
  }
}

}  // namespace
}  // namespace vfsd
