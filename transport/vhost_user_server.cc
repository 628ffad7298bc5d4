#include "transport/vhost_user_server.h"

#include <cstring>

#include "absl/strings/str_cat.h"
#include "glog/logging.h"
#include "transport/vhost_user_message.h"

namespace vfsd {

absl::Status ServeVhostUserConnection(int connection_fd, const VhostUserDeviceOptions& options,
                                      RequestHandler& handler) {
  VhostUserDevice device(options, &handler);
  VhostUserMessage message;
  absl::Status result;
  for (;;) {
    absl::Status read = ReadVhostUserMessage(connection_fd, &message);
    if (absl::IsCancelled(read)) break;  // clean disconnect
    if (!read.ok()) {
      result = read;
      break;
    }
    VLOG(2) << "vhost-user request " << message.header.request << " size "
            << message.header.size << " fds " << message.fds.size();
    VhostUserDevice::Outcome outcome = device.Handle(message);
    message.fds.clear();  // close what the handler did not keep
    if (!outcome.status.ok()) {
      LOG(WARNING) << "vhost-user request " << message.header.request << " failed: "
                   << outcome.status;
    }
    if (outcome.fatal) {
      result = absl::InvalidArgumentError(
          absl::StrCat("vhost-user request ", message.header.request,
                       " cannot be answered: ", outcome.status.message()));
      break;
    }
    absl::Status written;
    if (outcome.has_reply) {
      written = WriteVhostUserReply(connection_fd, message.request(), outcome.reply);
    } else if (message.need_reply() && device.reply_ack()) {
      // vhost-user.rst REPLY_ACK: a u64, 0 for success, non-zero for failure.
      const uint64_t ack = outcome.status.ok() ? 0 : 1;
      uint8_t bytes[sizeof(ack)];
      std::memcpy(bytes, &ack, sizeof(ack));
      written = WriteVhostUserReply(connection_fd, message.request(), bytes);
    }
    if (!written.ok()) {
      // The front-end went away mid-reply: same as a disconnect.
      LOG(WARNING) << "vhost-user reply: " << written;
      break;
    }
  }
  device.Shutdown();
  return result;
}

}  // namespace vfsd
