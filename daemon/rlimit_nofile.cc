#include "daemon/rlimit_nofile.h"

#include <sys/resource.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "backends/errno_status.h"
#include "glog/logging.h"

namespace vfsd {

uint64_t DefaultNofileLimit(uint64_t file_max) {
  constexpr uint64_t kReservedForSystem = 16384;
  constexpr uint64_t kMax = 1000000;
  if (file_max <= kReservedForSystem) return 0;
  return std::min(kMax, file_max - kReservedForSystem);
}

absl::StatusOr<uint64_t> SetNofileLimit(std::optional<uint64_t> requested) {
  struct rlimit current;
  if (getrlimit(RLIMIT_NOFILE, &current) != 0) return ErrnoFromLastError("getrlimit(NOFILE)");
  uint64_t target;
  if (requested.has_value()) {
    target = *requested;
  } else {
    uint64_t file_max = 0;
    std::ifstream in("/proc/sys/fs/file-max");
    if (!(in >> file_max)) {
      LOG(WARNING) << "cannot read /proc/sys/fs/file-max; leaving RLIMIT_NOFILE at "
                   << current.rlim_cur;
      return current.rlim_cur;
    }
    target = DefaultNofileLimit(file_max);
    if (target <= current.rlim_cur) return current.rlim_cur;
  }
  struct rlimit wanted = {static_cast<rlim_t>(target), static_cast<rlim_t>(target)};
  if (setrlimit(RLIMIT_NOFILE, &wanted) != 0) {
    const int err = errno;
    if (!requested.has_value()) {
      // Only our default: without CAP_SYS_RESOURCE the hard limit is the
      // ceiling (quietly: the administrator chose it).
      VLOG(1) << "cannot raise RLIMIT_NOFILE to " << target << " (" << strerror(err)
              << "); raising it to the hard limit " << current.rlim_max;
      if (current.rlim_cur < current.rlim_max) {
        current.rlim_cur = current.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &current) != 0) return ErrnoFromLastError("setrlimit");
      }
      return current.rlim_cur;
    }
    return ErrnoStatus(err, absl::StrCat("--rlimit-nofile: cannot set RLIMIT_NOFILE to ", target,
                                         ": ", strerror(err)));
  }
  VLOG(1) << "RLIMIT_NOFILE set to " << target;
  return target;
}

}  // namespace vfsd
