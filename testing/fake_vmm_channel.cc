// VhostUserChannel: blocking unix-socket I/O with SCM_RIGHTS.
#include "testing/fake_vmm_channel.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "backends/errno_status.h"

namespace vfsd {

using vhost_user::MessageHeader;

absl::StatusOr<VhostUserChannel> VhostUserChannel::Connect(const std::string& socket_path,
                                                           absl::Duration timeout) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socket_path.size() >= sizeof(addr.sun_path)) {
    return absl::InvalidArgumentError(
        absl::StrCat("socket path too long for sockaddr_un: ", socket_path));
  }
  std::memcpy(addr.sun_path, socket_path.data(), socket_path.size());
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return ErrnoFromLastError("socket");
    if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
      return VhostUserChannel(fd);
    }
    const int err = errno;
    close(fd);
    if ((err != ENOENT && err != ECONNREFUSED) || absl::Now() >= deadline) {
      return ErrnoStatus(err, absl::StrCat("connect ", socket_path));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

VhostUserChannel::VhostUserChannel(VhostUserChannel&& other) noexcept : fd_(other.fd_) {
  other.fd_ = -1;
}

VhostUserChannel& VhostUserChannel::operator=(VhostUserChannel&& other) noexcept {
  if (this != &other) {
    Close();
    fd_ = other.fd_;
    other.fd_ = -1;
  }
  return *this;
}

VhostUserChannel::~VhostUserChannel() { Close(); }

void VhostUserChannel::Close() {
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
}

absl::Status VhostUserChannel::Send(vhost_user::Request request, uint32_t flags,
                                    absl::Span<const uint8_t> payload,
                                    absl::Span<const int> fds) {
  std::vector<uint8_t> bytes(sizeof(MessageHeader) + payload.size());
  const MessageHeader header{static_cast<uint32_t>(request), vhost_user::kVersion | flags,
                             static_cast<uint32_t>(payload.size())};
  std::memcpy(bytes.data(), &header, sizeof(header));
  if (!payload.empty()) {
    std::memcpy(bytes.data() + sizeof(header), payload.data(), payload.size());
  }
  return SendRaw(bytes, fds);
}

absl::Status VhostUserChannel::SendRaw(absl::Span<const uint8_t> bytes,
                                       absl::Span<const int> fds) {
  if (fd_ < 0) return absl::FailedPreconditionError("vhost-user channel is closed");
  if (fds.size() > vhost_user::kMaxFdsPerMessage) {
    return absl::InvalidArgumentError("too many fds for one vhost-user message");
  }
  iovec iov{const_cast<uint8_t*>(bytes.data()), bytes.size()};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * vhost_user::kMaxFdsPerMessage)];
  if (!fds.empty()) {
    msg.msg_control = control;
    msg.msg_controllen = CMSG_SPACE(sizeof(int) * fds.size());
    cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    cmsg->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
    std::memcpy(CMSG_DATA(cmsg), fds.data(), sizeof(int) * fds.size());
  }
  size_t sent = 0;
  while (sent < bytes.size()) {
    ssize_t n = sendmsg(fd_, &msg, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoFromLastError("sendmsg vhost-user");
    }
    sent += static_cast<size_t>(n);
    // Fds travel with the first byte only; send any remainder plainly.
    msg.msg_control = nullptr;
    msg.msg_controllen = 0;
    iov.iov_base = const_cast<uint8_t*>(bytes.data()) + sent;
    iov.iov_len = bytes.size() - sent;
  }
  return absl::OkStatus();
}

absl::Status VhostUserChannel::ReadFull(uint8_t* data, size_t len, absl::Time deadline) {
  size_t got = 0;
  while (got < len) {
    const int64_t ms = absl::ToInt64Milliseconds(deadline - absl::Now());
    if (ms <= 0) return absl::DeadlineExceededError("vhost-user reply timed out");
    pollfd pfd{fd_, POLLIN, 0};
    int r = poll(&pfd, 1, static_cast<int>(ms));
    if (r < 0 && errno != EINTR) return ErrnoFromLastError("poll vhost-user");
    if (r <= 0) continue;
    ssize_t n = recv(fd_, data + got, len - got, 0);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return ErrnoFromLastError("recv vhost-user");
    }
    if (n == 0) return absl::UnavailableError("daemon closed the vhost-user socket");
    got += static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

absl::StatusOr<VhostUserReply> VhostUserChannel::Receive(absl::Duration timeout) {
  if (fd_ < 0) return absl::FailedPreconditionError("vhost-user channel is closed");
  const absl::Time deadline = absl::Now() + timeout;
  VhostUserReply reply;
  absl::Status status =
      ReadFull(reinterpret_cast<uint8_t*>(&reply.header), sizeof(reply.header), deadline);
  if (!status.ok()) return status;
  // A reply larger than any defined payload means a broken daemon; do not
  // allocate whatever it claims.
  constexpr uint32_t kMaxReplyPayload = 4096;
  if (reply.header.size > kMaxReplyPayload) {
    return absl::DataLossError(absl::StrCat("vhost-user reply payload size ",
                                            reply.header.size, " is implausible"));
  }
  reply.payload.resize(reply.header.size);
  status = ReadFull(reply.payload.data(), reply.payload.size(), deadline);
  if (!status.ok()) return status;
  return reply;
}

absl::StatusOr<VhostUserReply> VhostUserChannel::ReceiveReplyTo(vhost_user::Request expected,
                                                                absl::Duration timeout) {
  absl::StatusOr<VhostUserReply> reply = Receive(timeout);
  if (!reply.ok()) return reply.status();
  const MessageHeader& h = reply->header;
  if (h.request != static_cast<uint32_t>(expected)) {
    return absl::DataLossError(absl::StrCat("expected reply to request ",
                                            static_cast<uint32_t>(expected), ", got ",
                                            h.request));
  }
  if ((h.flags & vhost_user::kFlagReply) == 0 ||
      (h.flags & vhost_user::kVersionMask) != vhost_user::kVersion) {
    return absl::DataLossError(absl::StrCat("bad reply flags 0x", absl::Hex(h.flags)));
  }
  return reply;
}

}  // namespace vfsd
