// DaemonProcess spawns a vhost-user-fs daemon from a command-line template,
// waits for its socket to appear, samples its CPU time, and kills and reaps
// it. Tests and the benchmark use it so the same code drives Debian's
// reference virtiofsd and our //daemon:vfsd.
//
// Waiting for the socket only stat()s the path: virtiofsd serves exactly
// one connection, so probing it by connecting would use that up.
#ifndef VFSD_TESTING_FAKE_VMM_DAEMON_PROCESS_H_
#define VFSD_TESTING_FAKE_VMM_DAEMON_PROCESS_H_

#include <sys/types.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace vfsd {

// Splits `command` on whitespace (single and double quotes group words) and
// replaces every "{key}" with values.at(key). Unknown keys are an error.
absl::StatusOr<std::vector<std::string>> ExpandDaemonCommand(
    absl::string_view command, const std::map<std::string, std::string>& values);

class DaemonProcess {
 public:
  // fork+exec argv (argv[0] is a path), then waits until `socket_path`
  // is a socket; fails early with the exit status if the child dies. The
  // daemon's stdout/stderr go to `log_path` (appended) if set, else ours.
  static absl::StatusOr<std::unique_ptr<DaemonProcess>> Spawn(
      const std::vector<std::string>& argv, const std::string& socket_path,
      absl::Duration timeout = absl::Seconds(20), const std::string& log_path = "");
  ~DaemonProcess();  // Kill()
  DaemonProcess(const DaemonProcess&) = delete;
  DaemonProcess& operator=(const DaemonProcess&) = delete;

  pid_t pid() const { return pid_; }
  bool running();

  // utime+stime of the daemon and its descendants (a sandbox may fork the
  // worker), from /proc/PID/stat, in seconds.
  absl::StatusOr<double> CpuSeconds() const;

  // Waits up to `timeout` for the daemon to exit by itself; returns its
  // wait status.
  absl::StatusOr<int> WaitForExit(absl::Duration timeout);
  // SIGTERM, then SIGKILL after `grace`; reaps. Idempotent.
  void Kill(absl::Duration grace = absl::Seconds(2));

 private:
  explicit DaemonProcess(pid_t pid) : pid_(pid) {}
  pid_t pid_;
  bool reaped_ = false;
  int wait_status_ = 0;
};

}  // namespace vfsd

#endif  // VFSD_TESTING_FAKE_VMM_DAEMON_PROCESS_H_
