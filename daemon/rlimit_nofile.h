// RLIMIT_NOFILE for the daemon (--rlimit-nofile), as Rust virtiofsd's: the
// passthrough backend holds one O_PATH fd per inode the guest knows unless
// nodes are kept by file handle (--inode-file-handles), so the usual 1024
// would cap the guest's dentry cache. Set before the sandbox: it reads
// /proc/sys/fs/file-max and fs/nr_open, which are gone after pivot_root.
#ifndef VFSD_DAEMON_RLIMIT_NOFILE_H_
#define VFSD_DAEMON_RLIMIT_NOFILE_H_

#include <cstdint>
#include <optional>

#include "absl/status/statusor.h"

namespace vfsd {

// virtiofsd's default: min(1000000, file_max - 16384), leaving the rest of
// the system 16384 fds; 0 if file_max is too small for that to make sense.
uint64_t DefaultNofileLimit(uint64_t file_max);

struct NofileLimits {
  uint64_t soft = 0;
  uint64_t hard = 0;
  friend bool operator==(const NofileLimits& a, const NofileLimits& b) {
    return a.soft == b.soft && a.hard == b.hard;
  }
};

// What the default (no --rlimit-nofile) asks the kernel for, given the
// current limits, fs.file-max and fs.nr_open (0: unknown): the soft limit
// raised to min(DefaultNofileLimit(file_max), nr_open), the hard limit
// raised to match if needed (needs CAP_SYS_RESOURCE) and never lowered.
// nullopt when the soft limit is already there (nothing is ever lowered).
std::optional<NofileLimits> DefaultNofileRaise(NofileLimits current, uint64_t file_max,
                                               uint64_t nr_open);

// With `requested`: sets soft and hard RLIMIT_NOFILE to it (errors if the
// kernel refuses). Without: DefaultNofileRaise; if the kernel refuses to
// raise the hard limit (no CAP_SYS_RESOURCE), the soft limit goes as far as
// the hard one allows, as Rust virtiofsd's increase_nofile_limit. Returns
// the soft limit now in effect.
absl::StatusOr<uint64_t> SetNofileLimit(std::optional<uint64_t> requested);

}  // namespace vfsd

#endif  // VFSD_DAEMON_RLIMIT_NOFILE_H_
