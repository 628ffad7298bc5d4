// FileHandle and MountFdTable on the test's own filesystem: a handle
// re-opens the same file after renames, answers ESTALE once the file is
// gone, and needs a non-O_PATH mount fd; mount fds are shared per mount and
// closed with their last user.
#include "backends/passthrough/file_handle.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <string>

#include "absl/strings/str_cat.h"
#include "backends/errno_status.h"
#include "backends/passthrough/mount_fd_table.h"
#include "gtest/gtest.h"

namespace vfsd {
namespace {

class FileHandleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* tmp = std::getenv("TEST_TMPDIR");
    std::string templ = absl::StrCat(tmp ? tmp : "/tmp", "/fh.XXXXXX");
    ASSERT_NE(::mkdtemp(templ.data()), nullptr);
    dir_ = templ;
    dir_fd_ = ScopedFd(::open(dir_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    ASSERT_TRUE(dir_fd_.valid());
    absl::StatusOr<FileHandle> probe = FileHandle::ForFd(dir_fd_.get());
    if (!probe.ok()) GTEST_SKIP() << "no file handles on " << dir_ << ": " << probe.status();
    mount_fd_ = ScopedFd(::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    ASSERT_TRUE(mount_fd_.valid());
    absl::StatusOr<ScopedFd> reopened = probe->Open(mount_fd_.get(), O_PATH);
    if (!reopened.ok() && ErrnoOf(reopened.status()) == EPERM) {
      GTEST_SKIP() << "open_by_handle_at needs CAP_DAC_READ_SEARCH";
    }
  }

  ScopedFd OpenPath(const std::string& name) {
    return ScopedFd(::open(absl::StrCat(dir_, "/", name).c_str(),
                           O_PATH | O_NOFOLLOW | O_CLOEXEC));
  }

  static ino_t InodeOf(int fd) {
    struct stat st;
    return ::fstat(fd, &st) == 0 ? st.st_ino : 0;
  }

  std::string dir_;
  ScopedFd dir_fd_;
  ScopedFd mount_fd_;
};

TEST_F(FileHandleTest, ReopensTheSameFileAfterARename) {
  ScopedFd created(::open(absl::StrCat(dir_, "/a").c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0644));
  ASSERT_TRUE(created.valid());
  ScopedFd path = OpenPath("a");
  absl::StatusOr<FileHandle> handle = FileHandle::ForFd(path.get());
  ASSERT_TRUE(handle.ok()) << handle.status();
  ASSERT_EQ(::rename(absl::StrCat(dir_, "/a").c_str(), absl::StrCat(dir_, "/b").c_str()), 0);
  absl::StatusOr<ScopedFd> reopened = handle->Open(mount_fd_.get(), O_PATH | O_NOFOLLOW);
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  EXPECT_EQ(InodeOf(reopened->get()), InodeOf(path.get()));
  // Equal handles for the same file, different for another.
  absl::StatusOr<FileHandle> again = FileHandle::ForFd(reopened->get());
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(*again == *handle);
  absl::StatusOr<FileHandle> dir = FileHandle::ForFd(dir_fd_.get());
  ASSERT_TRUE(dir.ok());
  EXPECT_TRUE(*dir != *handle);
}

TEST_F(FileHandleTest, OpensASymlinkItselfWithOPath) {
  ASSERT_EQ(::symlink("/etc/passwd", absl::StrCat(dir_, "/link").c_str()), 0);
  ScopedFd path = OpenPath("link");
  absl::StatusOr<FileHandle> handle = FileHandle::ForFd(path.get());
  ASSERT_TRUE(handle.ok()) << handle.status();
  absl::StatusOr<ScopedFd> reopened = handle->Open(mount_fd_.get(), O_PATH | O_NOFOLLOW);
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  struct stat st;
  ASSERT_EQ(::fstat(reopened->get(), &st), 0);
  EXPECT_TRUE(S_ISLNK(st.st_mode));
}

TEST_F(FileHandleTest, DeletedFileIsStale) {
  ScopedFd created(::open(absl::StrCat(dir_, "/gone").c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0644));
  ASSERT_TRUE(created.valid());
  absl::StatusOr<FileHandle> handle = FileHandle::ForFd(created.get());
  ASSERT_TRUE(handle.ok());
  created.reset();
  ASSERT_EQ(::unlink(absl::StrCat(dir_, "/gone").c_str()), 0);
  ::sync();  // let the filesystem free the inode
  absl::StatusOr<ScopedFd> reopened = handle->Open(mount_fd_.get(), O_PATH);
  EXPECT_EQ(ErrnoOf(reopened.status()), ESTALE) << reopened.status();
}

TEST_F(FileHandleTest, AnOPathMountFdIsRefused) {
  absl::StatusOr<FileHandle> handle = FileHandle::ForFd(dir_fd_.get());
  ASSERT_TRUE(handle.ok());
  absl::StatusOr<ScopedFd> reopened = handle->Open(dir_fd_.get(), O_PATH);
  EXPECT_EQ(ErrnoOf(reopened.status()), EBADF) << reopened.status();
}

TEST_F(FileHandleTest, HandlesOfProcfsAreNotSupported) {
  ScopedFd proc(::open("/proc/self/status", O_PATH | O_CLOEXEC));
  ASSERT_TRUE(proc.valid());
  absl::StatusOr<FileHandle> handle = FileHandle::ForFd(proc.get());
  EXPECT_EQ(ErrnoOf(handle.status()), EOPNOTSUPP) << handle.status();
}

TEST_F(FileHandleTest, MountFdTableSharesOneFdPerMountWhileUsed) {
  ScopedFd proc_self_fd(::open("/proc/self/fd", O_PATH | O_DIRECTORY | O_CLOEXEC));
  MountFdTable table(proc_self_fd.get());
  absl::StatusOr<FileHandle> handle = FileHandle::ForFd(dir_fd_.get());
  ASSERT_TRUE(handle.ok());
  absl::StatusOr<std::shared_ptr<const ScopedFd>> a =
      table.Get(handle->mount_id(), dir_fd_.get(), S_IFDIR);
  ASSERT_TRUE(a.ok()) << a.status();
  absl::StatusOr<std::shared_ptr<const ScopedFd>> b =
      table.Get(handle->mount_id(), dir_fd_.get(), S_IFDIR);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(a->get(), b->get());
  EXPECT_EQ(table.size(), 1u);
  // Usable for open_by_handle_at (not O_PATH).
  EXPECT_TRUE(handle->Open((*a)->get(), O_PATH).ok());
  const int fd = (*a)->get();
  a->reset();
  b->reset();
  EXPECT_EQ(table.size(), 0u);
  EXPECT_EQ(::fcntl(fd, F_GETFD), -1) << "mount fd left open after its last user";
}

TEST_F(FileHandleTest, MountFdTableOpensFromAFileButNeverFromASpecialFile) {
  ScopedFd proc_self_fd(::open("/proc/self/fd", O_PATH | O_DIRECTORY | O_CLOEXEC));
  MountFdTable table(proc_self_fd.get());
  ScopedFd created(::open(absl::StrCat(dir_, "/f").c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0644));
  ASSERT_TRUE(created.valid());
  ScopedFd file = OpenPath("f");
  absl::StatusOr<FileHandle> handle = FileHandle::ForFd(file.get());
  ASSERT_TRUE(handle.ok());
  ASSERT_EQ(::mkfifo(absl::StrCat(dir_, "/fifo").c_str(), 0644), 0);
  ScopedFd fifo = OpenPath("fifo");
  // A FIFO would block (or a device act) if opened: refused.
  EXPECT_EQ(ErrnoOf(table.Get(handle->mount_id(), fifo.get(), S_IFIFO).status()), EOPNOTSUPP);
  absl::StatusOr<std::shared_ptr<const ScopedFd>> from_file =
      table.Get(handle->mount_id(), file.get(), S_IFREG);
  ASSERT_TRUE(from_file.ok()) << from_file.status();
  EXPECT_TRUE(handle->Open((*from_file)->get(), O_PATH).ok());
  // Once the mount has an fd, any node type on it shares it.
  EXPECT_TRUE(table.Get(handle->mount_id(), fifo.get(), S_IFIFO).ok());
}

}  // namespace
}  // namespace vfsd
