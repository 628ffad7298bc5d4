// Capability reduction (libcap-ng) once the sandbox is entered: the daemon
// keeps only what serving guest requests with the guest's credentials
// needs, the same default set as Rust virtiofsd, edited by --modcaps.
#ifndef VFSD_DAEMON_CAPABILITIES_H_
#define VFSD_DAEMON_CAPABILITIES_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "daemon/daemon_options.h"

namespace vfsd {

// virtiofsd's defaults: chown, dac_override, fowner, fsetid, setgid,
// setuid, mknod, setfcap (lower-case capabilities(7) names without "cap_").
const std::vector<std::string>& DefaultCapabilities();

// The default set with `changes` applied in order; unknown names are an
// error naming the flag.
absl::StatusOr<std::vector<std::string>> CapabilitiesToKeep(
    const std::vector<CapabilityChange>& changes);
// The same, plus dac_read_search in the default set when
// `inode_file_handles` (--inode-file-handles=prefer|mandatory):
// open_by_handle_at(2) needs CAP_DAC_READ_SEARCH, as in Rust virtiofsd.
// --modcaps can still drop it (the backend then holds fds; mandatory fails).
absl::StatusOr<std::vector<std::string>> CapabilitiesToKeep(
    const std::vector<CapabilityChange>& changes, bool inode_file_handles);

// Clears every capability but `keep` from the effective and permitted sets
// (and the bounding set when the process may change it, so an exec could
// not regain any). Affects the calling thread only: call it before starting
// other threads.
absl::Status DropCapabilities(const std::vector<std::string>& keep);

}  // namespace vfsd

#endif  // VFSD_DAEMON_CAPABILITIES_H_
