// VhostUserListener: the listening unix socket a VMM connects to. Binds a
// path (replacing a stale socket file nobody listens on, refusing one a live
// daemon serves) or adopts an inherited listening fd, and accepts
// connections.
#ifndef VFSD_TRANSPORT_VHOST_USER_LISTENER_H_
#define VFSD_TRANSPORT_VHOST_USER_LISTENER_H_

#include <string>

#include "absl/status/statusor.h"
#include "transport/unique_fd.h"

namespace vfsd {

class VhostUserListener {
 public:
  // Creates and listens on `socket_path`. Errors (all naming the path):
  // "address in use" if a live listener owns it, a non-socket file in the
  // way, path too long for sockaddr_un, directory missing or not writable.
  static absl::StatusOr<VhostUserListener> Bind(const std::string& socket_path);
  // Adopts `listening_fd` (takes ownership) after checking it is a listening
  // unix stream socket; otherwise the fd is left open and an error returned.
  static absl::StatusOr<VhostUserListener> FromFd(int listening_fd);

  VhostUserListener(VhostUserListener&&) = default;
  VhostUserListener& operator=(VhostUserListener&&) = default;
  // Closes the listening fd; does not unlink the path (the daemon does).
  ~VhostUserListener() = default;

  // Waits for one connection; returns its fd (close-on-exec, caller owns).
  absl::StatusOr<int> Accept();

  const std::string& path() const { return path_; }  // empty for FromFd
  int fd() const { return fd_.get(); }

 private:
  VhostUserListener(UniqueFd fd, std::string path) : fd_(std::move(fd)), path_(std::move(path)) {}

  UniqueFd fd_;
  std::string path_;
};

}  // namespace vfsd

#endif  // VFSD_TRANSPORT_VHOST_USER_LISTENER_H_
