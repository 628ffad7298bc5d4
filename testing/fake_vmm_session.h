// FakeVmmSession bundles what every integration test and the benchmark
// needs: a daemon process spawned from a command template, a FakeVmm that
// completed the handshake against it, and an initialised FuseClient on
// request queue 0. Also the placeholders and temp-dir helpers they share.
//
// Command templates use {socket} and {dir}, e.g. the reference daemon:
//   /usr/lib/qemu/virtiofsd --socket-path={socket} -o source={dir}
//       -o cache=auto -o sandbox=chroot
#ifndef VFSD_TESTING_FAKE_VMM_SESSION_H_
#define VFSD_TESTING_FAKE_VMM_SESSION_H_

#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "testing/fake_vmm.h"
#include "testing/fake_vmm_daemon_process.h"
#include "testing/fuse_client.h"

namespace vfsd {

// A daemon to drive: a display name and a command template.
struct DaemonSpec {
  std::string name;
  std::string command;
};
// For gtest parameter names in failure messages.
inline void PrintTo(const DaemonSpec& spec, std::ostream* os) { *os << spec.name; }

// Debian's reference C virtiofsd (QEMU 7.2), which serves one connection.
inline constexpr char kReferenceVirtiofsd[] = "/usr/lib/qemu/virtiofsd";
DaemonSpec ReferenceDaemonSpec();

// The daemons integration tests run against: the reference virtiofsd if it
// is installed, plus every "name=command" in $VFSD_TEST_DAEMONS (separated
// by ';'), which is how //daemon:vfsd is added.
std::vector<DaemonSpec> DaemonsUnderTest();

// A fresh directory under $TEST_TMPDIR (or /tmp). Not removed.
absl::StatusOr<std::string> MakeTempDir(const std::string& prefix);
// A socket path short enough for sockaddr_un (108 bytes): under
// $TEST_TMPDIR if that fits, else in a fresh /tmp directory.
absl::StatusOr<std::string> MakeSocketPath();
// Removes a MakeSocketPath() socket and its directory.
void RemoveSocketPath(const std::string& socket_path);

struct FakeVmmSessionOptions {
  FakeVmmOptions vmm;  // socket_path is filled in
  FuseClientOptions client;
  bool init = true;    // send FUSE_INIT with the default flags
  std::string daemon_log_path;  // daemon stdout/stderr; empty: inherit ours
};

struct FakeVmmSession {
  std::unique_ptr<DaemonProcess> daemon;
  std::unique_ptr<FakeVmm> vmm;
  std::unique_ptr<FuseClient> fuse;
  fuse_init_out init_out{};
  std::string socket_path;

  // Spawns `spec` serving `shared_dir`, connects, handshakes, INITs.
  static absl::StatusOr<std::unique_ptr<FakeVmmSession>> Start(
      const DaemonSpec& spec, const std::string& shared_dir,
      const FakeVmmSessionOptions& options = {});
  // Disconnects, then kills and reaps the daemon.
  ~FakeVmmSession();
};

}  // namespace vfsd

#endif  // VFSD_TESTING_FAKE_VMM_SESSION_H_
