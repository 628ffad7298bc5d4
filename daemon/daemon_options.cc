#include "daemon/daemon_options.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "backends/backend_registry.h"
#include "backends/id_translation/id_map.h"
#include "protocol/cache_policy.h"

namespace vfsd {
namespace {

absl::Status ValidateSharedDir(const std::string& dir) {
  if (dir.empty()) return absl::InvalidArgumentError("--shared-dir is required");
  struct stat st;
  if (stat(dir.c_str(), &st) != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("--shared-dir '", dir, "': ", strerror(errno)));
  }
  if (!S_ISDIR(st.st_mode)) {
    return absl::InvalidArgumentError(absl::StrCat("--shared-dir '", dir, "' is not a directory"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateDaemonOptions(const DaemonOptions& options) {
  if (options.socket_path.empty() && !options.socket_fd.has_value()) {
    return absl::InvalidArgumentError("--socket-path (or --fd) is required");
  }
  if (!options.socket_path.empty() && options.socket_fd.has_value()) {
    return absl::InvalidArgumentError("--socket-path and --fd are mutually exclusive");
  }
  if ((!options.translate_uid.empty() || !options.translate_gid.empty()) && options.posix_acl) {
    // ACL xattrs hold host ids the translation would not see (Rust
    // virtiofsd refuses the combination too).
    return absl::InvalidArgumentError(
        "--translate-uid/--translate-gid cannot be combined with --posix-acl");
  }
  for (const auto* mappings : {&options.translate_uid, &options.translate_gid}) {
    if (absl::StatusOr<IdMap> map = IdMap::Create(*mappings); !map.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(mappings == &options.translate_uid ? "--translate-uid: "
                                                          : "--translate-gid: ",
                       map.status().message()));
    }
  }
  const std::vector<std::string> backends = RegisteredBackends();
  if (std::find(backends.begin(), backends.end(), options.backend) == backends.end()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "unknown backend '", options.backend, "' (known: ", absl::StrJoin(backends, ", "), ")"));
  }
  if (options.backend == "passthrough") {
    if (absl::Status status = ValidateSharedDir(options.shared_dir); !status.ok()) return status;
  }
  if (options.sandbox != SandboxMode::kNone && options.shared_dir.empty()) {
    return absl::InvalidArgumentError(
        "--sandbox=namespace and --sandbox=chroot need --shared-dir (or use --sandbox=none)");
  }
  if (options.sandbox != SandboxMode::kNone) {
    if (absl::Status status = ValidateSharedDir(options.shared_dir); !status.ok()) return status;
  }
  if (absl::StatusOr<CacheMode> mode = ParseCacheMode(options.cache); !mode.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("--cache: ", mode.status().message()));
  }
  return absl::OkStatus();
}

}  // namespace vfsd
