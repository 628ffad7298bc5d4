#include "transport/vhost_user_message.h"

#include <sys/socket.h>
#include <sys/uio.h>

#include <cerrno>

#include "absl/strings/str_format.h"

namespace vfsd {
namespace {

// Receives exactly `len` bytes, collecting any fds attached to them. With a
// stream socket the fds ride on the first byte of the sender's sendmsg, so
// every recvmsg asks for ancillary data. Returns Cancelled on EOF before any
// byte when `eof_ok`.
absl::Status ReceiveExactly(int fd, uint8_t* data, size_t len, bool eof_ok,
                            VhostUserMessage* message) {
  size_t done = 0;
  while (done < len) {
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * vhost_user::kMaxFdsPerMessage)];
    iovec iov{data + done, len - done};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof(control);
    ssize_t n = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
    if (n < 0) {
      if (errno == EINTR) continue;
      return absl::ErrnoToStatus(errno, "vhost-user socket read");
    }
    // Take ownership of whatever fds arrived before looking at anything else.
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
      const size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      for (size_t i = 0; i < count; ++i) {
        int received;
        std::memcpy(&received, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
        message->fds.emplace_back(received);
      }
    }
    if (msg.msg_flags & MSG_CTRUNC) message->fds_truncated = true;
    if (n == 0) {
      if (done == 0 && eof_ok) return absl::CancelledError("vhost-user front-end disconnected");
      return absl::DataLossError("vhost-user front-end disconnected in the middle of a message");
    }
    done += static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ReadVhostUserMessage(int socket_fd, VhostUserMessage* message) {
  message->payload.clear();
  message->fds.clear();
  message->fds_truncated = false;
  absl::Status status =
      ReceiveExactly(socket_fd, reinterpret_cast<uint8_t*>(&message->header),
                     sizeof(message->header), /*eof_ok=*/true, message);
  if (!status.ok()) return status;
  const vhost_user::MessageHeader& header = message->header;
  if ((header.flags & vhost_user::kVersionMask) != vhost_user::kVersion) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "vhost-user message %u has version %u, expected %u", header.request,
        header.flags & vhost_user::kVersionMask, vhost_user::kVersion));
  }
  if (header.size > kMaxVhostUserPayload) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "vhost-user message %u has a %u-byte payload (limit %u)", header.request, header.size,
        kMaxVhostUserPayload));
  }
  message->payload.resize(header.size);
  if (header.size == 0) return absl::OkStatus();
  return ReceiveExactly(socket_fd, message->payload.data(), header.size, /*eof_ok=*/false,
                        message);
}

absl::Status WriteVhostUserReply(int socket_fd, vhost_user::Request request,
                                 absl::Span<const uint8_t> payload) {
  vhost_user::MessageHeader header{static_cast<uint32_t>(request),
                                   vhost_user::kVersion | vhost_user::kFlagReply,
                                   static_cast<uint32_t>(payload.size())};
  iovec iov[2] = {{&header, sizeof(header)},
                  {const_cast<uint8_t*>(payload.data()), payload.size()}};
  size_t total = sizeof(header) + payload.size();
  size_t sent = 0;
  while (sent < total) {
    msghdr msg{};
    // Skip what was already sent (short writes are rare on unix sockets).
    iovec rest[2];
    int count = 0;
    size_t skip = sent;
    for (const iovec& v : iov) {
      if (skip >= v.iov_len) {
        skip -= v.iov_len;
        continue;
      }
      rest[count++] = {static_cast<uint8_t*>(v.iov_base) + skip, v.iov_len - skip};
      skip = 0;
    }
    msg.msg_iov = rest;
    msg.msg_iovlen = count;
    ssize_t n = sendmsg(socket_fd, &msg, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return absl::ErrnoToStatus(errno, "vhost-user reply");
    }
    sent += static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

}  // namespace vfsd
