// Command-line parsing for vfsd. Flags are spelled as Rust virtiofsd spells
// them (`--socket-path`, `--shared-dir`, `--cache`, `--thread-pool-size`,
// `--log-level`), accepting both `--flag=value` and `--flag value`, so the
// Cloud Hypervisor guide's command line works with `vfsd` in virtiofsd's place.
#ifndef VFSD_DAEMON_DAEMON_FLAGS_H_
#define VFSD_DAEMON_DAEMON_FLAGS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "daemon/daemon_options.h"

namespace vfsd {

// Parses argv[1..] (argv[0] is not included in `args`). Unknown flags,
// missing or malformed values and positional arguments are errors.
absl::StatusOr<DaemonOptions> ParseDaemonFlags(const std::vector<std::string>& args);

// The --help text: usage and every flag with its default.
std::string DaemonUsage();

}  // namespace vfsd

#endif  // VFSD_DAEMON_DAEMON_FLAGS_H_
