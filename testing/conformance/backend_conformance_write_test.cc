// Conformance tests for the modifying operations (create, remove, rename,
// link, setattr, write and friends); same fixture as
// backend_conformance_test.cc.
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "backends/errno_status.h"
#include "gmock/gmock.h"
#include "testing/conformance/backend_conformance_test.h"
#include "testing/conformance/expect_errno.h"

namespace vfsd {
namespace {

constexpr size_t kBig = 1 << 20;

bool Listed(SyncBackend& fs, NodeId dir, const std::string& name) {
  auto all = fs.ReadAll(dir, false);
  if (!all.ok()) return false;
  for (const auto& record : *all) {
    if (record.name == name) return true;
  }
  return false;
}

TEST_P(BackendConformanceTest, MkDirCreatesDirectory) {
  absl::StatusOr<Entry> d = fs_->MkDir(kRootNodeId, "d", 0777, /*umask=*/022);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_TRUE(S_ISDIR(d->attr.mode));
  EXPECT_EQ(d->attr.mode & 07777, 0755u);
  absl::StatusOr<Entry> looked_up = fs_->Lookup(kRootNodeId, "d");
  ASSERT_TRUE(looked_up.ok());
  EXPECT_EQ(looked_up->node, d->node);
  EXPECT_TRUE(Listed(*fs_, kRootNodeId, "d"));
  EXPECT_ERRNO(fs_->MkDir(kRootNodeId, "d", 0755), EEXIST);
  EXPECT_ERRNO(fs_->MkDir(kRootNodeId, ".", 0755), EEXIST);
  EXPECT_ERRNO(fs_->MkDir(kRootNodeId, "a/b", 0755), EINVAL);
  EXPECT_ERRNO(fs_->MkDir(kRootNodeId, std::string(300, 'x'), 0755), ENAMETOOLONG);
}

TEST_P(BackendConformanceTest, MkDirUnderFileIsENOTDIR) {
  Populate({TreeItem::File("f")});
  absl::StatusOr<Entry> f = fs_->Lookup(kRootNodeId, "f");
  ASSERT_TRUE(f.ok());
  EXPECT_ERRNO(fs_->MkDir(f->node, "d", 0755), ENOTDIR);
}

TEST_P(BackendConformanceTest, CreateWriteRead) {
  absl::StatusOr<CreateResult> created = fs_->Create(kRootNodeId, "f", 0666, O_RDWR, 022);
  ASSERT_TRUE(created.ok()) << created.status();
  const NodeId node = created->entry.node;
  EXPECT_TRUE(S_ISREG(created->entry.attr.mode));
  EXPECT_EQ(created->entry.attr.mode & 07777, 0644u);
  EXPECT_EQ(created->entry.attr.size, 0u);
  absl::StatusOr<size_t> written = fs_->Write(node, created->open.handle, 0, "hello world");
  ASSERT_TRUE(written.ok()) << written.status();
  EXPECT_EQ(*written, 11u);
  written = fs_->Write(node, created->open.handle, 6, "there");
  ASSERT_TRUE(written.ok());
  absl::StatusOr<std::string> data = fs_->Read(node, created->open.handle, 0, kBig);
  ASSERT_TRUE(data.ok()) << data.status();
  EXPECT_EQ(*data, "hello there");
  EXPECT_TRUE(fs_->Fsync(node, created->open.handle, false).ok());
  EXPECT_TRUE(fs_->Fsync(node, created->open.handle, true).ok());
  EXPECT_TRUE(fs_->Flush(node, created->open.handle).ok());
  EXPECT_TRUE(fs_->Release(node, created->open.handle).ok());
  absl::StatusOr<Attr> attr = fs_->GetAttr(node);
  ASSERT_TRUE(attr.ok());
  EXPECT_EQ(attr->size, 11u);
  absl::StatusOr<Entry> looked_up = fs_->Lookup(kRootNodeId, "f");
  ASSERT_TRUE(looked_up.ok());
  EXPECT_EQ(looked_up->node, node);
}

TEST_P(BackendConformanceTest, CreateExistingName) {
  Populate({TreeItem::File("f", "old contents")});
  EXPECT_ERRNO(fs_->Create(kRootNodeId, "f", 0644, O_RDWR | O_EXCL), EEXIST);
  // Without O_EXCL the existing file is opened (and O_TRUNC truncates it).
  absl::StatusOr<CreateResult> opened = fs_->Create(kRootNodeId, "f", 0644, O_RDWR | O_TRUNC);
  ASSERT_TRUE(opened.ok()) << opened.status();
  absl::StatusOr<std::string> data = fs_->Read(opened->entry.node, opened->open.handle, 0, 100);
  ASSERT_TRUE(data.ok());
  EXPECT_EQ(*data, "");
  EXPECT_TRUE(fs_->Release(opened->entry.node, opened->open.handle).ok());
  Populate({TreeItem::Dir("d")});
  EXPECT_ERRNO(fs_->Create(kRootNodeId, "d", 0644, O_RDWR), EISDIR);
}

TEST_P(BackendConformanceTest, CreateOverSymlinkDoesNotFollow) {
  Populate({TreeItem::Symlink("link", "target_that_would_be_created")});
  EXPECT_ERRNO(fs_->Create(kRootNodeId, "link", 0644, O_RDWR), ELOOP);
  EXPECT_ERRNO(fs_->Lookup(kRootNodeId, "target_that_would_be_created"), ENOENT);
}

TEST_P(BackendConformanceTest, UnlinkAndRmDir) {
  Populate({TreeItem::File("f"), TreeItem::Dir("empty"), TreeItem::Dir("full"),
            TreeItem::File("full/x")});
  EXPECT_TRUE(fs_->Unlink(kRootNodeId, "f").ok());
  EXPECT_ERRNO(fs_->Lookup(kRootNodeId, "f"), ENOENT);
  EXPECT_ERRNO(fs_->Unlink(kRootNodeId, "f"), ENOENT);
  EXPECT_ERRNO(fs_->Unlink(kRootNodeId, "empty"), EISDIR);
  EXPECT_ERRNO(fs_->RmDir(kRootNodeId, "full"), ENOTEMPTY);
  EXPECT_ERRNO(fs_->RmDir(kRootNodeId, "full/x"), EINVAL);
  EXPECT_ERRNO(fs_->RmDir(kRootNodeId, "."), EINVAL);
  EXPECT_TRUE(fs_->RmDir(kRootNodeId, "empty").ok());
  EXPECT_ERRNO(fs_->Lookup(kRootNodeId, "empty"), ENOENT);
  absl::StatusOr<Entry> full = fs_->Lookup(kRootNodeId, "full");
  ASSERT_TRUE(full.ok());
  EXPECT_ERRNO(fs_->RmDir(full->node, "x"), ENOTDIR);
}

TEST_P(BackendConformanceTest, UnlinkedOpenFileStaysReadable) {
  Populate({TreeItem::File("f", "still here")});
  absl::StatusOr<Entry> f = fs_->Lookup(kRootNodeId, "f");
  ASSERT_TRUE(f.ok());
  absl::StatusOr<OpenResult> open = fs_->Open(f->node, O_RDONLY);
  ASSERT_TRUE(open.ok());
  ASSERT_TRUE(fs_->Unlink(kRootNodeId, "f").ok());
  absl::StatusOr<std::string> data = fs_->Read(f->node, open->handle, 0, 100);
  ASSERT_TRUE(data.ok());
  EXPECT_EQ(*data, "still here");
  absl::StatusOr<Attr> attr = fs_->GetAttr(f->node);
  ASSERT_TRUE(attr.ok());
  EXPECT_EQ(attr->nlink, 0u);
  EXPECT_TRUE(fs_->Release(f->node, open->handle).ok());
}

TEST_P(BackendConformanceTest, RenameMovesAndKeepsNode) {
  Populate({TreeItem::File("a", "A"), TreeItem::Dir("d")});
  absl::StatusOr<Entry> a = fs_->Lookup(kRootNodeId, "a");
  absl::StatusOr<Entry> d = fs_->Lookup(kRootNodeId, "d");
  ASSERT_TRUE(a.ok() && d.ok());
  ASSERT_TRUE(fs_->Rename(kRootNodeId, "a", d->node, "b").ok());
  EXPECT_ERRNO(fs_->Lookup(kRootNodeId, "a"), ENOENT);
  absl::StatusOr<Entry> b = fs_->Lookup(d->node, "b");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->node, a->node);
  EXPECT_TRUE(fs_->GetAttr(a->node).ok());
  EXPECT_ERRNO(fs_->Rename(kRootNodeId, "missing", kRootNodeId, "x"), ENOENT);
  EXPECT_ERRNO(fs_->Rename(d->node, "b", kRootNodeId, "x", 0x80), EINVAL);
}

TEST_P(BackendConformanceTest, RenameFlags) {
  Populate({TreeItem::File("a", "A"), TreeItem::File("b", "B")});
  EXPECT_ERRNO(fs_->Rename(kRootNodeId, "a", kRootNodeId, "b", RENAME_NOREPLACE), EEXIST);
  absl::Status exchanged = fs_->Rename(kRootNodeId, "a", kRootNodeId, "b", RENAME_EXCHANGE);
  if (ErrnoOf(exchanged) == EINVAL) GTEST_SKIP() << "filesystem without RENAME_EXCHANGE";
  ASSERT_TRUE(exchanged.ok()) << exchanged;
  absl::StatusOr<Entry> a = fs_->Lookup(kRootNodeId, "a");
  ASSERT_TRUE(a.ok());
  absl::StatusOr<OpenResult> open = fs_->Open(a->node, O_RDONLY);
  ASSERT_TRUE(open.ok());
  absl::StatusOr<std::string> data = fs_->Read(a->node, open->handle, 0, 10);
  ASSERT_TRUE(data.ok());
  EXPECT_EQ(*data, "B");
  EXPECT_TRUE(fs_->Release(a->node, open->handle).ok());
  // Plain rename replaces.
  EXPECT_TRUE(fs_->Rename(kRootNodeId, "a", kRootNodeId, "b").ok());
  EXPECT_ERRNO(fs_->Lookup(kRootNodeId, "a"), ENOENT);
}

TEST_P(BackendConformanceTest, LinkSharesNode) {
  Populate({TreeItem::File("f", "x"), TreeItem::Dir("d")});
  absl::StatusOr<Entry> f = fs_->Lookup(kRootNodeId, "f");
  absl::StatusOr<Entry> d = fs_->Lookup(kRootNodeId, "d");
  ASSERT_TRUE(f.ok() && d.ok());
  absl::StatusOr<Entry> link = fs_->Link(f->node, d->node, "g");
  ASSERT_TRUE(link.ok()) << link.status();
  EXPECT_EQ(link->node, f->node);
  EXPECT_EQ(link->attr.nlink, 2u);
  EXPECT_ERRNO(fs_->Link(f->node, d->node, "g"), EEXIST);
  EXPECT_ERRNO(fs_->Link(d->node, kRootNodeId, "d2"), EPERM);
}

TEST_P(BackendConformanceTest, SymlinkCreate) {
  absl::StatusOr<Entry> link = fs_->Symlink(kRootNodeId, "ln", "/etc/passwd");
  ASSERT_TRUE(link.ok()) << link.status();
  EXPECT_TRUE(S_ISLNK(link->attr.mode));
  absl::StatusOr<std::string> target = fs_->ReadLink(link->node);
  ASSERT_TRUE(target.ok());
  EXPECT_EQ(*target, "/etc/passwd");
  EXPECT_ERRNO(fs_->Open(link->node, O_RDONLY), ELOOP);
  EXPECT_ERRNO(fs_->Symlink(kRootNodeId, "ln", "x"), EEXIST);
  // A hard link to a symlink links the symlink itself.
  absl::StatusOr<Entry> hard = fs_->Link(link->node, kRootNodeId, "ln2");
  ASSERT_TRUE(hard.ok()) << hard.status();
  EXPECT_EQ(hard->node, link->node);
  EXPECT_TRUE(S_ISLNK(hard->attr.mode));
}

TEST_P(BackendConformanceTest, MkNodFifoAndRegular) {
  absl::StatusOr<Entry> fifo = fs_->MkNod(kRootNodeId, "fifo", S_IFIFO | 0644);
  ASSERT_TRUE(fifo.ok()) << fifo.status();
  EXPECT_TRUE(S_ISFIFO(fifo->attr.mode));
  absl::StatusOr<Entry> reg = fs_->MkNod(kRootNodeId, "reg", S_IFREG | 0600);
  ASSERT_TRUE(reg.ok()) << reg.status();
  EXPECT_TRUE(S_ISREG(reg->attr.mode));
  EXPECT_ERRNO(fs_->MkNod(kRootNodeId, "dir", S_IFDIR | 0755), EINVAL);
}

TEST_P(BackendConformanceTest, SetAttrSizeModeTimes) {
  Populate({TreeItem::File("f", "0123456789")});
  absl::StatusOr<Entry> f = fs_->Lookup(kRootNodeId, "f");
  ASSERT_TRUE(f.ok());
  SetAttrRequest truncate;
  truncate.size = 4;
  absl::StatusOr<Attr> attr = fs_->SetAttr(f->node, truncate);
  ASSERT_TRUE(attr.ok()) << attr.status();
  EXPECT_EQ(attr->size, 4u);
  SetAttrRequest chmod;
  chmod.mode = 0604;
  attr = fs_->SetAttr(f->node, chmod);
  ASSERT_TRUE(attr.ok());
  EXPECT_EQ(attr->mode & 07777, 0604u);
  EXPECT_TRUE(S_ISREG(attr->mode));
  SetAttrRequest times;
  times.atime_change = SetAttrRequest::TimeChange::kValue;
  times.atime = {1000000, 5};
  times.mtime_change = SetAttrRequest::TimeChange::kValue;
  times.mtime = {2000000, 7};
  attr = fs_->SetAttr(f->node, times);
  ASSERT_TRUE(attr.ok());
  EXPECT_EQ(attr->atime.sec, 1000000);
  EXPECT_EQ(attr->mtime.sec, 2000000);
  EXPECT_EQ(attr->mtime.nsec, 7u);
  SetAttrRequest now;
  now.mtime_change = SetAttrRequest::TimeChange::kNow;
  attr = fs_->SetAttr(f->node, now);
  ASSERT_TRUE(attr.ok());
  EXPECT_GT(attr->mtime.sec, 2000000);
  EXPECT_EQ(attr->atime.sec, 1000000);  // unchanged
  // Through an open handle, extending.
  absl::StatusOr<OpenResult> open = fs_->Open(f->node, O_RDWR);
  ASSERT_TRUE(open.ok());
  SetAttrRequest extend;
  extend.handle = open->handle;
  extend.size = 100;
  attr = fs_->SetAttr(f->node, extend);
  ASSERT_TRUE(attr.ok()) << attr.status();
  EXPECT_EQ(attr->size, 100u);
  EXPECT_TRUE(fs_->Release(f->node, open->handle).ok());
}

TEST_P(BackendConformanceTest, SetAttrSizeOfDirectoryIsEISDIR) {
  SetAttrRequest truncate;
  truncate.size = 0;
  EXPECT_ERRNO(fs_->SetAttr(kRootNodeId, truncate), EISDIR);
}

TEST_P(BackendConformanceTest, CreatedFilesBelongToTheCaller) {
  if (!target_->CanSetOwners()) GTEST_SKIP() << "cannot act as other users";
  Populate({TreeItem::Dir("pub", 0777), TreeItem::Dir("private", 0755)});
  absl::StatusOr<Entry> pub = fs_->Lookup(kRootNodeId, "pub");
  absl::StatusOr<Entry> priv = fs_->Lookup(kRootNodeId, "private");
  ASSERT_TRUE(pub.ok() && priv.ok());
  const RequestContext user{1000, 1000, 1};
  absl::StatusOr<CreateResult> f = fs_->Create(pub->node, "f", 0644, O_RDWR, 0, user);
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(f->entry.attr.uid, 1000u);
  EXPECT_EQ(f->entry.attr.gid, 1000u);
  EXPECT_TRUE(fs_->Release(f->entry.node, f->open.handle).ok());
  absl::StatusOr<Entry> d = fs_->MkDir(pub->node, "d", 0755, 0, user);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->attr.uid, 1000u);
  // The host checks permissions as the caller.
  EXPECT_ERRNO(fs_->MkDir(priv->node, "d", 0755, 0, user), EACCES);
  EXPECT_ERRNO(fs_->Create(priv->node, "f", 0644, O_RDWR, 0, user), EACCES);
  SetAttrRequest chown;
  chown.uid = 0;
  EXPECT_ERRNO(fs_->SetAttr(d->node, chown, user), EPERM);
  SetAttrRequest chmod;
  chmod.mode = 0777;
  EXPECT_ERRNO(fs_->SetAttr(priv->node, chmod, user), EPERM);
  // Root may chown.
  chown.uid = 2000;
  absl::StatusOr<Attr> attr = fs_->SetAttr(d->node, chown);
  ASSERT_TRUE(attr.ok()) << attr.status();
  EXPECT_EQ(attr->uid, 2000u);
}

TEST_P(BackendConformanceTest, WriteKillSuidgid) {
  Populate({TreeItem::File("f", "x", 06755)});
  absl::StatusOr<Entry> f = fs_->Lookup(kRootNodeId, "f");
  ASSERT_TRUE(f.ok());
  absl::StatusOr<OpenResult> open = fs_->Open(f->node, O_RDWR);
  ASSERT_TRUE(open.ok());
  WriteFlags flags;
  flags.kill_suidgid = true;
  ASSERT_TRUE(fs_->Write(f->node, open->handle, 0, "y", flags).ok());
  absl::StatusOr<Attr> attr = fs_->GetAttr(f->node);
  ASSERT_TRUE(attr.ok());
  EXPECT_EQ(attr->mode & 07777, 0755u);
  EXPECT_TRUE(fs_->Release(f->node, open->handle).ok());
}

TEST_P(BackendConformanceTest, FallocateLseekCopyFileRange) {
  absl::StatusOr<CreateResult> a = fs_->Create(kRootNodeId, "a", 0644, O_RDWR);
  absl::StatusOr<CreateResult> b = fs_->Create(kRootNodeId, "b", 0644, O_RDWR);
  ASSERT_TRUE(a.ok() && b.ok());
  const NodeId an = a->entry.node, bn = b->entry.node;
  const HandleId ah = a->open.handle, bh = b->open.handle;
  ASSERT_TRUE(fs_->Write(an, ah, 0, "abcdefgh").ok());
  absl::Status fallocated = fs_->Fallocate(an, ah, 0, 65536, 0);
  if (ErrnoOf(fallocated) != EOPNOTSUPP) {
    ASSERT_TRUE(fallocated.ok()) << fallocated;
    absl::StatusOr<Attr> attr = fs_->GetAttr(an);
    ASSERT_TRUE(attr.ok());
    EXPECT_EQ(attr->size, 65536u);
  }
  absl::StatusOr<uint64_t> data = fs_->Lseek(an, ah, 0, SEEK_DATA);
  ASSERT_TRUE(data.ok()) << data.status();
  EXPECT_EQ(*data, 0u);
  EXPECT_ERRNO(fs_->Lseek(an, ah, 0, SEEK_SET), EINVAL);
  EXPECT_ERRNO(fs_->Lseek(an, ah, 1 << 20, SEEK_DATA), ENXIO);
  absl::StatusOr<size_t> copied = fs_->CopyFileRange(an, ah, 2, bn, bh, 0, 4);
  ASSERT_TRUE(copied.ok()) << copied.status();
  EXPECT_EQ(*copied, 4u);
  absl::StatusOr<std::string> read = fs_->Read(bn, bh, 0, 100);
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(*read, "cdef");
  EXPECT_TRUE(fs_->Release(an, ah).ok());
  EXPECT_TRUE(fs_->Release(bn, bh).ok());
}

TEST_P(BackendConformanceTest, TmpFileIsUnnamed) {
  absl::StatusOr<CreateResult> tmp = fs_->TmpFile(kRootNodeId, 0600, O_RDWR);
  if (ErrnoOf(tmp.status()) == EOPNOTSUPP) GTEST_SKIP() << "filesystem without O_TMPFILE";
  ASSERT_TRUE(tmp.ok()) << tmp.status();
  EXPECT_EQ(tmp->entry.attr.nlink, 0u);
  ASSERT_TRUE(fs_->Write(tmp->entry.node, tmp->open.handle, 0, "tmp").ok());
  absl::StatusOr<std::string> data = fs_->Read(tmp->entry.node, tmp->open.handle, 0, 10);
  ASSERT_TRUE(data.ok());
  EXPECT_EQ(*data, "tmp");
  auto all = fs_->ReadAll(kRootNodeId, false);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 2u);  // "." and ".." only
  EXPECT_TRUE(fs_->Release(tmp->entry.node, tmp->open.handle).ok());
}

TEST_P(BackendConformanceTest, FsyncDirAndSyncFs) {
  absl::StatusOr<OpenResult> dir = fs_->OpenDir(kRootNodeId);
  ASSERT_TRUE(dir.ok());
  EXPECT_TRUE(fs_->FsyncDir(kRootNodeId, dir->handle, false).ok());
  EXPECT_TRUE(fs_->FsyncDir(kRootNodeId, dir->handle, true).ok());
  EXPECT_TRUE(fs_->ReleaseDir(kRootNodeId, dir->handle).ok());
  EXPECT_TRUE(fs_->SyncFs(kRootNodeId).ok());
}

}  // namespace
}  // namespace vfsd
