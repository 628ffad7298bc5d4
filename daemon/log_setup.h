// Maps --log-level onto glog: everything goes to stderr (like virtiofsd);
// debug and trace enable VLOG(1) / VLOG(2) per-request logging.
#ifndef VFSD_DAEMON_LOG_SETUP_H_
#define VFSD_DAEMON_LOG_SETUP_H_

#include "daemon/daemon_options.h"

namespace vfsd {

void SetUpLogging(const char* argv0, LogLevel level);

}  // namespace vfsd

#endif  // VFSD_DAEMON_LOG_SETUP_H_
