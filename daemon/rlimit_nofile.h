// RLIMIT_NOFILE for the daemon (--rlimit-nofile): the passthrough backend
// holds one O_PATH fd per inode the guest knows, so the usual 1024 would
// cap the guest's dentry cache. Set before the sandbox: it reads
// /proc/sys/fs/file-max, which is gone after pivot_root.
#ifndef VFSD_DAEMON_RLIMIT_NOFILE_H_
#define VFSD_DAEMON_RLIMIT_NOFILE_H_

#include <cstdint>
#include <optional>

#include "absl/status/statusor.h"

namespace vfsd {

// virtiofsd's default: min(1000000, file_max - 16384), leaving the rest of
// the system 16384 fds; 0 if file_max is too small for that to make sense.
uint64_t DefaultNofileLimit(uint64_t file_max);

// With `requested`: sets soft and hard RLIMIT_NOFILE to it (errors if the
// kernel refuses). Without: raises both to DefaultNofileLimit(fs.file-max)
// if the current soft limit is lower, and otherwise leaves them. Returns
// the soft limit now in effect.
absl::StatusOr<uint64_t> SetNofileLimit(std::optional<uint64_t> requested);

}  // namespace vfsd

#endif  // VFSD_DAEMON_RLIMIT_NOFILE_H_
