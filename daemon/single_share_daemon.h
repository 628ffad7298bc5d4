// Runs one share for one VMM connection: listen, accept, serve until the VMM
// disconnects, clean up. This is what `vfsd --socket-path=... --shared-dir=...`
// does, as virtiofsd does for one device.
#ifndef VFSD_DAEMON_SINGLE_SHARE_DAEMON_H_
#define VFSD_DAEMON_SINGLE_SHARE_DAEMON_H_

#include "absl/status/status.h"
#include "daemon/daemon_options.h"

namespace vfsd {

// Returns OK when the VMM disconnected cleanly; an error (one line for
// stderr) when the share could not be set up or the connection failed.
// SIGINT/SIGTERM remove the socket and exit the process with status 0.
absl::Status RunSingleShareDaemon(const DaemonOptions& options);

}  // namespace vfsd

#endif  // VFSD_DAEMON_SINGLE_SHARE_DAEMON_H_
