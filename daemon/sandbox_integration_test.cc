// End-to-end checks of the sandbox (docs/security.md) against the real
// //daemon:vfsd driven by the fake VMM: with --sandbox=namespace the daemon
// serves the share while its root *is* the share (the host's "/" cannot be
// named), --seccomp=kill lets every read and write path through, and only
// the default capabilities are left. Needs root (namespaces, pivot_root).
#include <fcntl.h>
#include <linux/fuse.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/fake_vmm_session.h"

namespace vfsd {
namespace {

std::string VfsdPath() {
  const char* runfiles = std::getenv("TEST_SRCDIR");
  return absl::StrCat(runfiles ? runfiles : ".", "/vfsd/daemon/vfsd");
}

std::set<std::string> Listing(const std::string& dir) {
  std::set<std::string> names;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    names.insert(entry.path().filename().string());
  }
  return names;
}

std::string StatusField(pid_t pid, const std::string& key) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/status"));
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(key + ":", 0) == 0) {
      std::string value = line.substr(key.size() + 1);
      value.erase(0, value.find_first_not_of(" \t"));
      return value;
    }
  }
  return "";
}

// The serving process: the sandboxed child for --sandbox=namespace (the
// daemon forks into the new pid namespace), else the daemon itself.
pid_t ServingPid(pid_t daemon) {
  std::ifstream in(absl::StrCat("/proc/", daemon, "/task/", daemon, "/children"));
  pid_t child = 0;
  if (in >> child) return child;
  return daemon;
}

std::vector<uint8_t> Bytes(const void* data, size_t size) {
  const auto* p = static_cast<const uint8_t*>(data);
  return std::vector<uint8_t>(p, p + size);
}
template <typename T>
void Append(std::vector<uint8_t>& out, const T& value) {
  const auto* p = reinterpret_cast<const uint8_t*>(&value);
  out.insert(out.end(), p, p + sizeof(T));
}
void AppendName(std::vector<uint8_t>& out, const std::string& name) {
  out.insert(out.end(), name.begin(), name.end());
  out.push_back(0);
}

// CAP_CHOWN, DAC_OVERRIDE, FOWNER, FSETID, SETGID, SETUID, MKNOD, SETFCAP.
constexpr uint64_t kDefaultCaps = (1ull << 0) | (1ull << 1) | (1ull << 3) | (1ull << 4) |
                                  (1ull << 6) | (1ull << 7) | (1ull << 27) | (1ull << 31);

class SandboxIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root";
    absl::StatusOr<std::string> dir = MakeTempDir("sandbox_share");
    ASSERT_TRUE(dir.ok()) << dir.status();
    share_ = *dir;
    std::ofstream(share_ + "/hello.txt") << "hello from the host";
    ASSERT_EQ(mkdir((share_ + "/sub").c_str(), 0755), 0);
    std::ofstream(share_ + "/sub/inner") << "inner";
  }
  void TearDown() override {
    session_.reset();
    if (!share_.empty()) std::filesystem::remove_all(share_);
  }

  void Start(const std::string& flags) {
    DaemonSpec spec{"vfsd", absl::StrCat(VfsdPath(),
                                         " --socket-path={socket} --shared-dir={dir}"
                                         " --log-level=warn ",
                                         flags)};
    absl::StatusOr<std::unique_ptr<FakeVmmSession>> session = FakeVmmSession::Start(spec, share_);
    ASSERT_TRUE(session.ok()) << session.status();
    session_ = std::move(*session);
  }

  FuseClient& fuse() { return *session_->fuse; }

  // LOOKUP + OPEN + READ + RELEASE of a file under the root.
  void ExpectReads(const std::string& name, const std::string& want) {
    absl::StatusOr<fuse_entry_out> entry = fuse().Lookup(FUSE_ROOT_ID, name);
    ASSERT_TRUE(entry.ok()) << entry.status();
    absl::StatusOr<fuse_open_out> open = fuse().Open(entry->nodeid, O_RDONLY);
    ASSERT_TRUE(open.ok()) << open.status();
    absl::StatusOr<std::string> data = fuse().Read(entry->nodeid, open->fh, 0, 4096);
    ASSERT_TRUE(data.ok()) << data.status();
    EXPECT_EQ(*data, want);
    EXPECT_TRUE(fuse().Release(entry->nodeid, open->fh).ok());
  }

  void ExpectReadDirListsShare() {
    absl::StatusOr<fuse_open_out> dir = fuse().OpenDir(FUSE_ROOT_ID);
    ASSERT_TRUE(dir.ok()) << dir.status();
    absl::StatusOr<std::vector<FuseDirEntry>> entries = fuse().ReadDir(FUSE_ROOT_ID, dir->fh, 0);
    ASSERT_TRUE(entries.ok()) << entries.status();
    std::set<std::string> names;
    for (const FuseDirEntry& e : *entries) {
      if (e.name != "." && e.name != "..") names.insert(e.name);
    }
    EXPECT_EQ(names, Listing(share_));
    EXPECT_TRUE(fuse().ReleaseDir(FUSE_ROOT_ID, dir->fh).ok());
  }

  // The modifying requests the passthrough backend implements, each checked
  // on the host.
  void ExpectWrites() {
    // MKDIR
    std::vector<uint8_t> args;
    fuse_mkdir_in mkdir_in{};
    mkdir_in.mode = S_IFDIR | 0755;
    Append(args, mkdir_in);
    AppendName(args, "newdir");
    absl::StatusOr<FuseReply> reply = fuse().Call(FUSE_MKDIR, FUSE_ROOT_ID, args, 4096);
    ASSERT_TRUE(reply.ok()) << reply.status();
    EXPECT_EQ(reply->error, 0);
    EXPECT_TRUE(std::filesystem::is_directory(share_ + "/newdir"));

    // CREATE + WRITE + SETATTR(size, fh) + FALLOCATE + FSYNC + RELEASE
    args.clear();
    fuse_create_in create_in{};
    create_in.flags = O_RDWR;
    create_in.mode = S_IFREG | 0644;
    Append(args, create_in);
    AppendName(args, "new.txt");
    reply = fuse().Call(FUSE_CREATE, FUSE_ROOT_ID, args, 4096);
    ASSERT_TRUE(reply.ok()) << reply.status();
    ASSERT_EQ(reply->error, 0);
    ASSERT_GE(reply->payload.size(), sizeof(fuse_entry_out) + sizeof(fuse_open_out));
    fuse_entry_out entry;
    fuse_open_out open;
    std::memcpy(&entry, reply->payload.data(), sizeof(entry));
    std::memcpy(&open, reply->payload.data() + sizeof(entry), sizeof(open));

    const std::string data = "written through the sandbox";
    args.clear();
    fuse_write_in write_in{};
    write_in.fh = open.fh;
    write_in.size = static_cast<uint32_t>(data.size());
    Append(args, write_in);
    args.insert(args.end(), data.begin(), data.end());
    reply = fuse().Call(FUSE_WRITE, entry.nodeid, args, 4096);
    ASSERT_TRUE(reply.ok()) << reply.status();
    EXPECT_EQ(reply->error, 0);

    args.clear();
    fuse_fallocate_in fallocate_in{};
    fallocate_in.fh = open.fh;
    fallocate_in.length = 8192;
    Append(args, fallocate_in);
    reply = fuse().Call(FUSE_FALLOCATE, entry.nodeid, args, 0);
    ASSERT_TRUE(reply.ok()) << reply.status();
    EXPECT_EQ(reply->error, 0);

    args.clear();
    fuse_setattr_in setattr_in{};
    setattr_in.valid = FATTR_SIZE | FATTR_FH;
    setattr_in.fh = open.fh;
    setattr_in.size = 7;
    Append(args, setattr_in);
    reply = fuse().Call(FUSE_SETATTR, entry.nodeid, args, 4096);
    ASSERT_TRUE(reply.ok()) << reply.status();
    EXPECT_EQ(reply->error, 0);

    args.clear();
    fuse_fsync_in fsync_in{};
    fsync_in.fh = open.fh;
    Append(args, fsync_in);
    reply = fuse().Call(FUSE_FSYNC, entry.nodeid, args, 0);
    ASSERT_TRUE(reply.ok()) << reply.status();
    EXPECT_EQ(reply->error, 0);
    EXPECT_TRUE(fuse().Release(entry.nodeid, open.fh).ok());
    {
      std::ifstream in(share_ + "/new.txt");
      std::stringstream content;
      content << in.rdbuf();
      EXPECT_EQ(content.str(), "written");
    }

    // RENAME, UNLINK, RMDIR
    args.clear();
    fuse_rename_in rename_in{};
    rename_in.newdir = FUSE_ROOT_ID;
    Append(args, rename_in);
    AppendName(args, "new.txt");
    AppendName(args, "renamed.txt");
    reply = fuse().Call(FUSE_RENAME, FUSE_ROOT_ID, args, 0);
    ASSERT_TRUE(reply.ok()) << reply.status();
    EXPECT_EQ(reply->error, 0);
    EXPECT_TRUE(std::filesystem::exists(share_ + "/renamed.txt"));

    args.clear();
    AppendName(args, "renamed.txt");
    reply = fuse().Call(FUSE_UNLINK, FUSE_ROOT_ID, args, 0);
    ASSERT_TRUE(reply.ok()) << reply.status();
    EXPECT_EQ(reply->error, 0);
    args.clear();
    AppendName(args, "newdir");
    reply = fuse().Call(FUSE_RMDIR, FUSE_ROOT_ID, args, 0);
    ASSERT_TRUE(reply.ok()) << reply.status();
    EXPECT_EQ(reply->error, 0);
    EXPECT_FALSE(std::filesystem::exists(share_ + "/renamed.txt"));
    EXPECT_FALSE(std::filesystem::exists(share_ + "/newdir"));
  }

  std::string share_;
  std::unique_ptr<FakeVmmSession> session_;
};

TEST_F(SandboxIntegrationTest, NamespaceSandboxRootIsTheShare) {
  Start("--sandbox=namespace --seccomp=kill");
  const pid_t serving = ServingPid(session_->daemon->pid());
  ASSERT_NE(serving, session_->daemon->pid()) << "namespace mode forks the serving process";

  // The serving process's "/" is the shared directory itself...
  struct stat root_st, share_st;
  ASSERT_EQ(stat(absl::StrCat("/proc/", serving, "/root/").c_str(), &root_st), 0);
  ASSERT_EQ(stat(share_.c_str(), &share_st), 0);
  EXPECT_EQ(root_st.st_dev, share_st.st_dev);
  EXPECT_EQ(root_st.st_ino, share_st.st_ino);
  EXPECT_EQ(Listing(absl::StrCat("/proc/", serving, "/root")), Listing(share_));
  // ...so nothing of the host's root is reachable from it.
  const std::string root = absl::StrCat("/proc/", serving, "/root");
  for (const char* host_path : {"/etc", "/proc", "/usr", "/tmp", "/dev"}) {
    EXPECT_NE(access((root + host_path).c_str(), F_OK), 0) << host_path;
  }
  // Its own pid namespace (it is pid 1 there) and network namespace.
  EXPECT_NE(std::filesystem::read_symlink(absl::StrCat("/proc/", serving, "/ns/pid")),
            std::filesystem::read_symlink("/proc/self/ns/pid"));
  EXPECT_NE(std::filesystem::read_symlink(absl::StrCat("/proc/", serving, "/ns/net")),
            std::filesystem::read_symlink("/proc/self/ns/net"));
  EXPECT_NE(std::filesystem::read_symlink(absl::StrCat("/proc/", serving, "/ns/mnt")),
            std::filesystem::read_symlink("/proc/self/ns/mnt"));

  // Capabilities: only the default set is effective or permitted.
  EXPECT_EQ(std::stoull(StatusField(serving, "CapEff"), nullptr, 16), kDefaultCaps);
  EXPECT_EQ(std::stoull(StatusField(serving, "CapPrm"), nullptr, 16), kDefaultCaps);
  EXPECT_EQ(StatusField(serving, "Seccomp"), "2");  // filter mode
  EXPECT_EQ(StatusField(serving, "NoNewPrivs"), "1");

  // And it serves, reads and writes, without seccomp killing it.
  ExpectReadDirListsShare();
  ExpectReads("hello.txt", "hello from the host");
  ExpectWrites();
  EXPECT_TRUE(session_->daemon->running());
}

TEST_F(SandboxIntegrationTest, NamespaceSandboxWithThreadPoolAndNeverCache) {
  // Worker threads start after the filter (TSYNC covers the ones before).
  Start("--sandbox=namespace --seccomp=kill --thread-pool-size=2 --cache=never");
  ExpectReadDirListsShare();
  ExpectReads("hello.txt", "hello from the host");
  ExpectWrites();
  EXPECT_TRUE(session_->daemon->running());
}

TEST_F(SandboxIntegrationTest, ChrootSandbox) {
  Start("--sandbox=chroot --seccomp=kill");
  const pid_t pid = session_->daemon->pid();
  struct stat root_st, share_st;
  ASSERT_EQ(stat(absl::StrCat("/proc/", pid, "/root/").c_str(), &root_st), 0);
  ASSERT_EQ(stat(share_.c_str(), &share_st), 0);
  EXPECT_EQ(root_st.st_ino, share_st.st_ino);
  EXPECT_EQ(root_st.st_dev, share_st.st_dev);
  EXPECT_EQ(std::stoull(StatusField(pid, "CapEff"), nullptr, 16), kDefaultCaps);
  ExpectReads("hello.txt", "hello from the host");
  ExpectWrites();
  EXPECT_TRUE(session_->daemon->running());
}

TEST_F(SandboxIntegrationTest, NoSandboxStillFiltersAndDropsCapabilities) {
  Start("--sandbox=none --seccomp=kill --modcaps=-mknod --rlimit-nofile=4096");
  const pid_t pid = session_->daemon->pid();
  {
    std::ifstream limits(absl::StrCat("/proc/", pid, "/limits"));
    std::string line;
    while (std::getline(limits, line) && line.rfind("Max open files", 0) != 0) {
    }
    std::istringstream fields(line.substr(std::strlen("Max open files")));
    uint64_t soft = 0, hard = 0;
    fields >> soft >> hard;
    EXPECT_EQ(soft, 4096u);
    EXPECT_EQ(hard, 4096u);
  }
  EXPECT_EQ(std::stoull(StatusField(pid, "CapEff"), nullptr, 16), kDefaultCaps & ~(1ull << 27));
  EXPECT_EQ(StatusField(pid, "Seccomp"), "2");
  ExpectReadDirListsShare();
  ExpectReads("hello.txt", "hello from the host");
  ExpectWrites();
  EXPECT_TRUE(session_->daemon->running());
}

TEST_F(SandboxIntegrationTest, SeccompNoneInstallsNoFilter) {
  Start("--sandbox=none --seccomp=none");
  EXPECT_EQ(StatusField(session_->daemon->pid(), "Seccomp"), "0");
  ExpectReads("hello.txt", "hello from the host");
}

TEST_F(SandboxIntegrationTest, SigtermInNamespaceModeExitsZeroAndRemovesTheSocket) {
  Start("--sandbox=namespace");
  // The VMM is connected: the socket path is already gone; the daemon must
  // still exit 0 through its supervising parent.
  const std::string socket = session_->socket_path;
  ASSERT_EQ(kill(session_->daemon->pid(), SIGTERM), 0);
  absl::StatusOr<int> status = session_->daemon->WaitForExit(absl::Seconds(10));
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_TRUE(WIFEXITED(*status));
  EXPECT_EQ(WEXITSTATUS(*status), 0);
  EXPECT_NE(access(socket.c_str(), F_OK), 0);
}

// The passthrough backend reaches inodes relative to its /proc/self/fd fd,
// never by an absolute /proc path (which after pivot_root would resolve
// inside the share).
TEST_F(SandboxIntegrationTest, XattrAndTruncateByPathWorkInTheSandbox) {
  Start("--sandbox=namespace --seccomp=kill --xattr");
  absl::StatusOr<fuse_entry_out> entry = fuse().Lookup(FUSE_ROOT_ID, "hello.txt");
  ASSERT_TRUE(entry.ok()) << entry.status();
  std::vector<uint8_t> args;
  fuse_getxattr_in getxattr_in{};
  getxattr_in.size = 256;
  Append(args, getxattr_in);
  AppendName(args, "user.missing");
  absl::StatusOr<FuseReply> reply = fuse().Call(FUSE_GETXATTR, entry->nodeid, args, 4096);
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(reply->error, -ENODATA);

  args.clear();
  fuse_setattr_in setattr_in{};
  setattr_in.valid = FATTR_SIZE;  // no FATTR_FH: truncate(2) by path in the guest
  setattr_in.size = 5;
  Append(args, setattr_in);
  reply = fuse().Call(FUSE_SETATTR, entry->nodeid, args, 4096);
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(reply->error, 0);
  EXPECT_EQ(std::filesystem::file_size(share_ + "/hello.txt"), 5u);
}

}  // namespace
}  // namespace vfsd
