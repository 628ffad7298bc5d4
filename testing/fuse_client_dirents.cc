// Directory listing record parsers (see fuse_client_dirents.h).
#include "testing/fuse_client_dirents.h"

#include <algorithm>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace vfsd {
namespace {

constexpr size_t kDirentHeader = offsetof(fuse_dirent, name);  // 24 bytes

size_t Align8(size_t n) { return (n + 7) & ~size_t{7}; }

// Parses one fuse_dirent at data[pos]; advances pos past its padding.
absl::Status ParseOne(absl::Span<const uint8_t> data, size_t* pos, FuseDirEntry* out) {
  if (data.size() - *pos < kDirentHeader) {
    return absl::DataLossError(absl::StrCat("truncated dirent header at ", *pos));
  }
  fuse_dirent d;
  std::memcpy(&d, data.data() + *pos, kDirentHeader);
  if (d.namelen == 0 || d.namelen > 1024 ||
      d.namelen > data.size() - *pos - kDirentHeader) {
    return absl::DataLossError(absl::StrCat("dirent name length ", d.namelen, " at ", *pos,
                                            " overruns the reply"));
  }
  out->ino = d.ino;
  out->off = d.off;
  out->type = d.type;
  out->name.assign(reinterpret_cast<const char*>(data.data() + *pos + kDirentHeader),
                   d.namelen);
  // The final record's padding may be omitted by the daemon; clamp.
  *pos = std::min(data.size(), *pos + Align8(kDirentHeader + d.namelen));
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::vector<FuseDirEntry>> ParseFuseDirents(absl::Span<const uint8_t> data) {
  std::vector<FuseDirEntry> entries;
  size_t pos = 0;
  while (pos < data.size()) {
    FuseDirEntry e;
    absl::Status status = ParseOne(data, &pos, &e);
    if (!status.ok()) return status;
    entries.push_back(std::move(e));
  }
  return entries;
}

absl::StatusOr<std::vector<FuseDirEntryPlus>> ParseFuseDirentsPlus(
    absl::Span<const uint8_t> data) {
  std::vector<FuseDirEntryPlus> entries;
  size_t pos = 0;
  while (pos < data.size()) {
    FuseDirEntryPlus e;
    if (data.size() - pos < sizeof(fuse_entry_out)) {
      return absl::DataLossError(absl::StrCat("truncated direntplus entry at ", pos));
    }
    std::memcpy(&e.entry, data.data() + pos, sizeof(fuse_entry_out));
    pos += sizeof(fuse_entry_out);
    absl::Status status = ParseOne(data, &pos, &e.dirent);
    if (!status.ok()) return status;
    entries.push_back(std::move(e));
  }
  return entries;
}

void AppendFuseDirent(const FuseDirEntry& entry, std::vector<uint8_t>* out) {
  const size_t start = out->size();
  out->resize(start + Align8(kDirentHeader + entry.name.size()), 0);
  fuse_dirent d{};
  d.ino = entry.ino;
  d.off = entry.off;
  d.namelen = static_cast<uint32_t>(entry.name.size());
  d.type = entry.type;
  std::memcpy(out->data() + start, &d, kDirentHeader);
  std::memcpy(out->data() + start + kDirentHeader, entry.name.data(), entry.name.size());
}

void AppendFuseDirentPlus(const FuseDirEntryPlus& entry, std::vector<uint8_t>* out) {
  const size_t start = out->size();
  out->resize(start + sizeof(fuse_entry_out));
  std::memcpy(out->data() + start, &entry.entry, sizeof(fuse_entry_out));
  AppendFuseDirent(entry.dirent, out);
}

}  // namespace vfsd
