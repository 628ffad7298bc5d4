// Everything the vfsd binary is told on its command line, parsed once and
// validated before anything is started.
#ifndef VFSD_DAEMON_DAEMON_OPTIONS_H_
#define VFSD_DAEMON_DAEMON_OPTIONS_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"

namespace vfsd {

enum class LogLevel { kOff, kError, kWarn, kInfo, kDebug, kTrace };

struct DaemonOptions {
  // Where the vhost-user socket is created (or the inherited listening fd).
  std::string socket_path;
  std::optional<int> socket_fd;
  std::string socket_group;
  std::string backend = "passthrough";
  std::string shared_dir;
  std::string cache = "auto";
  // 0: requests run on their queue's thread.
  uint32_t thread_pool_size = 0;
  LogLevel log_level = LogLevel::kInfo;
  bool readonly = false;
  bool xattr = false;
  bool allow_direct_io = false;
  bool writeback = false;
  bool announce_submounts = false;
  bool print_capabilities = false;
  bool help = false;
  bool version = false;
};

// Checks what can be checked before starting: required flags present, the
// shared directory exists and is a directory, the backend is registered, the
// cache mode is known. Errors are one line for stderr.
absl::Status ValidateDaemonOptions(const DaemonOptions& options);

}  // namespace vfsd

#endif  // VFSD_DAEMON_DAEMON_OPTIONS_H_
