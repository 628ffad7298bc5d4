#include "protocol/dirent_writer.h"

#include <linux/fuse.h>

#include <cstring>

#include "glog/logging.h"
#include "protocol/arg_reader.h"
#include "protocol/fuse_encode.h"
#include "protocol/iovec_io.h"

namespace vfsd {

DirentWriter::DirentWriter(absl::Span<const iovec> out, size_t offset, size_t capacity,
                           bool plus, uint64_t timeout, bool submounts)
    : out_(out),
      offset_(offset),
      capacity_(capacity),
      plus_(plus),
      timeout_(timeout),
      submounts_(submounts) {}

size_t DirentWriter::RecordSize(size_t name_len, bool plus) {
  const size_t head = plus ? FUSE_NAME_OFFSET_DIRENTPLUS : FUSE_NAME_OFFSET;
  return FUSE_DIRENT_ALIGN(head + name_len);
}

bool DirentWriter::Fits(size_t name_len) const {
  if (name_len == 0 || name_len > kMaxNameLength) return true;  // Add() drops it, costs nothing
  return RecordSize(name_len, plus_) <= capacity_ - used_;
}

void DirentWriter::Add(const DirEntry& dirent, const Entry* entry) {
  const size_t name_len = dirent.name.size();
  // memchr, not string_view::find_first_of: the latter builds a 256-entry
  // table per call, a measurable cost per entry of a large listing.
  if (name_len == 0 || name_len > kMaxNameLength ||
      std::memchr(dirent.name.data(), '/', name_len) != nullptr ||
      std::memchr(dirent.name.data(), '\0', name_len) != nullptr) {
    // The kernel fails the whole READDIR on such a name (fuse_parse_dirfile:
    // namelen > FUSE_NAME_MAX or a '/'), so one bad host name would hide
    // the rest of the directory.
    LOG_EVERY_N(WARNING, 100) << "backend returned an invalid directory entry name of "
                              << name_len << " bytes; skipped";
    return;
  }
  const size_t record = RecordSize(name_len, plus_);
  if (record > capacity_ - used_) {
    LOG(WARNING) << "backend added a directory entry that does not fit; dropped";
    return;
  }
  // Assemble on the stack (at most 128 + 24 + 255 + 7 bytes), then one copy
  // into guest memory. Every byte of the record is written below (the
  // padding explicitly), so no stale stack bytes reach the guest without
  // zeroing the whole buffer per entry.
  alignas(8) char buf[FUSE_NAME_OFFSET_DIRENTPLUS + kMaxNameLength + 8];
  char* head = buf;
  if (plus_) {
    fuse_entry_out entry_out = {};
    // "." and ".." carry no entry: nodeid 0 tells the kernel not to
    // instantiate a dentry (fuse_direntplus_link).
    if (entry != nullptr) EncodeEntryOut(*entry, timeout_, submounts_, &entry_out);
    std::memcpy(head, &entry_out, sizeof(entry_out));
    head += sizeof(entry_out);
  }
  fuse_dirent d = {};
  d.ino = dirent.ino;
  d.off = dirent.next_offset;
  d.namelen = static_cast<uint32_t>(name_len);
  d.type = dirent.type;
  std::memcpy(head, &d, FUSE_NAME_OFFSET);
  std::memcpy(head + FUSE_NAME_OFFSET, dirent.name.data(), name_len);
  char* const end = head + FUSE_NAME_OFFSET + name_len;
  std::memset(end, 0, static_cast<size_t>(buf + record - end));  // 0..7 padding bytes
  CopyToIovecs(out_, offset_ + used_, buf, record);
  used_ += record;
  ++count_;
}

}  // namespace vfsd
