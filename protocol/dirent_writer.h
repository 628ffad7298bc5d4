// The DirEntrySink for READDIR and READDIRPLUS: encodes fuse_dirent /
// fuse_direntplus records into the reply's guest buffers.
//
// Records are staged in the writer and reach guest memory in copies of up
// to kStageSize bytes (Flush()). Why: the reply buffer was last touched by
// the guest's CPU, so every cache line of it the daemon writes must first be
// taken from that CPU; written record by record (a few dozen bytes each)
// those transfers stall the writer one after the other (measured: ~100 µs
// of a 1000-entry READDIR listing's ~300 µs), while one large copy of whole
// lines overlaps them.
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

  // Copies the staged records into guest memory. Call before replying.
  void Flush();

  // Bytes of records written so far (staged ones included).
  size_t size() const { return used_; }
  size_t count() const { return count_; }

  // The encoded size of one record with a `name_len`-byte name.
  static size_t RecordSize(size_t name_len, bool plus);

 private:
  static constexpr size_t kStageSize = 4096;

  absl::Span<const iovec> out_;
  size_t offset_;
  size_t capacity_;
  bool plus_;
  uint64_t timeout_;
  bool submounts_;
  size_t used_ = 0;     // bytes of records, flushed or staged
  size_t flushed_ = 0;  // bytes already in guest memory
  size_t count_ = 0;
  alignas(64) char stage_[kStageSize];  // records [flushed_, used_)
};

}  // namespace vfsd

#endif  // VFSD_PROTOCOL_DIRENT_WRITER_H_
