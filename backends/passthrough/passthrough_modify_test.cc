// Passthrough-specific behaviour of the modifying side: read-only shares,
// extended attributes (on/off per share) and locks on handles.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <memory>
#include <string>

#include "backends/errno_status.h"
#include "backends/passthrough/passthrough_backend.h"
#include "gtest/gtest.h"
#include "testing/conformance/expect_errno.h"
#include "testing/conformance/host_tree.h"
#include "testing/conformance/sync_backend.h"

namespace vfsd {
namespace {

class PassthroughModifyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<TempShare> share = TempShare::Create();
    ASSERT_TRUE(share.ok()) << share.status();
    share_ = std::make_unique<TempShare>(*std::move(share));
    ASSERT_TRUE(CreateHostTree(share_->path(), {TreeItem::File("f", "data"), TreeItem::Dir("d"),
                                                TreeItem::Symlink("ln", "f")})
                    .ok());
  }

  void MakeBackend(bool readonly, bool xattr) {
    BackendConfig config;
    config.shared_dir = share_->path();
    config.readonly = readonly;
    config.xattr = xattr;
    fs_.reset();
    absl::StatusOr<std::unique_ptr<Backend>> backend = PassthroughBackend::Create(config);
    ASSERT_TRUE(backend.ok()) << backend.status();
    backend_ = *std::move(backend);
    fs_ = std::make_unique<SyncBackend>(*backend_);
  }

  NodeId Node(const char* name) {
    absl::StatusOr<Entry> entry = fs_->Lookup(kRootNodeId, name);
    EXPECT_TRUE(entry.ok()) << name << ": " << entry.status();
    return entry.ok() ? entry->node : 0;
  }

  // Calls the backend's xattr methods synchronously (they complete inline).
  absl::Status SetXattr(NodeId node, const std::string& name, const std::string& value,
                        uint32_t flags = 0) {
    absl::Status result = absl::UnknownError("not completed");
    backend_->SetXattr({}, node, name, value, flags, /*acl_kill_sgid=*/false,
                       [&](absl::Status s) { result = s; });
    return result;
  }
  absl::StatusOr<std::string> GetXattr(NodeId node, const std::string& name) {
    absl::StatusOr<std::string> result = absl::UnknownError("not completed");
    backend_->GetXattr({}, node, name, [&](absl::StatusOr<std::string> s) { result = s; });
    return result;
  }
  absl::StatusOr<std::string> ListXattr(NodeId node) {
    absl::StatusOr<std::string> result = absl::UnknownError("not completed");
    backend_->ListXattr({}, node, [&](absl::StatusOr<std::string> s) { result = s; });
    return result;
  }
  absl::Status RemoveXattr(NodeId node, const std::string& name) {
    absl::Status result = absl::UnknownError("not completed");
    backend_->RemoveXattr({}, node, name, [&](absl::Status s) { result = s; });
    return result;
  }
  absl::Status SetLk(NodeId node, HandleId handle, uint32_t type, bool flock,
                     uint64_t start = 0, uint64_t end = UINT64_MAX, uint64_t owner = 1) {
    absl::Status result = absl::UnknownError("not completed");
    FileLock lock{start, end, type, 0};
    backend_->SetLk({}, node, handle, owner, lock, /*wait=*/false, flock,
                    [&](absl::Status s) { result = s; });
    return result;
  }
  absl::StatusOr<FileLock> GetLk(NodeId node, HandleId handle, uint32_t type,
                                 uint64_t owner = 1) {
    absl::StatusOr<FileLock> result = absl::UnknownError("not completed");
    FileLock lock{0, UINT64_MAX, type, 0};
    backend_->GetLk({}, node, handle, owner, lock, [&](absl::StatusOr<FileLock> s) { result = s; });
    return result;
  }

  std::unique_ptr<TempShare> share_;
  std::unique_ptr<Backend> backend_;
  std::unique_ptr<SyncBackend> fs_;
};

TEST_F(PassthroughModifyTest, ReadOnlyShareRefusesEveryModification) {
  MakeBackend(/*readonly=*/true, /*xattr=*/true);
  const NodeId f = Node("f");
  EXPECT_ERRNO(fs_->MkDir(kRootNodeId, "x", 0755), EROFS);
  EXPECT_ERRNO(fs_->MkNod(kRootNodeId, "x", S_IFIFO | 0644), EROFS);
  EXPECT_ERRNO(fs_->Symlink(kRootNodeId, "x", "f"), EROFS);
  EXPECT_ERRNO(fs_->Create(kRootNodeId, "x", 0644, O_RDWR), EROFS);
  EXPECT_ERRNO(fs_->TmpFile(kRootNodeId, 0644, O_RDWR), EROFS);
  EXPECT_ERRNO(fs_->Unlink(kRootNodeId, "f"), EROFS);
  EXPECT_ERRNO(fs_->RmDir(kRootNodeId, "d"), EROFS);
  EXPECT_ERRNO(fs_->Rename(kRootNodeId, "f", kRootNodeId, "g"), EROFS);
  EXPECT_ERRNO(fs_->Link(f, kRootNodeId, "g"), EROFS);
  SetAttrRequest chmod;
  chmod.mode = 0600;
  EXPECT_ERRNO(fs_->SetAttr(f, chmod), EROFS);
  EXPECT_ERRNO(SetXattr(f, "user.a", "b"), EROFS);
  EXPECT_ERRNO(RemoveXattr(f, "user.a"), EROFS);
  // A read-only handle cannot write either (and the share refuses first).
  absl::StatusOr<OpenResult> open = fs_->Open(f, O_RDONLY);
  ASSERT_TRUE(open.ok());
  EXPECT_ERRNO(fs_->Write(f, open->handle, 0, "x"), EROFS);
  EXPECT_ERRNO(fs_->Fallocate(f, open->handle, 0, 10, 0), EROFS);
  EXPECT_TRUE(fs_->Release(f, open->handle).ok());
  // Nothing changed on the host.
  struct stat st;
  ASSERT_EQ(::stat((share_->path() + "/f").c_str(), &st), 0);
  EXPECT_EQ(st.st_size, 4);
}

TEST_F(PassthroughModifyTest, XattrsDisabledAnswerENOSYS) {
  MakeBackend(false, /*xattr=*/false);
  const NodeId f = Node("f");
  EXPECT_ERRNO(SetXattr(f, "user.a", "b"), ENOSYS);
  EXPECT_ERRNO(GetXattr(f, "user.a"), ENOSYS);
  EXPECT_ERRNO(ListXattr(f), ENOSYS);
  EXPECT_ERRNO(RemoveXattr(f, "user.a"), ENOSYS);
}

TEST_F(PassthroughModifyTest, XattrRoundTrip) {
  MakeBackend(false, /*xattr=*/true);
  const NodeId f = Node("f");
  absl::Status set = SetXattr(f, "user.color", "blue");
  if (ErrnoOf(set) == EOPNOTSUPP) GTEST_SKIP() << "host filesystem without user xattrs";
  ASSERT_TRUE(set.ok()) << set;
  absl::StatusOr<std::string> value = GetXattr(f, "user.color");
  ASSERT_TRUE(value.ok()) << value.status();
  EXPECT_EQ(*value, "blue");
  EXPECT_ERRNO(SetXattr(f, "user.color", "red", XATTR_CREATE), EEXIST);
  EXPECT_ERRNO(SetXattr(f, "user.other", "red", XATTR_REPLACE), ENODATA);
  absl::StatusOr<std::string> names = ListXattr(f);
  ASSERT_TRUE(names.ok());
  EXPECT_NE(names->find(std::string("user.color\0", 11)), std::string::npos);
  ASSERT_TRUE(RemoveXattr(f, "user.color").ok());
  EXPECT_ERRNO(GetXattr(f, "user.color"), ENODATA);
  EXPECT_ERRNO(GetXattr(f, ""), ERANGE);
  EXPECT_ERRNO(GetXattr(f, std::string(300, 'a')), ERANGE);
  EXPECT_ERRNO(SetXattr(f, "user.big", std::string(XATTR_SIZE_MAX + 1, 'v')), E2BIG);
  // Directory xattrs work the same way.
  ASSERT_TRUE(SetXattr(Node("d"), "user.dir", "yes").ok());
  EXPECT_EQ(*GetXattr(Node("d"), "user.dir"), "yes");
}

TEST_F(PassthroughModifyTest, XattrsOnSymlinksAreNotFollowed) {
  MakeBackend(false, /*xattr=*/true);
  const NodeId ln = Node("ln");
  EXPECT_ERRNO(SetXattr(ln, "user.a", "b"), EPERM);
  EXPECT_ERRNO(GetXattr(ln, "user.a"), ENODATA);
  absl::StatusOr<std::string> names = ListXattr(ln);
  ASSERT_TRUE(names.ok());
  EXPECT_EQ(*names, "");
  // The target did not get the attribute.
  char buf[8];
  EXPECT_LT(::getxattr((share_->path() + "/f").c_str(), "user.a", buf, sizeof(buf)), 0);
}

TEST_F(PassthroughModifyTest, FlockConflictsBetweenHandles) {
  MakeBackend(false, false);
  const NodeId f = Node("f");
  absl::StatusOr<OpenResult> a = fs_->Open(f, O_RDWR);
  absl::StatusOr<OpenResult> b = fs_->Open(f, O_RDWR);
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_TRUE(SetLk(f, a->handle, F_WRLCK, /*flock=*/true).ok());
  EXPECT_ERRNO(SetLk(f, b->handle, F_RDLCK, true), EAGAIN);
  ASSERT_TRUE(SetLk(f, a->handle, F_UNLCK, true).ok());
  EXPECT_TRUE(SetLk(f, b->handle, F_RDLCK, true).ok());
  // Releasing the handle drops its flock.
  EXPECT_TRUE(fs_->Release(f, b->handle).ok());
  EXPECT_TRUE(SetLk(f, a->handle, F_WRLCK, true).ok());
  EXPECT_TRUE(fs_->Release(f, a->handle).ok());
}

// Record locks belong to the lock owner (owner 1 on a, owner 2 on b here);
// passthrough_lock_test.cc has the owner semantics in detail.
TEST_F(PassthroughModifyTest, RecordLocksConflictBetweenOwners) {
  MakeBackend(false, false);
  const NodeId f = Node("f");
  absl::StatusOr<OpenResult> a = fs_->Open(f, O_RDWR);
  absl::StatusOr<OpenResult> b = fs_->Open(f, O_RDWR);
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_TRUE(SetLk(f, a->handle, F_WRLCK, false, 10, 19).ok());
  absl::StatusOr<FileLock> held = GetLk(f, b->handle, F_WRLCK, 2);
  ASSERT_TRUE(held.ok()) << held.status();
  EXPECT_EQ(held->type, static_cast<uint32_t>(F_WRLCK));
  EXPECT_EQ(held->start, 10u);
  EXPECT_EQ(held->end, 19u);
  EXPECT_ERRNO(SetLk(f, b->handle, F_WRLCK, false, 15, 30, 2), EAGAIN);
  EXPECT_TRUE(SetLk(f, b->handle, F_WRLCK, false, 20, 30, 2).ok());
  absl::StatusOr<FileLock> own = GetLk(f, a->handle, F_WRLCK);
  ASSERT_TRUE(own.ok());
  EXPECT_EQ(own->type, static_cast<uint32_t>(F_WRLCK));  // b's range conflicts
  EXPECT_ERRNO(SetLk(f, a->handle, 99, false), EINVAL);
  EXPECT_ERRNO(SetLk(f, a->handle, F_WRLCK, false, 20, 10), EINVAL);
  EXPECT_TRUE(fs_->Release(f, a->handle).ok());
  absl::StatusOr<FileLock> free_now = GetLk(f, b->handle, F_WRLCK, 2);
  ASSERT_TRUE(free_now.ok());
  EXPECT_EQ(free_now->type, static_cast<uint32_t>(F_UNLCK));
  EXPECT_TRUE(fs_->Release(f, b->handle).ok());
}

}  // namespace
}  // namespace vfsd
