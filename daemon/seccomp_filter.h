// The seccomp allowlist vfsd installs after entering its sandbox
// (--seccomp): every syscall the serving daemon makes (transport, protocol,
// passthrough backend, glibc/abseil/glog underneath) and nothing else, so a
// compromised daemon cannot mount, ptrace, load modules, open sockets, etc.
#ifndef VFSD_DAEMON_SECCOMP_FILTER_H_
#define VFSD_DAEMON_SECCOMP_FILTER_H_

#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "daemon/daemon_options.h"

namespace vfsd {

// Syscall names (as libseccomp spells them) the daemon may make once it
// serves. Names this architecture lacks are skipped when building.
const std::vector<const char*>& AllowedSyscalls();

// A built (not yet loaded) libseccomp filter.
class SeccompFilter {
 public:
  // The allowlist with `action` for everything else. kNone is an error.
  static absl::StatusOr<SeccompFilter> Build(SeccompAction action);
  ~SeccompFilter();
  SeccompFilter(SeccompFilter&& other) noexcept
      : ctx_(other.ctx_), allowed_(std::move(other.allowed_)) {
    other.ctx_ = nullptr;
  }
  SeccompFilter& operator=(SeccompFilter&&) = delete;

  // True if `syscall_name` is let through (resolved for this architecture).
  bool Allows(const char* syscall_name) const;
  // The compiled BPF program's size in instructions (> 0 once built).
  absl::StatusOr<size_t> BpfInstructionCount() const;
  // Loads the filter into every thread of the process (TSYNC) and sets
  // no_new_privs. Irreversible.
  absl::Status Load();

 private:
  explicit SeccompFilter(void* ctx) : ctx_(ctx) {}
  void* ctx_;  // scmp_filter_ctx
  std::vector<int> allowed_;
};

// Builds and loads the filter for `action`; kNone does nothing. kTrap also
// installs a SIGSYS handler that prints the refused syscall's number to
// stderr and makes it fail with ENOSYS (to find what is missing).
absl::Status InstallSeccompFilter(SeccompAction action);

}  // namespace vfsd

#endif  // VFSD_DAEMON_SECCOMP_FILTER_H_
