// DirReader: the entries of an open host directory, read with getdents64.
//
// READDIR must resume where the previous reply stopped; the cookie the guest
// sends back is the d_off of the last entry it received, which lseek()
// accepts on the same directory fd (telldir semantics: stable on every Linux
// filesystem even when entries are added or removed in between, unlike an
// entry index). getdents64 is used directly rather than readdir(3) because
// a DIR* keeps its own buffer and position that we would have to keep in
// sync with the guest's offsets, and it allocates.
//
// A DirReader lives on the stack of one READDIR call: it owns no fd and no
// heap memory; the caller serialises use of the fd (OpenHandle::dir_mu).
#ifndef VFSD_BACKENDS_PASSTHROUGH_DIR_READER_H_
#define VFSD_BACKENDS_PASSTHROUGH_DIR_READER_H_

#include <cstddef>
#include <cstdint>
#include <optional>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace vfsd {

struct RawDirEntry {
  uint64_t ino = 0;
  uint64_t next_offset = 0;  // d_off: lseek() here to resume after this entry
  uint8_t type = 0;          // DT_*
  absl::string_view name;    // valid until the next call to Next()
};

class DirReader {
 public:
  // `dir_fd` is a directory opened for reading (not O_PATH).
  explicit DirReader(int dir_fd) : fd_(dir_fd) {}
  DirReader(const DirReader&) = delete;
  DirReader& operator=(const DirReader&) = delete;

  // Positions the directory stream at `offset` (0 = the start, otherwise a
  // next_offset returned earlier on this fd). Offsets the filesystem rejects
  // yield the lseek errno (EINVAL).
  absl::Status Seek(uint64_t offset);

  // The next entry, or nullopt at the end of the directory.
  absl::StatusOr<std::optional<RawDirEntry>> Next();

 private:
  // Big enough for a page-sized guest READDIR reply in one or two syscalls.
  static constexpr size_t kBufferSize = 8192;

  int fd_;
  size_t pos_ = 0;
  size_t len_ = 0;
  alignas(8) char buf_[kBufferSize];
};

}  // namespace vfsd

#endif  // VFSD_BACKENDS_PASSTHROUGH_DIR_READER_H_
