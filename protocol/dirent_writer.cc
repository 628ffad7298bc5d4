#include "protocol/dirent_writer.h"

#include <linux/fuse.h>

#include <cstring>

#include "glog/logging.h"
#include "protocol/arg_reader.h"
#include "protocol/fuse_encode.h"
#include "protocol/iovec_io.h"

namespace vfsd {
namespace {

// One pass over the name. Not string_view::find_first_of (it builds a
// 256-entry table per call) nor two memchr calls: for the short names of a
// typical listing the calls cost more than the scan, per entry.
bool HasSlashOrNul(absl::string_view name) {
  bool bad = false;
  for (char c : name) bad |= (c == '/') | (c == '\0');
  return bad;
}

}  // namespace

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
  if (name_len == 0 || name_len > kMaxNameLength || HasSlashOrNul(dirent.name)) {
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
  // A record is at most 128 + 24 + 255 + 7 bytes, far less than the stage.
  static_assert(FUSE_NAME_OFFSET_DIRENTPLUS + kMaxNameLength + 8 <= kStageSize);
  if (used_ - flushed_ + record > kStageSize) Flush();
  // Every byte of the record is written below (the padding explicitly), so
  // no stale bytes of an earlier record reach the guest.
  char* const buf = stage_ + (used_ - flushed_);
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
  used_ += record;
  ++count_;
}

void DirentWriter::Flush() {
  if (used_ == flushed_) return;
  CopyToIovecs(out_, offset_ + flushed_, stage_, used_ - flushed_);
  flushed_ = used_;
}

}  // namespace vfsd
