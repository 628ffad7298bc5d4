// Passthrough-specific behaviour: the factory, the share boundary (symlinks,
// "..", swapped directories), read-only shares, open-flag sanitising and
// lookup-reference bookkeeping. Generic Backend behaviour is covered by the
// conformance suite (testing/conformance).
#include "backends/passthrough/passthrough_backend.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "backends/backend_registry.h"
#include "backends/errno_status.h"
#include "gtest/gtest.h"
#include "testing/conformance/expect_errno.h"
#include "testing/conformance/host_tree.h"
#include "testing/conformance/sync_backend.h"

namespace vfsd {
namespace {


// Layout: <outer>/share is the shared directory; <outer>/outside_secret is
// a host file the guest must never reach.
class PassthroughBackendTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<TempShare> outer = TempShare::Create();
    ASSERT_TRUE(outer.ok()) << outer.status();
    outer_ = std::make_unique<TempShare>(*std::move(outer));
    share_ = outer_->path() + "/share";
    ASSERT_TRUE(CreateHostTree(outer_->path(), {TreeItem::Dir("share"),
                                                TreeItem::File("outside_secret", "secret")})
                    .ok());
    MakeBackend(BackendConfig{});
  }

  void MakeBackend(BackendConfig config) {
    config.shared_dir = share_;
    fs_.reset();
    absl::StatusOr<std::unique_ptr<Backend>> backend = PassthroughBackend::Create(config);
    ASSERT_TRUE(backend.ok()) << backend.status();
    backend_.reset(static_cast<PassthroughBackend*>(backend->release()));
    fs_ = std::make_unique<SyncBackend>(*backend_);
  }

  void Populate(std::initializer_list<TreeItem> items) {
    absl::Status status = CreateHostTree(share_, absl::MakeConstSpan(items.begin(), items.size()));
    ASSERT_TRUE(status.ok()) << status;
  }

  std::string HostPath(absl::string_view relative) { return absl::StrCat(share_, "/", relative); }

  std::unique_ptr<TempShare> outer_;
  std::string share_;
  std::unique_ptr<PassthroughBackend> backend_;
  std::unique_ptr<SyncBackend> fs_;
};

// --- factory ---

TEST(PassthroughFactoryTest, IsRegistered) {
  std::vector<std::string> names = RegisteredBackends();
  EXPECT_NE(std::find(names.begin(), names.end(), "passthrough"), names.end());
}

TEST(PassthroughFactoryTest, RejectsBadSharedDir) {
  BackendConfig config;
  absl::StatusOr<std::unique_ptr<Backend>> backend = PassthroughBackend::Create(config);
  EXPECT_EQ(backend.status().code(), absl::StatusCode::kInvalidArgument);

  config.shared_dir = "/nonexistent/vfsd/share";
  backend = CreateBackend("passthrough", config);
  EXPECT_EQ(backend.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(backend.status().message().find("does not exist"), std::string::npos);

  config.shared_dir = "/proc/self/status";
  backend = CreateBackend("passthrough", config);
  EXPECT_EQ(backend.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(backend.status().message().find("not a directory"), std::string::npos);
}

// --- the share boundary ---

TEST_F(PassthroughBackendTest, SymlinkToEtcPasswdIsNeverFollowed) {
  Populate({TreeItem::Symlink("passwd", "/etc/passwd"),
            TreeItem::Symlink("up", "../outside_secret")});
  for (const char* name : {"passwd", "up"}) {
    absl::StatusOr<Entry> link = fs_->Lookup(kRootNodeId, name);
    ASSERT_TRUE(link.ok()) << link.status();
    EXPECT_TRUE(S_ISLNK(link->attr.mode)) << name;
    EXPECT_ERRNO(fs_->Open(link->node, O_RDONLY), ELOOP);
    EXPECT_ERRNO(fs_->Open(link->node, O_RDWR), ELOOP);
    EXPECT_ERRNO(fs_->Lookup(link->node, "x"), ENOTDIR);
    absl::StatusOr<Attr> attr = fs_->GetAttr(link->node);
    ASSERT_TRUE(attr.ok());
    EXPECT_TRUE(S_ISLNK(attr->mode));
  }
  absl::StatusOr<Entry> link = fs_->Lookup(kRootNodeId, "passwd");
  ASSERT_TRUE(link.ok());
  absl::StatusOr<std::string> target = fs_->ReadLink(link->node);
  ASSERT_TRUE(target.ok());
  EXPECT_EQ(*target, "/etc/passwd");
}

TEST_F(PassthroughBackendTest, SymlinkedDirectoryIsNotAParent) {
  Populate({TreeItem::Symlink("etc", "/etc"), TreeItem::Symlink("outer", "..")});
  absl::StatusOr<Entry> etc = fs_->Lookup(kRootNodeId, "etc");
  ASSERT_TRUE(etc.ok());
  EXPECT_ERRNO(fs_->Lookup(etc->node, "passwd"), ENOTDIR);
  EXPECT_ERRNO(fs_->OpenDir(etc->node), ENOTDIR);
  absl::StatusOr<Entry> outer = fs_->Lookup(kRootNodeId, "outer");
  ASSERT_TRUE(outer.ok());
  EXPECT_ERRNO(fs_->Lookup(outer->node, "outside_secret"), ENOTDIR);
  EXPECT_ERRNO(fs_->Lookup(outer->node, ".."), ENOTDIR);
}

TEST_F(PassthroughBackendTest, DirectorySwappedForSymlinkOnHostStaysConfined) {
  // The guest holds a node for d; the host then replaces d with a symlink
  // to /etc. The node still names the original directory (its O_PATH fd),
  // and no lookup under it reaches /etc.
  Populate({TreeItem::Dir("d"), TreeItem::File("d/inside", "in")});
  absl::StatusOr<Entry> d = fs_->Lookup(kRootNodeId, "d");
  ASSERT_TRUE(d.ok());
  ASSERT_EQ(::rename(HostPath("d").c_str(), HostPath("moved").c_str()), 0);
  ASSERT_EQ(::symlink("/etc", HostPath("d").c_str()), 0);
  EXPECT_ERRNO(fs_->Lookup(d->node, "passwd"), ENOENT);
  EXPECT_TRUE(fs_->Lookup(d->node, "inside").ok());
  // A fresh lookup of "d" sees the symlink, not a directory.
  absl::StatusOr<Entry> again = fs_->Lookup(kRootNodeId, "d");
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(S_ISLNK(again->attr.mode));
  EXPECT_ERRNO(fs_->Lookup(again->node, "passwd"), ENOTDIR);
}

TEST_F(PassthroughBackendTest, DotDotChainsStopAtTheRoot) {
  Populate({TreeItem::Dir("a"), TreeItem::Dir("a/b"), TreeItem::Dir("a/b/c")});
  absl::StatusOr<Attr> root = fs_->GetAttr(kRootNodeId);
  ASSERT_TRUE(root.ok());
  NodeId node = kRootNodeId;
  for (const char* name : {"a", "b", "c"}) {
    absl::StatusOr<Entry> entry = fs_->Lookup(node, name);
    ASSERT_TRUE(entry.ok());
    node = entry->node;
  }
  for (int i = 0; i < 10; ++i) {
    absl::StatusOr<Entry> up = fs_->Lookup(node, "..");
    ASSERT_TRUE(up.ok()) << up.status();
    node = up->node;
    if (i >= 2) {
      EXPECT_EQ(node, kRootNodeId) << "step " << i;
      EXPECT_EQ(up->attr.ino, root->ino);
    }
  }
  // Nothing of the directory above the share is reachable from the root.
  EXPECT_ERRNO(fs_->Lookup(node, "outside_secret"), ENOENT);
  EXPECT_ERRNO(fs_->Lookup(kRootNodeId, "../outside_secret"), EINVAL);
  EXPECT_ERRNO(fs_->Lookup(kRootNodeId, "share/.."), EINVAL);
}

TEST_F(PassthroughBackendTest, HostDirectoryMovedOutKeepsRootConfined) {
  // ".." of the root is the root even though the host root has a parent.
  absl::StatusOr<Entry> up = fs_->Lookup(kRootNodeId, "..");
  ASSERT_TRUE(up.ok());
  EXPECT_EQ(up->node, kRootNodeId);
  auto all = fs_->ReadAll(kRootNodeId, /*plus=*/true);
  ASSERT_TRUE(all.ok());
  for (const auto& record : *all) {
    EXPECT_NE(record.name, "outside_secret");
    if (record.name == "..") {
      EXPECT_FALSE(record.entry.has_value());
    }
  }
}

TEST_F(PassthroughBackendTest, NamesWithNulOrSlashAreRefused) {
  Populate({TreeItem::File("a")});
  EXPECT_ERRNO(fs_->Lookup(kRootNodeId, absl::string_view("a\0b", 3)), EINVAL);
  EXPECT_ERRNO(fs_->Lookup(kRootNodeId, "a/"), EINVAL);
  EXPECT_ERRNO(fs_->Lookup(kRootNodeId, "/etc"), EINVAL);
}

TEST_F(PassthroughBackendTest, SpecialFilesAreNotOpened) {
  ASSERT_EQ(::mkfifo(HostPath("fifo").c_str(), 0666), 0);
  absl::StatusOr<Entry> fifo = fs_->Lookup(kRootNodeId, "fifo");
  ASSERT_TRUE(fifo.ok()) << fifo.status();  // lookup uses O_PATH: never blocks
  EXPECT_TRUE(S_ISFIFO(fifo->attr.mode));
  EXPECT_ERRNO(fs_->Open(fifo->node, O_RDONLY), ENXIO);
}

// --- read-only shares ---

TEST_F(PassthroughBackendTest, ReadOnlyShareRefusesWriteOpens) {
  Populate({TreeItem::File("f", "data")});
  BackendConfig config;
  config.readonly = true;
  MakeBackend(config);
  absl::StatusOr<Entry> f = fs_->Lookup(kRootNodeId, "f");
  ASSERT_TRUE(f.ok());
  EXPECT_ERRNO(fs_->Open(f->node, O_WRONLY), EROFS);
  EXPECT_ERRNO(fs_->Open(f->node, O_RDWR), EROFS);
  EXPECT_ERRNO(fs_->Open(f->node, O_RDONLY | O_TRUNC), EROFS);
  EXPECT_ERRNO(fs_->Access(f->node, W_OK), EROFS);
  EXPECT_TRUE(fs_->Access(f->node, R_OK).ok());
  absl::StatusOr<OpenResult> open = fs_->Open(f->node, O_RDONLY);
  ASSERT_TRUE(open.ok());
  absl::StatusOr<std::string> data = fs_->Read(f->node, open->handle, 0, 100);
  ASSERT_TRUE(data.ok());
  EXPECT_EQ(*data, "data");
  EXPECT_TRUE(fs_->Release(f->node, open->handle).ok());
}

// --- open flags ---

// The flags of the daemon's one non-O_PATH fd open on `path` (from
// /proc/self/fdinfo), or -1 if there is none or more than one.
int HostFlagsOfOpenFile(const std::string& path) {
  int found = -1;
  int matches = 0;
  for (const auto& dirent : std::filesystem::directory_iterator("/proc/self/fd")) {
    std::error_code ec;
    std::filesystem::path target = std::filesystem::read_symlink(dirent.path(), ec);
    if (ec || target != path) continue;
    std::ifstream info("/proc/self/fdinfo/" + dirent.path().filename().string());
    std::string line;
    while (std::getline(info, line)) {
      if (line.rfind("flags:", 0) != 0) continue;
      std::string octal = line.substr(6);
      octal.erase(0, octal.find_first_not_of(" \t"));
      const int flags = static_cast<int>(std::stoul(octal, nullptr, 8));
      if (flags & O_PATH) continue;  // the node's own O_PATH fd
      found = flags;
      ++matches;
    }
  }
  return matches == 1 ? found : -1;
}

TEST_F(PassthroughBackendTest, HostOpenFlagsAreSanitised) {
  Populate({TreeItem::File("f", "data")});
  absl::StatusOr<Entry> f = fs_->Lookup(kRootNodeId, "f");
  ASSERT_TRUE(f.ok());
  // O_DIRECT dropped (allow_direct_io is off), creation flags and O_ASYNC
  // dropped, O_CLOEXEC added.
  absl::StatusOr<OpenResult> open =
      fs_->Open(f->node, O_RDONLY | O_DIRECT | O_CREAT | O_EXCL | O_ASYNC | O_NOCTTY);
  ASSERT_TRUE(open.ok()) << open.status();
  const int flags = HostFlagsOfOpenFile(HostPath("f"));
  ASSERT_NE(flags, -1);
  EXPECT_EQ(flags & O_DIRECT, 0);
  EXPECT_EQ(flags & O_ASYNC, 0);
  EXPECT_EQ(flags & O_CREAT, 0);
  EXPECT_NE(flags & O_CLOEXEC, 0);
  EXPECT_EQ(flags & O_ACCMODE, O_RDONLY);
  EXPECT_TRUE(fs_->Release(f->node, open->handle).ok());
  EXPECT_ERRNO(fs_->Open(f->node, O_ACCMODE), EINVAL);
}

TEST_F(PassthroughBackendTest, WritebackCacheMakesWriteOnlyOpensReadable) {
  Populate({TreeItem::File("f", "data")});
  SessionOptions options;
  options.writeback_cache = true;
  ASSERT_TRUE(backend_->Init(options).ok());
  absl::StatusOr<Entry> f = fs_->Lookup(kRootNodeId, "f");
  ASSERT_TRUE(f.ok());
  absl::StatusOr<OpenResult> open = fs_->Open(f->node, O_WRONLY | O_APPEND);
  ASSERT_TRUE(open.ok());
  absl::StatusOr<std::string> data = fs_->Read(f->node, open->handle, 0, 100);
  ASSERT_TRUE(data.ok()) << data.status();
  EXPECT_EQ(*data, "data");
  const int flags = HostFlagsOfOpenFile(HostPath("f"));
  EXPECT_EQ(flags & O_APPEND, 0);
  EXPECT_TRUE(fs_->Release(f->node, open->handle).ok());
}

TEST_F(PassthroughBackendTest, OpenFileSurvivesHostRename) {
  Populate({TreeItem::File("f", "data")});
  absl::StatusOr<Entry> f = fs_->Lookup(kRootNodeId, "f");
  ASSERT_TRUE(f.ok());
  ASSERT_EQ(::rename(HostPath("f").c_str(), HostPath("g").c_str()), 0);
  absl::StatusOr<OpenResult> open = fs_->Open(f->node, O_RDONLY);
  ASSERT_TRUE(open.ok()) << open.status();
  absl::StatusOr<std::string> data = fs_->Read(f->node, open->handle, 0, 100);
  ASSERT_TRUE(data.ok());
  EXPECT_EQ(*data, "data");
  EXPECT_TRUE(fs_->Release(f->node, open->handle).ok());
}

// --- lookup references ---

TEST_F(PassthroughBackendTest, ForgetToZeroFreesTheNode) {
  Populate({TreeItem::File("f")});
  EXPECT_EQ(backend_->node_count(), 1u);
  absl::StatusOr<Entry> f = fs_->Lookup(kRootNodeId, "f");
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE(fs_->Lookup(kRootNodeId, "f").ok());
  EXPECT_EQ(backend_->node_count(), 2u);
  fs_->Forget(f->node, 1);
  EXPECT_EQ(backend_->node_count(), 2u);
  fs_->Forget(f->node, 1);
  EXPECT_EQ(backend_->node_count(), 1u);
  EXPECT_ERRNO(fs_->GetAttr(f->node), EBADF);
  // A new lookup gets a new id: the old one stays dead.
  absl::StatusOr<Entry> again = fs_->Lookup(kRootNodeId, "f");
  ASSERT_TRUE(again.ok());
  EXPECT_NE(again->node, f->node);
  EXPECT_ERRNO(fs_->GetAttr(f->node), EBADF);
}

TEST_F(PassthroughBackendTest, DotLookupsTakeReferences) {
  Populate({TreeItem::Dir("d")});
  absl::StatusOr<Entry> d = fs_->Lookup(kRootNodeId, "d");
  ASSERT_TRUE(d.ok());
  ASSERT_TRUE(fs_->Lookup(d->node, ".").ok());
  fs_->Forget(d->node, 1);
  EXPECT_TRUE(fs_->GetAttr(d->node).ok());
  fs_->Forget(d->node, 1);
  EXPECT_ERRNO(fs_->GetAttr(d->node), EBADF);
}

TEST_F(PassthroughBackendTest, ReadDirPlusReferencesOnlyAcceptedEntries) {
  Populate({TreeItem::Dir("d"), TreeItem::File("d/a"), TreeItem::File("d/b"),
            TreeItem::File("d/c"), TreeItem::File("d/e")});
  absl::StatusOr<Entry> d = fs_->Lookup(kRootNodeId, "d");
  ASSERT_TRUE(d.ok());
  const size_t base = backend_->node_count();
  absl::StatusOr<OpenResult> dir = fs_->OpenDir(d->node);
  ASSERT_TRUE(dir.ok());
  // Room for exactly two direntplus records with one-letter names.
  RecordingDirSink sink(2 * (128 + 32), /*plus=*/true);
  ASSERT_TRUE(fs_->ReadDir(d->node, dir->handle, 0, true, sink).ok());
  ASSERT_EQ(sink.records().size(), 2u);
  EXPECT_EQ(sink.overflows(), 0);
  size_t referenced = 0;
  for (const auto& record : sink.records()) {
    if (record.entry.has_value()) ++referenced;
  }
  EXPECT_EQ(backend_->node_count(), base + referenced);
  for (const auto& record : sink.records()) {
    if (record.entry.has_value()) fs_->Forget(record.entry->node, 1);
  }
  EXPECT_EQ(backend_->node_count(), base);
  EXPECT_TRUE(fs_->ReleaseDir(d->node, dir->handle).ok());
  EXPECT_EQ(backend_->handle_count(), 0u);
}

TEST_F(PassthroughBackendTest, DestroyClearsEverything) {
  Populate({TreeItem::File("f")});
  absl::StatusOr<Entry> f = fs_->Lookup(kRootNodeId, "f");
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE(fs_->Open(f->node, O_RDONLY).ok());
  ASSERT_TRUE(fs_->OpenDir(kRootNodeId).ok());
  backend_->Destroy();
  EXPECT_EQ(backend_->node_count(), 1u);
  EXPECT_EQ(backend_->handle_count(), 0u);
}

}  // namespace
}  // namespace vfsd
