// Parsers for FUSE_READDIR / FUSE_READDIRPLUS reply payloads (a packed
// sequence of fuse_dirent / fuse_direntplus records, each padded to 8
// bytes, <linux/fuse.h> FUSE_DIRENT_ALIGN). Daemon output is checked, not
// trusted: a record that overruns the buffer is a DataLossError.
#ifndef VFSD_TESTING_FUSE_CLIENT_DIRENTS_H_
#define VFSD_TESTING_FUSE_CLIENT_DIRENTS_H_

#include <linux/fuse.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace vfsd {

struct FuseDirEntry {
  uint64_t ino;
  uint64_t off;  // cookie to resume after this entry
  uint32_t type;  // DT_* value
  std::string name;
};

struct FuseDirEntryPlus {
  fuse_entry_out entry;  // nodeid 0 means "no lookup was done" (e.g. "..")
  FuseDirEntry dirent;
};

absl::StatusOr<std::vector<FuseDirEntry>> ParseFuseDirents(absl::Span<const uint8_t> data);
absl::StatusOr<std::vector<FuseDirEntryPlus>> ParseFuseDirentsPlus(
    absl::Span<const uint8_t> data);

// Appends one record in wire format (for tests of the parsers and for
// fakes that need to produce directory listings).
void AppendFuseDirent(const FuseDirEntry& entry, std::vector<uint8_t>* out);
void AppendFuseDirentPlus(const FuseDirEntryPlus& entry, std::vector<uint8_t>* out);

}  // namespace vfsd

#endif  // VFSD_TESTING_FUSE_CLIENT_DIRENTS_H_
