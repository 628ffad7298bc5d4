// The DirEntrySink for READDIR and READDIRPLUS: encodes fuse_dirent /
// fuse_direntplus records straight into the reply's guest buffers.
//
// Records are 8-byte aligned (FUSE_DIRENT_ALIGN) with zeroed padding, and
// never exceed the size the guest asked for: the kernel parses the buffer
// record by record and rejects a reply longer than its request.
#ifndef VFSD_PROTOCOL_DIRENT_WRITER_H_
#define VFSD_PROTOCOL_DIRENT_WRITER_H_

#include <sys/uio.h>

#include <cstddef>
#include <cstdint>

#include "absl/types/span.h"
#include "backends/backend.h"

namespace vfsd {

class DirentWriter : public DirEntrySink {
 public:
  // Writes records into `out` starting `offset` bytes in, at most
  // `capacity` bytes in total. `plus`: READDIRPLUS records carrying entries
  // with `timeout` (seconds) and the submount bit if negotiated.
  DirentWriter(absl::Span<const iovec> out, size_t offset, size_t capacity, bool plus,
               uint64_t timeout, bool submounts);

  bool Fits(size_t name_len) const override;
  void Add(const DirEntry& dirent, const Entry* entry) override;

  // Bytes of records written so far.
  size_t size() const { return used_; }
  size_t count() const { return count_; }

  // The encoded size of one record with a `name_len`-byte name.
  static size_t RecordSize(size_t name_len, bool plus);

 private:
  absl::Span<const iovec> out_;
  size_t offset_;
  size_t capacity_;
  bool plus_;
  uint64_t timeout_;
  bool submounts_;
  size_t used_ = 0;
  size_t count_ = 0;
};

}  // namespace vfsd

#endif  // VFSD_PROTOCOL_DIRENT_WRITER_H_
