#include "backends/passthrough/dir_reader.h"

#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "backends/errno_status.h"

namespace vfsd {
namespace {

// The kernel's struct linux_dirent64 (no glibc header declares it).
struct LinuxDirent64 {
  uint64_t d_ino;
  int64_t d_off;
  uint16_t d_reclen;
  uint8_t d_type;
  char d_name[];
};

constexpr size_t kHeaderSize = offsetof(LinuxDirent64, d_name);

}  // namespace

absl::Status DirReader::Seek(uint64_t offset) {
  pos_ = len_ = 0;
  if (offset > static_cast<uint64_t>(INT64_MAX)) return ErrnoStatus(EINVAL, "readdir offset");
  if (::lseek(fd_, static_cast<off_t>(offset), SEEK_SET) < 0) {
    return ErrnoFromLastError("lseek(dir)");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::optional<RawDirEntry>> DirReader::Next() {
  if (pos_ >= len_) {
    long n;
    do {
      n = ::syscall(SYS_getdents64, fd_, buf_, kBufferSize);
    } while (n < 0 && errno == EINTR);
    if (n < 0) return ErrnoFromLastError("getdents64");
    pos_ = 0;
    len_ = static_cast<size_t>(n);
    if (len_ == 0) return std::nullopt;
  }
  // The kernel fills the buffer, but a corrupt record length would walk us
  // off the buffer, so check it like any other input.
  if (len_ - pos_ < kHeaderSize) return ErrnoStatus(EIO, "getdents64: truncated record");
  LinuxDirent64 header;
  std::memcpy(&header, buf_ + pos_, kHeaderSize);
  if (header.d_reclen < kHeaderSize || header.d_reclen > len_ - pos_) {
    return ErrnoStatus(EIO, "getdents64: bad record length");
  }
  const char* name = buf_ + pos_ + kHeaderSize;
  const size_t name_len = strnlen(name, header.d_reclen - kHeaderSize);
  RawDirEntry entry;
  entry.ino = header.d_ino;
  entry.next_offset = static_cast<uint64_t>(header.d_off);
  entry.type = header.d_type;
  entry.name = absl::string_view(name, name_len);
  pos_ += header.d_reclen;
  return entry;
}

}  // namespace vfsd
