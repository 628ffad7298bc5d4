#include "testing/conformance/host_tree.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "backends/errno_status.h"

namespace vfsd {

absl::Status CreateHostTree(const std::string& root, absl::Span<const TreeItem> items) {
  for (const TreeItem& item : items) {
    const std::string path = absl::StrCat(root, "/", item.path);
    switch (item.kind) {
      case TreeItem::Kind::kDir:
        if (::mkdir(path.c_str(), item.mode) != 0) return ErrnoFromLastError(path);
        // mkdir applies the umask; the tree wants the exact mode.
        if (::chmod(path.c_str(), item.mode) != 0) return ErrnoFromLastError(path);
        break;
      case TreeItem::Kind::kFile: {
        int fd = ::open(path.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, item.mode);
        if (fd < 0) return ErrnoFromLastError(path);
        size_t done = 0;
        while (done < item.data.size()) {
          ssize_t n = ::write(fd, item.data.data() + done, item.data.size() - done);
          if (n < 0) {
            absl::Status status = ErrnoFromLastError(path);
            ::close(fd);
            return status;
          }
          done += static_cast<size_t>(n);
        }
        ::close(fd);
        if (::chmod(path.c_str(), item.mode) != 0) return ErrnoFromLastError(path);
        break;
      }
      case TreeItem::Kind::kSymlink:
        if (::symlink(item.data.c_str(), path.c_str()) != 0) return ErrnoFromLastError(path);
        break;
      case TreeItem::Kind::kHardLink: {
        const std::string existing = absl::StrCat(root, "/", item.data);
        if (::link(existing.c_str(), path.c_str()) != 0) return ErrnoFromLastError(path);
        break;
      }
    }
    if (item.uid.has_value() || item.gid.has_value()) {
      if (::lchown(path.c_str(), item.uid.value_or(-1), item.gid.value_or(-1)) != 0) {
        return ErrnoFromLastError(path);
      }
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<TempShare> TempShare::Create() {
  const char* base = ::getenv("TEST_TMPDIR");
  std::string tmpl = absl::StrCat(base != nullptr ? base : "/tmp", "/share_XXXXXX");
  if (::mkdtemp(tmpl.data()) == nullptr) return ErrnoFromLastError("mkdtemp");
  return TempShare(std::move(tmpl));
}

TempShare::~TempShare() {
  if (path_.empty()) return;
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

}  // namespace vfsd
