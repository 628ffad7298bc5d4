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
namespace {

// A /proc/sys number, or 0 if unreadable.
uint64_t ReadProcSys(const char* path) {
  uint64_t value = 0;
  std::ifstream in(path);
  if (!(in >> value)) return 0;
  return value;
}

}  // namespace

uint64_t DefaultNofileLimit(uint64_t file_max) {
  constexpr uint64_t kReservedForSystem = 16384;
  constexpr uint64_t kMax = 1000000;
  if (file_max <= kReservedForSystem) return 0;
  return std::min(kMax, file_max - kReservedForSystem);
}

std::optional<NofileLimits> DefaultNofileRaise(NofileLimits current, uint64_t file_max,
                                               uint64_t nr_open) {
  uint64_t target = DefaultNofileLimit(file_max);
  // Above fs.nr_open the kernel refuses any RLIMIT_NOFILE (EPERM).
  if (nr_open > 0) target = std::min(target, nr_open);
  if (target <= current.soft) return std::nullopt;
  return NofileLimits{target, std::max(current.hard, target)};
}

absl::StatusOr<uint64_t> SetNofileLimit(std::optional<uint64_t> requested) {
  struct rlimit current;
  if (getrlimit(RLIMIT_NOFILE, &current) != 0) return ErrnoFromLastError("getrlimit(NOFILE)");
  if (requested.has_value()) {
    struct rlimit wanted = {static_cast<rlim_t>(*requested), static_cast<rlim_t>(*requested)};
    if (setrlimit(RLIMIT_NOFILE, &wanted) != 0) {
      const int err = errno;
      return ErrnoStatus(err, absl::StrCat("--rlimit-nofile: cannot set RLIMIT_NOFILE to ",
                                           *requested, ": ", strerror(err)));
    }
    VLOG(1) << "RLIMIT_NOFILE set to " << *requested;
    return *requested;
  }
  const uint64_t file_max = ReadProcSys("/proc/sys/fs/file-max");
  if (file_max == 0) {
    LOG(WARNING) << "cannot read /proc/sys/fs/file-max; leaving RLIMIT_NOFILE at "
                 << current.rlim_cur;
    return current.rlim_cur;
  }
  std::optional<NofileLimits> raise =
      DefaultNofileRaise({current.rlim_cur, current.rlim_max}, file_max,
                         ReadProcSys("/proc/sys/fs/nr_open"));
  if (!raise.has_value()) return current.rlim_cur;
  struct rlimit wanted = {static_cast<rlim_t>(raise->soft), static_cast<rlim_t>(raise->hard)};
  if (setrlimit(RLIMIT_NOFILE, &wanted) == 0) {
    VLOG(1) << "RLIMIT_NOFILE raised to " << raise->soft;
    return raise->soft;
  }
  // Raising the hard limit needs CAP_SYS_RESOURCE (quietly: the
  // administrator chose the hard limit); go as far as it allows.
  VLOG(1) << "cannot raise RLIMIT_NOFILE to " << raise->soft << " (" << strerror(errno)
          << "); raising it to the hard limit " << current.rlim_max;
  const rlim_t soft = std::min<rlim_t>(raise->soft, current.rlim_max);
  if (soft > current.rlim_cur) {
    current.rlim_cur = soft;
    if (setrlimit(RLIMIT_NOFILE, &current) != 0) return ErrnoFromLastError("setrlimit");
  }
  return current.rlim_cur;
}

}  // namespace vfsd
