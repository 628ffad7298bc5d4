// The front-end end of a vhost-user unix socket: connects (retrying while
// the daemon starts), sends messages with attached fds (SCM_RIGHTS) and
// reads replies. Also sends arbitrary raw bytes so tests can feed a daemon
// malformed messages (truncated headers, bad sizes, stray fds).
#ifndef VFSD_TESTING_FAKE_VMM_CHANNEL_H_
#define VFSD_TESTING_FAKE_VMM_CHANNEL_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "transport/vhost_user_protocol.h"

namespace vfsd {

struct VhostUserReply {
  vhost_user::MessageHeader header;
  std::vector<uint8_t> payload;
};

class VhostUserChannel {
 public:
  // Connects to `socket_path`, retrying ENOENT/ECONNREFUSED until `timeout`.
  static absl::StatusOr<VhostUserChannel> Connect(const std::string& socket_path,
                                                  absl::Duration timeout);
  VhostUserChannel(VhostUserChannel&& other) noexcept;
  VhostUserChannel& operator=(VhostUserChannel&& other) noexcept;
  ~VhostUserChannel();

  bool connected() const { return fd_ >= 0; }
  int fd() const { return fd_; }

  // Sends header {request, version|flags, payload.size()} + payload + fds.
  absl::Status Send(vhost_user::Request request, uint32_t flags,
                    absl::Span<const uint8_t> payload, absl::Span<const int> fds = {});
  // Sends `bytes` verbatim in one sendmsg (fds attached to it).
  absl::Status SendRaw(absl::Span<const uint8_t> bytes, absl::Span<const int> fds = {});
  // Reads one message: header then `size` payload bytes. Fails on EOF,
  // timeout, or a header without the REPLY flag for `expected` request.
  absl::StatusOr<VhostUserReply> Receive(absl::Duration timeout);
  absl::StatusOr<VhostUserReply> ReceiveReplyTo(vhost_user::Request expected,
                                                absl::Duration timeout);

  // Closes the socket (the daemon sees EOF / a disconnect).
  void Close();

 private:
  explicit VhostUserChannel(int fd) : fd_(fd) {}
  absl::Status ReadFull(uint8_t* data, size_t len, absl::Time deadline);

  int fd_ = -1;
};

// Encodes a POD payload as bytes.
template <typename T>
absl::Span<const uint8_t> AsBytes(const T& value) {
  return absl::Span<const uint8_t>(reinterpret_cast<const uint8_t*>(&value), sizeof(T));
}

}  // namespace vfsd

#endif  // VFSD_TESTING_FAKE_VMM_CHANNEL_H_
