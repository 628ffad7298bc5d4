// DirReader: getdents64 records decoded and handed out one at a time, with
// the resume offset tracked so consecutive READDIRs need no lseek.
#include "backends/passthrough/dir_reader.h"

#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>
#include <vector>

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

// Readers kept for reuse: enough for the directories a guest lists at once
// (one per request in flight is typical), bounded so a burst of OPENDIRs
// leaves at most this much memory behind (32 × 32 KiB).
constexpr size_t kPoolCapacity = 32;

struct ReaderPool {
  std::mutex mu;
  std::vector<std::unique_ptr<DirReader>> free;  // guarded by mu
};

ReaderPool& Pool() {
  static ReaderPool* const pool = new ReaderPool;  // never destroyed: no exit-order issue
  return *pool;
}

}  // namespace

std::shared_ptr<DirReader> DirReader::Acquire(int dir_fd) {
  std::unique_ptr<DirReader> reader;
  {
    ReaderPool& pool = Pool();
    std::lock_guard<std::mutex> lock(pool.mu);
    if (!pool.free.empty()) {
      reader = std::move(pool.free.back());
      pool.free.pop_back();
    }
  }
  if (reader == nullptr) reader = std::make_unique<DirReader>(dir_fd);
  reader->Reset(dir_fd);
  // A fresh fd is at the start: the first READDIR (offset 0) needs no lseek,
  // which on a hashed ext4 directory would also drop the kernel's readdir state.
  reader->positioned_ = true;
  return std::shared_ptr<DirReader>(reader.release(), [](DirReader* r) {
    std::unique_ptr<DirReader> owned(r);
    ReaderPool& pool = Pool();
    std::lock_guard<std::mutex> lock(pool.mu);
    if (pool.free.size() < kPoolCapacity) pool.free.push_back(std::move(owned));
  });
}

void DirReader::Reset(int dir_fd) {
  fd_ = dir_fd;
  pos_ = len_ = 0;
  position_ = 0;
  positioned_ = false;
  peeked_reclen_ = 0;
}

absl::Status DirReader::Seek(uint64_t offset) {
  pos_ = len_ = 0;
  peeked_reclen_ = 0;
  positioned_ = false;
  if (offset > static_cast<uint64_t>(INT64_MAX)) return ErrnoStatus(EINVAL, "readdir offset");
  if (::lseek(fd_, static_cast<off_t>(offset), SEEK_SET) < 0) {
    return ErrnoFromLastError("lseek(dir)");
  }
  position_ = offset;
  positioned_ = true;
  return absl::OkStatus();
}

absl::StatusOr<const RawDirEntry*> DirReader::Peek() {
  if (peeked_reclen_ != 0) return &peeked_;
  if (pos_ >= len_) {
    long n;
    do {
      n = ::syscall(SYS_getdents64, fd_, buf_, kBufferSize);
    } while (n < 0 && errno == EINTR);
    pos_ = len_ = 0;
    if (n < 0) {
      // The kernel may or may not have moved f_pos: resume only after a seek.
      positioned_ = false;
      return ErrnoFromLastError("getdents64");
    }
    len_ = static_cast<size_t>(n);
    if (len_ == 0) return nullptr;  // f_pos stays at the end: position_ is right
  }
  // The kernel fills the buffer, but a corrupt record length would walk us
  // off the buffer, so check it like any other input.
  if (len_ - pos_ < kHeaderSize) {
    positioned_ = false;
    return ErrnoStatus(EIO, "getdents64: truncated record");
  }
  // Field by field: one 19-byte copy of the header into a struct made the
  // compiler reload parts of it across two of its own stores (a stalled
  // store-to-load forward per entry, measurable on large listings).
  const char* const record = buf_ + pos_;
  uint64_t d_ino;
  int64_t d_off;
  uint16_t d_reclen;
  std::memcpy(&d_ino, record + offsetof(LinuxDirent64, d_ino), sizeof(d_ino));
  std::memcpy(&d_off, record + offsetof(LinuxDirent64, d_off), sizeof(d_off));
  std::memcpy(&d_reclen, record + offsetof(LinuxDirent64, d_reclen), sizeof(d_reclen));
  if (d_reclen < kHeaderSize || d_reclen > len_ - pos_) {
    positioned_ = false;
    return ErrnoStatus(EIO, "getdents64: bad record length");
  }
  const char* name = record + kHeaderSize;
  peeked_.ino = d_ino;
  peeked_.next_offset = static_cast<uint64_t>(d_off);
  peeked_.type = static_cast<uint8_t>(record[offsetof(LinuxDirent64, d_type)]);
  peeked_.name = absl::string_view(name, strnlen(name, d_reclen - kHeaderSize));
  peeked_reclen_ = d_reclen;
  return &peeked_;
}

void DirReader::Advance() {
  if (peeked_reclen_ == 0) return;
  pos_ += peeked_reclen_;
  position_ = peeked_.next_offset;
  peeked_reclen_ = 0;
}

absl::StatusOr<const RawDirEntry*> DirReader::Next() {
  absl::StatusOr<const RawDirEntry*> entry = Peek();
  if (entry.ok() && *entry != nullptr) Advance();
  return entry;
}

}  // namespace vfsd
