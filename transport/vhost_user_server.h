// ServeVhostUserConnection: the message loop of one vhost-user front-end
// connection — read a message, let VhostUserDevice handle it, send its reply
// or REPLY_ACK — until the front-end disconnects.
#ifndef VFSD_TRANSPORT_VHOST_USER_SERVER_H_
#define VFSD_TRANSPORT_VHOST_USER_SERVER_H_

#include "absl/status/status.h"
#include "transport/queue_request.h"
#include "transport/vhost_user_device.h"

namespace vfsd {

// Serves one front-end connection until it disconnects (returns OkStatus) or
// a fatal protocol error (returns the error). Stops all queue workers and
// waits for every request handed to `handler` to complete before returning.
// Does not close `connection_fd`.
absl::Status ServeVhostUserConnection(int connection_fd, const VhostUserDeviceOptions& options,
                                      RequestHandler& handler);

}  // namespace vfsd

#endif  // VFSD_TRANSPORT_VHOST_USER_SERVER_H_
