#include "backends/passthrough/file_handle.h"

#include <fcntl.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "backends/errno_status.h"

namespace vfsd {
namespace {

// struct file_handle ends in a flexible array: room for the largest handle
// (MAX_HANDLE_SZ, 128 bytes) on the stack.
class HandleBuffer {
 public:
  struct file_handle& header() { return *reinterpret_cast<struct file_handle*>(storage_); }

 private:
  alignas(struct file_handle) unsigned char storage_[sizeof(struct file_handle) + MAX_HANDLE_SZ];
};

}  // namespace

absl::StatusOr<FileHandle> FileHandle::ForFd(int fd) {
  HandleBuffer buf;
  buf.header().handle_bytes = MAX_HANDLE_SZ;
  int mount_id = 0;
  if (::name_to_handle_at(fd, "", &buf.header(), &mount_id, AT_EMPTY_PATH) != 0) {
    return ErrnoFromLastError("name_to_handle_at");
  }
  if (buf.header().handle_bytes > MAX_HANDLE_SZ) {
    return ErrnoStatus(EOVERFLOW, "name_to_handle_at: handle larger than MAX_HANDLE_SZ");
  }
  return FileHandle(mount_id, buf.header().handle_type,
                    std::string(reinterpret_cast<const char*>(buf.header().f_handle),
                                buf.header().handle_bytes));
}

absl::StatusOr<ScopedFd> FileHandle::Open(int mount_fd, int flags) const {
  HandleBuffer buf;
  buf.header().handle_bytes = static_cast<unsigned int>(bytes_.size());
  buf.header().handle_type = type_;
  std::memcpy(buf.header().f_handle, bytes_.data(), bytes_.size());
  int fd;
  do {
    fd = ::open_by_handle_at(mount_fd, &buf.header(), flags | O_CLOEXEC);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return ErrnoFromLastError("open_by_handle_at");
  return ScopedFd(fd);
}

}  // namespace vfsd
