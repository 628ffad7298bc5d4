#include "transport/vhost_user_listener.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "glog/logging.h"

namespace vfsd {
namespace {

absl::Status PathError(int err, const std::string& path, const char* what) {
  return absl::ErrnoToStatus(err, absl::StrCat("vhost-user socket '", path, "': ", what));
}

enum class Liveness { kListening, kNotListening, kUnknown };

// Looks `path` up in /proc/net/unix without touching the socket: a probe
// connect() would be taken by a live single-connection daemon (vfsd,
// virtiofsd) as its VMM, which then sees EOF and exits. Sockets bound in
// another network namespace are not listed there (kUnknown).
Liveness LivenessFromProc(const std::string& path) {
  std::ifstream table("/proc/net/unix");
  if (!table) return Liveness::kUnknown;
  std::string line;
  std::getline(table, line);  // header
  bool seen = false;
  while (std::getline(table, line)) {
    // Num RefCount Protocol Flags Type St Inode Path
    std::istringstream fields(line);
    std::string num, refcount, protocol, flags, type, state, inode;
    if (!(fields >> num >> refcount >> protocol >> flags >> type >> state >> inode)) continue;
    std::string rest;
    std::getline(fields, rest);
    const size_t start = rest.find_first_not_of(' ');
    if (start == std::string::npos || rest.compare(start, std::string::npos, path) != 0) {
      continue;
    }
    seen = true;
    // __SO_ACCEPTCON: the socket is listening.
    if (std::strtoul(flags.c_str(), nullptr, 16) & 0x10000) return Liveness::kListening;
  }
  return seen ? Liveness::kNotListening : Liveness::kUnknown;
}

// True if something accepts connections on `addr` (a live daemon).
bool SomeoneListens(const sockaddr_un& addr) {
  switch (LivenessFromProc(addr.sun_path)) {
    case Liveness::kListening:
      return true;
    case Liveness::kNotListening:
      return false;
    case Liveness::kUnknown:
      break;  // fall back to a probe connection
  }
  UniqueFd probe(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!probe.valid()) return false;
  int rc;
  do {
    rc = connect(probe.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof(addr));
  } while (rc != 0 && errno == EINTR);
  // EAGAIN: the listener's backlog is full, so it is alive.
  return rc == 0 || errno == EAGAIN;
}

}  // namespace

absl::StatusOr<VhostUserListener> VhostUserListener::Bind(const std::string& socket_path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socket_path.empty() || socket_path.size() >= sizeof(addr.sun_path)) {
    return absl::InvalidArgumentError(absl::StrCat("vhost-user socket path '", socket_path,
                                                   "' must be 1..",
                                                   sizeof(addr.sun_path) - 1, " bytes"));
  }
  std::memcpy(addr.sun_path, socket_path.data(), socket_path.size());

  UniqueFd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return PathError(errno, socket_path, "socket()");
  for (int attempt = 0;; ++attempt) {
    if (bind(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) == 0) break;
    const int err = errno;
    if (err != EADDRINUSE || attempt > 0) {
      if (err == EADDRINUSE) return PathError(err, socket_path, "address in use");
      return PathError(err, socket_path, "cannot bind");
    }
    // Something is at the path. Only a socket nobody listens on (left by a
    // daemon that died) may be replaced; never delete another kind of file.
    struct stat st;
    if (lstat(socket_path.c_str(), &st) != 0) continue;  // vanished: retry bind
    if (!S_ISSOCK(st.st_mode)) {
      return absl::AlreadyExistsError(
          absl::StrCat("vhost-user socket '", socket_path, "': exists and is not a socket"));
    }
    if (SomeoneListens(addr)) {
      return absl::AlreadyExistsError(absl::StrCat(
          "vhost-user socket '", socket_path, "': address in use by a running listener"));
    }
    LOG(INFO) << "replacing stale vhost-user socket " << socket_path;
    if (unlink(socket_path.c_str()) != 0 && errno != ENOENT) {
      return PathError(errno, socket_path, "cannot remove stale socket");
    }
  }
  if (listen(fd.get(), 1) != 0) {
    const int err = errno;
    unlink(socket_path.c_str());
    return PathError(err, socket_path, "listen()");
  }
  return VhostUserListener(std::move(fd), socket_path);
}

absl::StatusOr<VhostUserListener> VhostUserListener::FromFd(int listening_fd) {
  int value = 0;
  socklen_t len = sizeof(value);
  if (getsockopt(listening_fd, SOL_SOCKET, SO_DOMAIN, &value, &len) != 0) {
    return absl::ErrnoToStatus(errno, absl::StrCat("--socket-fd ", listening_fd,
                                                   " is not a socket"));
  }
  if (value != AF_UNIX) {
    return absl::InvalidArgumentError(
        absl::StrCat("--socket-fd ", listening_fd, " is not a unix socket"));
  }
  len = sizeof(value);
  if (getsockopt(listening_fd, SOL_SOCKET, SO_TYPE, &value, &len) != 0 || value != SOCK_STREAM) {
    return absl::InvalidArgumentError(
        absl::StrCat("--socket-fd ", listening_fd, " is not a stream socket"));
  }
  len = sizeof(value);
  if (getsockopt(listening_fd, SOL_SOCKET, SO_ACCEPTCONN, &value, &len) != 0 || value == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("--socket-fd ", listening_fd, " is not listening"));
  }
  return VhostUserListener(UniqueFd(listening_fd), "");
}

absl::StatusOr<int> VhostUserListener::Accept() {
  for (;;) {
    int conn = accept4(fd_.get(), nullptr, nullptr, SOCK_CLOEXEC);
    if (conn >= 0) return conn;
    // Errors the next accept may not repeat (the peer gave up, a signal).
    if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO) continue;
    return absl::ErrnoToStatus(errno, "accept on vhost-user socket");
  }
}

}  // namespace vfsd
