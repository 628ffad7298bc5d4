// DirReader: a cursor over the entries of an open host directory, read with
// getdents64, that an open directory handle keeps between READDIRs.
//
// READDIR must resume where the previous reply stopped; the cookie the guest
// sends back is the d_off of the last entry it received, which lseek()
// accepts on the same directory fd (telldir semantics: stable on every Linux
// filesystem even when entries are added or removed in between, unlike an
// entry index). getdents64 is used directly rather than readdir(3) because
// a DIR* keeps its own buffer and position that we would have to keep in
// sync with the guest's offsets, and it allocates.
//
// Why a cursor and not a seek per READDIR: a guest listing a directory sends
// READDIR after READDIR, each at the offset where the last one stopped. A
// seek there throws away what getdents64 already read, and on ext4 with
// hashed (htree) directories any change of f_pos makes the next getdents64
// rebuild its hash-ordered tree of a whole directory block, so seek+read per
// 4 KiB page cost O(block) per page and, for a big directory, more than the
// rest of the request path together. So the reader remembers the offset of
// the first entry it has not handed out (position()) with the entries it has
// buffered, and the caller seeks only when the guest asks for another offset
// (a rewind to 0, a seekdir, a retried page).
//
// The caller serialises use of the fd and the reader (OpenHandle::dir_mu).
#ifndef VFSD_BACKENDS_PASSTHROUGH_DIR_READER_H_
#define VFSD_BACKENDS_PASSTHROUGH_DIR_READER_H_

#include <cstddef>
#include <cstdint>
#include <memory>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace vfsd {

struct RawDirEntry {
  uint64_t ino = 0;
  uint64_t next_offset = 0;  // d_off: lseek() here to resume after this entry
  uint8_t type = 0;          // DT_*
  absl::string_view name;    // valid until the next Advance(), Next() or Seek()
};

class DirReader {
 public:
  // `dir_fd` is a directory opened for reading (not O_PATH); its file
  // position must not be moved by anyone else while the reader is in use.
  explicit DirReader(int dir_fd) : fd_(dir_fd) {}
  DirReader(const DirReader&) = delete;
  DirReader& operator=(const DirReader&) = delete;

  // A reader for `dir_fd` from a small process-wide pool, returned to it
  // when the last reference goes. Why: a guest listing directories opens and
  // releases a handle per listing, and a fresh 32 KiB buffer each time is
  // memory the allocator has often just given back to the kernel, so every
  // getdents64 into it page-faulted (measured: ~9 % of a readdir-heavy
  // daemon's CPU). Recycled buffers stay mapped.
  // `dir_fd` must be freshly opened and unread: the reader starts at offset
  // 0 without a seek (IsAt(0) is true).
  static std::shared_ptr<DirReader> Acquire(int dir_fd);

  // Positions the directory stream at `offset` (0 = the start, otherwise a
  // next_offset returned earlier on this fd) and drops the buffer. Offsets
  // the filesystem rejects yield the lseek errno (EINVAL).
  absl::Status Seek(uint64_t offset);

  // True when the next entry Peek() returns is the one a Seek(offset) would
  // return, so the caller may resume without seeking. Never true after a
  // failed Seek or getdents64 (the position is then unknown).
  bool IsAt(uint64_t offset) const { return positioned_ && position_ == offset; }

  // The next entry without consuming it, or null at the end of the
  // directory (a later call reads again: entries may have been added). The
  // entry is the reader's own, valid until the next call.
  absl::StatusOr<const RawDirEntry*> Peek();

  // Consumes the entry the last successful Peek() returned.
  void Advance();

  // Peek() and Advance() in one.
  absl::StatusOr<const RawDirEntry*> Next();

 private:
  // Forgets everything about the previous fd (pool reuse).
  void Reset(int dir_fd);

  // Several 4 KiB READDIR pages' worth of records per getdents64 (a record
  // is 24 bytes + name, 8-aligned; a fuse_dirent is the same size), so a
  // listing costs few syscalls. glibc's readdir(3) uses 32 KiB too.
  static constexpr size_t kBufferSize = 32768;

  int fd_;
  size_t pos_ = 0;             // next record in buf_
  size_t len_ = 0;             // bytes of records in buf_
  uint64_t position_ = 0;      // offset of the record at pos_ (see IsAt)
  bool positioned_ = false;    // position_ is known
  RawDirEntry peeked_;         // the record at pos_, once Peek() decoded it
  size_t peeked_reclen_ = 0;   // its length; 0 when nothing is peeked
  alignas(8) char buf_[kBufferSize];
};

}  // namespace vfsd

#endif  // VFSD_BACKENDS_PASSTHROUGH_DIR_READER_H_
