// Reading and writing vhost-user messages on the back-end's side of the unix
// socket: a 12-byte header, `size` payload bytes, and up to 8 file
// descriptors passed with SCM_RIGHTS. Every received fd is owned by the
// message (UniqueFd), so whatever a handler does not keep is closed.
#ifndef VFSD_TRANSPORT_VHOST_USER_MESSAGE_H_
#define VFSD_TRANSPORT_VHOST_USER_MESSAGE_H_

#include <cstdint>
#include <cstring>
#include <vector>

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "transport/unique_fd.h"
#include "transport/vhost_user_protocol.h"

namespace vfsd {

// Largest payload we accept. The biggest message we handle is SET_MEM_TABLE
// (8 + 8 * 32 bytes); anything much larger is not a vhost-user-fs request
// and we cannot trust its size to resynchronise on, so it ends the session.
inline constexpr uint32_t kMaxVhostUserPayload = 4096;

struct VhostUserMessage {
  vhost_user::MessageHeader header{};
  std::vector<uint8_t> payload;
  std::vector<UniqueFd> fds;
  // More fds were sent than we could receive (MSG_CTRUNC); the message must
  // be refused.
  bool fds_truncated = false;

  vhost_user::Request request() const {
    return static_cast<vhost_user::Request>(header.request);
  }
  bool need_reply() const { return header.flags & vhost_user::kFlagNeedReply; }

  // Copies the payload into `out` if it is exactly sizeof(T) bytes.
  template <typename T>
  bool PayloadAs(T* out) const {
    if (payload.size() != sizeof(T)) return false;
    std::memcpy(out, payload.data(), sizeof(T));
    return true;
  }
};

// Reads one message. Returns:
//  - OK with the message;
//  - CancelledError if the peer closed the socket cleanly between messages;
//  - another error for I/O failures, a truncated message, a bad version or an
//    oversized payload (the stream cannot be trusted after those).
absl::Status ReadVhostUserMessage(int socket_fd, VhostUserMessage* message);

// Sends a reply to `request`: header {request, version|REPLY, size} +
// payload, in one sendmsg (MSG_NOSIGNAL: a vanished peer is an error, not a
// SIGPIPE).
absl::Status WriteVhostUserReply(int socket_fd, vhost_user::Request request,
                                 absl::Span<const uint8_t> payload);

}  // namespace vfsd

#endif  // VFSD_TRANSPORT_VHOST_USER_MESSAGE_H_
