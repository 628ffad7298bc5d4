// Passthrough node identity and the fd bound: --inode-file-handles modes
// (handles where the host allows, fallback, mandatory refusals), the open-fd
// count after create/unlink/forget cycles, a guest that never forgets (fds
// bounded by the cache with handles; a clean EMFILE and recovery without),
// stale handles, and submounts (announce_submounts).
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "backends/errno_status.h"
#include "backends/passthrough/passthrough_backend.h"
#include "gtest/gtest.h"
#include "testing/conformance/expect_errno.h"
#include "testing/conformance/host_tree.h"
#include "testing/conformance/sync_backend.h"

namespace vfsd {
namespace {

using Mode = BackendConfig::InodeFileHandles;

size_t CountOpenFds() {
  size_t n = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
    ++n;
  }
  return n - 1;  // the iterator's own directory fd
}

int HighestOpenFd() {
  int highest = 0;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
    highest = std::max(highest, std::atoi(entry.path().filename().c_str()));
  }
  return highest;
}

// Lowers the soft RLIMIT_NOFILE for one test and restores it.
class ScopedNofileLimit {
 public:
  explicit ScopedNofileLimit(rlim_t soft) {
    getrlimit(RLIMIT_NOFILE, &saved_);
    struct rlimit lowered = saved_;
    lowered.rlim_cur = soft;
    ok_ = setrlimit(RLIMIT_NOFILE, &lowered) == 0;
  }
  ~ScopedNofileLimit() { setrlimit(RLIMIT_NOFILE, &saved_); }
  bool ok() const { return ok_; }

 private:
  struct rlimit saved_;
  bool ok_ = false;
};

class PassthroughInodesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<TempShare> outer = TempShare::Create();
    ASSERT_TRUE(outer.ok()) << outer.status();
    outer_ = std::make_unique<TempShare>(*std::move(outer));
    share_ = outer_->path() + "/share";
    ASSERT_EQ(::mkdir(share_.c_str(), 0755), 0);
  }

  void TearDown() override {
    fs_.reset();
    backend_.reset();
    for (const std::string& mount : mounts_) ::umount2(mount.c_str(), MNT_DETACH);
  }

  void Make(Mode mode, size_t fd_cache_capacity = 8, bool announce_submounts = false) {
    BackendConfig config;
    config.shared_dir = share_;
    config.inode_file_handles = mode;
    config.announce_submounts = announce_submounts;
    fs_.reset();
    backend_.reset();
    absl::StatusOr<std::unique_ptr<Backend>> backend =
        PassthroughBackend::Create(config, fd_cache_capacity);
    ASSERT_TRUE(backend.ok()) << backend.status();
    backend_.reset(static_cast<PassthroughBackend*>(backend->release()));
    ASSERT_TRUE(backend_->Init(SessionOptions{}).ok());
    fs_ = std::make_unique<SyncBackend>(*backend_);
  }

  // Make(mode) and skip unless nodes really are kept by handle here.
  void MakeWithHandles(size_t fd_cache_capacity) {
    Make(Mode::kPrefer, fd_cache_capacity);
    if (!backend_->using_file_handles()) {
      GTEST_SKIP() << "file handles unavailable (filesystem or CAP_DAC_READ_SEARCH)";
    }
  }

  // Mounts `fstype` (or bind-mounts `source`) on share/<name>; false (and
  // a skip message) where mounting is not permitted.
  bool MountInShare(const std::string& name, const char* source, const char* fstype,
                    unsigned long flags) {
    const std::string target = absl::StrCat(share_, "/", name);
    if (::mkdir(target.c_str(), 0755) != 0) return false;
    if (::mount(source, target.c_str(), fstype, flags, nullptr) != 0) {
      skip_reason_ = absl::StrCat("cannot mount on ", target, ": ", strerror(errno),
                                  " (needs root / CAP_SYS_ADMIN)");
      return false;
    }
    mounts_.push_back(target);
    return true;
  }

  CreateResult CreateFile(const std::string& name) {
    absl::StatusOr<CreateResult> created = fs_->Create(kRootNodeId, name, 0644, O_RDWR);
    EXPECT_TRUE(created.ok()) << name << ": " << created.status();
    return created.ok() ? *created : CreateResult{};
  }

  std::unique_ptr<TempShare> outer_;
  std::string share_;
  std::vector<std::string> mounts_;
  std::string skip_reason_;
  std::unique_ptr<PassthroughBackend> backend_;
  std::unique_ptr<SyncBackend> fs_;
};

TEST_F(PassthroughInodesTest, NeverModeHoldsAnFdPerNode) {
  Make(Mode::kNever);
  EXPECT_FALSE(backend_->using_file_handles());
  const size_t before = CountOpenFds();
  for (int i = 0; i < 20; ++i) {
    CreateResult c = CreateFile(absl::StrCat("f", i));
    ASSERT_TRUE(fs_->Release(c.entry.node, c.open.handle).ok());
  }
  EXPECT_EQ(CountOpenFds(), before + 20);
}

TEST_F(PassthroughInodesTest, HandleNodesKeepOnlyTheCacheBoundOfFdsOpen) {
  MakeWithHandles(/*fd_cache_capacity=*/4);
  const size_t before = CountOpenFds();
  std::vector<NodeId> nodes;
  for (int i = 0; i < 200; ++i) {
    CreateResult c = CreateFile(absl::StrCat("f", i));
    ASSERT_TRUE(fs_->Write(c.entry.node, c.open.handle, 0, absl::StrCat("data", i)).ok());
    ASSERT_TRUE(fs_->Release(c.entry.node, c.open.handle).ok());
    nodes.push_back(c.entry.node);
  }
  EXPECT_LE(backend_->cached_fd_count(), 4u);
  EXPECT_LE(CountOpenFds(), before + 4);
  // Every node still works: evicted fds re-open from the handle, even after
  // the host renamed the file.
  ASSERT_EQ(::rename((share_ + "/f0").c_str(), (share_ + "/renamed").c_str()), 0);
  for (int i = 0; i < 200; ++i) {
    absl::StatusOr<Attr> attr = fs_->GetAttr(nodes[i]);
    ASSERT_TRUE(attr.ok()) << i << ": " << attr.status();
    EXPECT_EQ(attr->size, absl::StrCat("data", i).size());
  }
  absl::StatusOr<OpenResult> opened = fs_->Open(nodes[0], O_RDONLY);
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(*fs_->Read(nodes[0], opened->handle, 0, 100), "data0");
  ASSERT_TRUE(fs_->Release(nodes[0], opened->handle).ok());
  // A hard link is the same node.
  absl::StatusOr<Entry> link = fs_->Link(nodes[1], kRootNodeId, "hard");
  ASSERT_TRUE(link.ok()) << link.status();
  EXPECT_EQ(link->node, nodes[1]);
  absl::StatusOr<Entry> looked_up = fs_->Lookup(kRootNodeId, "hard");
  ASSERT_TRUE(looked_up.ok());
  EXPECT_EQ(looked_up->node, nodes[1]);
  EXPECT_LE(CountOpenFds(), before + 4);
}

TEST_F(PassthroughInodesTest, HandleNodesWorkAsParentsSymlinksAndDotDot) {
  MakeWithHandles(/*fd_cache_capacity=*/0);  // every use re-opens
  absl::StatusOr<Entry> dir = fs_->MkDir(kRootNodeId, "d", 0755);
  ASSERT_TRUE(dir.ok()) << dir.status();
  absl::StatusOr<Entry> sub = fs_->MkDir(dir->node, "e", 0755);
  ASSERT_TRUE(sub.ok()) << sub.status();
  absl::StatusOr<Entry> link = fs_->Symlink(sub->node, "l", "/etc/passwd");
  ASSERT_TRUE(link.ok()) << link.status();
  EXPECT_EQ(*fs_->ReadLink(link->node), "/etc/passwd");
  absl::StatusOr<Entry> up = fs_->Lookup(sub->node, "..");
  ASSERT_TRUE(up.ok()) << up.status();
  EXPECT_EQ(up->node, dir->node);
  EXPECT_EQ(backend_->cached_fd_count(), 0u);
}

TEST_F(PassthroughInodesTest, DeletedFileOfAnEvictedHandleNodeIsStale) {
  MakeWithHandles(/*fd_cache_capacity=*/0);
  CreateResult c = CreateFile("gone");
  ASSERT_TRUE(fs_->Release(c.entry.node, c.open.handle).ok());
  ASSERT_EQ(::unlink((share_ + "/gone").c_str()), 0);
  // Nothing holds the inode any more (as with Rust virtiofsd's handles);
  // a held-fd node would still stat the unlinked file.
  EXPECT_ERRNO(fs_->GetAttr(c.entry.node).status(), ESTALE);
  fs_->Forget(c.entry.node, 1);
  EXPECT_EQ(backend_->node_count(), 1u);
}

class PassthroughCycleTest : public PassthroughInodesTest,
                             public ::testing::WithParamInterface<Mode> {};

TEST_P(PassthroughCycleTest, CreateReleaseUnlinkForgetCyclesLeaveNoFd) {
  if (GetParam() == Mode::kNever) {
    Make(Mode::kNever);
  } else {
    MakeWithHandles(/*fd_cache_capacity=*/16);
  }
  const size_t before = CountOpenFds();
  for (int i = 0; i < 20000; ++i) {
    absl::StatusOr<CreateResult> c = fs_->Create(kRootNodeId, "cycle", 0644, O_RDWR);
    ASSERT_TRUE(c.ok()) << "cycle " << i << ": " << c.status();
    ASSERT_TRUE(fs_->Release(c->entry.node, c->open.handle).ok());
    ASSERT_TRUE(fs_->Unlink(kRootNodeId, "cycle").ok());
    fs_->Forget(c->entry.node, 1);
  }
  EXPECT_EQ(backend_->node_count(), 1u);
  EXPECT_EQ(backend_->handle_count(), 0u);
  EXPECT_EQ(backend_->cached_fd_count(), 0u);
  EXPECT_EQ(CountOpenFds(), before);
}

INSTANTIATE_TEST_SUITE_P(Modes, PassthroughCycleTest,
                         ::testing::Values(Mode::kNever, Mode::kPrefer),
                         [](const ::testing::TestParamInfo<Mode>& info) {
                           return info.param == Mode::kNever ? "Never" : "Prefer";
                         });

TEST_F(PassthroughInodesTest, WithoutHandlesFdExhaustionIsEmfileAndForgetRecovers) {
  Make(Mode::kNever);
  ScopedNofileLimit limit(HighestOpenFd() + 40);
  ASSERT_TRUE(limit.ok());
  // A guest that never forgets: every node holds an fd until EMFILE.
  std::vector<NodeId> nodes;
  absl::Status failure;
  for (int i = 0; i < 200 && failure.ok(); ++i) {
    absl::StatusOr<CreateResult> c = fs_->Create(kRootNodeId, absl::StrCat("f", i), 0644, O_RDWR);
    if (!c.ok()) {
      failure = c.status();
      break;
    }
    ASSERT_TRUE(fs_->Release(c->entry.node, c->open.handle).ok());
    nodes.push_back(c->entry.node);
  }
  EXPECT_ERRNO(failure, EMFILE);
  // Again (not a one-off): the failed creation left no fd behind.
  EXPECT_ERRNO(fs_->Create(kRootNodeId, "again", 0644, O_RDWR).status(), EMFILE);
  // Existing nodes keep working (their fds are open).
  EXPECT_TRUE(fs_->GetAttr(nodes[0]).ok());
  for (NodeId node : nodes) fs_->Forget(node, 1);
  absl::StatusOr<CreateResult> after = fs_->Create(kRootNodeId, "after", 0644, O_RDWR);
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_TRUE(fs_->Release(after->entry.node, after->open.handle).ok());
}

TEST_F(PassthroughInodesTest, WithHandlesANeverForgettingGuestStaysUnderALowLimit) {
  MakeWithHandles(/*fd_cache_capacity=*/8);
  ScopedNofileLimit limit(HighestOpenFd() + 40);
  ASSERT_TRUE(limit.ok());
  for (int i = 0; i < 500; ++i) {
    absl::StatusOr<CreateResult> c = fs_->Create(kRootNodeId, absl::StrCat("f", i), 0644, O_RDWR);
    ASSERT_TRUE(c.ok()) << i << ": " << c.status();
    ASSERT_TRUE(fs_->Release(c->entry.node, c->open.handle).ok());
  }
  EXPECT_EQ(backend_->node_count(), 501u);
  EXPECT_LE(backend_->cached_fd_count(), 8u);
}

TEST_F(PassthroughInodesTest, ConcurrentUseOfEvictedNodesIsSafe) {
  MakeWithHandles(/*fd_cache_capacity=*/2);
  std::vector<NodeId> nodes;
  for (int i = 0; i < 16; ++i) {
    CreateResult c = CreateFile(absl::StrCat("f", i));
    ASSERT_TRUE(fs_->Release(c.entry.node, c.open.handle).ok());
    nodes.push_back(c.entry.node);
  }
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 500; ++i) {
        NodeId node = nodes[(i * 7 + t) % nodes.size()];
        if (!fs_->GetAttr(node).ok()) ++failures;
        absl::StatusOr<OpenResult> opened = fs_->Open(node, O_RDONLY);
        if (!opened.ok() || !fs_->Release(node, opened->handle).ok()) ++failures;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_LE(backend_->cached_fd_count(), 2u);
}

TEST_F(PassthroughInodesTest, MandatoryFailsStartUpWhereHandlesDoNotWork) {
  // procfs has no export support: name_to_handle_at answers EOPNOTSUPP.
  BackendConfig config;
  config.shared_dir = "/proc/self";
  config.inode_file_handles = Mode::kMandatory;
  absl::StatusOr<std::unique_ptr<Backend>> backend = PassthroughBackend::Create(config);
  ASSERT_FALSE(backend.ok());
  EXPECT_EQ(ErrnoOf(backend.status()), EOPNOTSUPP) << backend.status();
  EXPECT_NE(backend.status().message().find("mandatory"), absl::string_view::npos)
      << backend.status();
  // prefer starts and holds fds instead.
  config.inode_file_handles = Mode::kPrefer;
  backend = PassthroughBackend::Create(config);
  ASSERT_TRUE(backend.ok()) << backend.status();
  EXPECT_FALSE(static_cast<PassthroughBackend&>(**backend).using_file_handles());
}

TEST_F(PassthroughInodesTest, MandatoryRefusesANodeWithoutHandleAndPreferHoldsItsFd) {
  if (!MountInShare("proc", "/proc", nullptr, MS_BIND)) GTEST_SKIP() << skip_reason_;
  Make(Mode::kMandatory);
  if (!backend_->using_file_handles()) GTEST_SKIP() << "file handles unavailable";
  EXPECT_ERRNO(fs_->Lookup(kRootNodeId, "proc").status(), EOPNOTSUPP);
  Make(Mode::kPrefer);
  absl::StatusOr<Entry> proc = fs_->Lookup(kRootNodeId, "proc");
  ASSERT_TRUE(proc.ok()) << proc.status();
  EXPECT_TRUE(fs_->GetAttr(proc->node).ok());
}

TEST_F(PassthroughInodesTest, SubmountsAreAnnouncedOnlyWhenAsked) {
  ASSERT_EQ(::mkdir((share_ + "/plain").c_str(), 0755), 0);
  if (!MountInShare("sub", "tmpfs", "tmpfs", 0)) GTEST_SKIP() << skip_reason_;
  Make(Mode::kNever, 8, /*announce_submounts=*/true);
  EXPECT_TRUE(fs_->Lookup(kRootNodeId, "sub")->attr.submount);
  EXPECT_FALSE(fs_->Lookup(kRootNodeId, "plain")->attr.submount);
  Make(Mode::kNever, 8, /*announce_submounts=*/false);
  EXPECT_FALSE(fs_->Lookup(kRootNodeId, "sub")->attr.submount);
}

TEST_F(PassthroughInodesTest, HandleNodesOnASubmountUseThatMountsFd) {
  if (!MountInShare("sub", "tmpfs", "tmpfs", 0)) GTEST_SKIP() << skip_reason_;
  MakeWithHandles(/*fd_cache_capacity=*/0);
  absl::StatusOr<Entry> sub = fs_->Lookup(kRootNodeId, "sub");
  ASSERT_TRUE(sub.ok()) << sub.status();
  absl::StatusOr<CreateResult> c = fs_->Create(sub->node, "inside", 0644, O_RDWR);
  ASSERT_TRUE(c.ok()) << c.status();
  ASSERT_TRUE(fs_->Release(c->entry.node, c->open.handle).ok());
  // Evicted at once (capacity 0): re-opened from the tmpfs handle.
  absl::StatusOr<Attr> attr = fs_->GetAttr(c->entry.node);
  ASSERT_TRUE(attr.ok()) << attr.status();
  EXPECT_TRUE(S_ISREG(attr->mode));
}

}  // namespace
}  // namespace vfsd
