// vfsd: the virtio-fs daemon binary. Parses flags, validates them, and runs
// one share for one VMM connection (see single_share_daemon.h).
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "daemon/daemon_flags.h"
#include "daemon/daemon_options.h"
#include "daemon/log_setup.h"
#include "daemon/single_share_daemon.h"
#include "glog/logging.h"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  absl::StatusOr<vfsd::DaemonOptions> options = vfsd::ParseDaemonFlags(args);
  if (!options.ok()) {
    std::fprintf(stderr, "vfsd: %s\n", std::string(options.status().message()).c_str());
    return 2;
  }
  if (options->help) {
    std::fputs(vfsd::DaemonUsage().c_str(), stdout);
    return 0;
  }
  if (options->version) {
    std::puts("vfsd 0.1.0");
    return 0;
  }
  if (options->print_capabilities) {
    // The vhost-user backend description libvirt reads (QEMU's
    // docs/interop/vhost-user.json): a filesystem device, no migration.
    std::puts("{\n  \"type\": \"fs\"\n}");
    return 0;
  }
  if (absl::Status status = vfsd::ValidateDaemonOptions(*options); !status.ok()) {
    std::fprintf(stderr, "vfsd: %s\n", std::string(status.message()).c_str());
    return 2;
  }
  vfsd::SetUpLogging(argv[0], options->log_level);
  int exit_code = 0;
  if (absl::Status status = vfsd::RunSingleShareDaemon(*options); !status.ok()) {
    std::fprintf(stderr, "vfsd: %s\n", std::string(status.message()).c_str());
    exit_code = 1;
  }
  if (options->sandbox != vfsd::SandboxMode::kNone ||
      options->seccomp != vfsd::SeccompAction::kNone) {
    // Leave without exit-time hooks: inside the sandbox they cannot do their
    // job (LeakSanitizer's exit check in sanitizer builds stops the world
    // with ptrace from a helper thread, which seccomp and the dropped
    // capabilities forbid, and would spin forever). Nothing is left to flush
    // but the logs.
    google::FlushLogFiles(google::GLOG_INFO);
    std::fflush(nullptr);
    _exit(exit_code);
  }
  return exit_code;
}
