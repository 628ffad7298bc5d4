// ScopedFd: sole owner of a host file descriptor, closed on destruction.
//
// The passthrough backend holds thousands of O_PATH fds (one per node the
// guest knows) and one fd per open handle; tying each to an owner makes a
// leaked fd (which would keep a host file alive and exhaust RLIMIT_NOFILE)
// a type error rather than a review finding.
#ifndef VFSD_BACKENDS_PASSTHROUGH_SCOPED_FD_H_
#define VFSD_BACKENDS_PASSTHROUGH_SCOPED_FD_H_

#include <unistd.h>

#include <utility>

namespace vfsd {

class ScopedFd {
 public:
  ScopedFd() = default;
  explicit ScopedFd(int fd) : fd_(fd) {}
  ScopedFd(ScopedFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  ScopedFd& operator=(ScopedFd&& other) noexcept {
    if (this != &other) reset(std::exchange(other.fd_, -1));
    return *this;
  }
  ScopedFd(const ScopedFd&) = delete;
  ScopedFd& operator=(const ScopedFd&) = delete;
  ~ScopedFd() { reset(); }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int release() { return std::exchange(fd_, -1); }
  void reset(int fd = -1) {
    // close() errors are not actionable here: the fd is gone either way.
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

}  // namespace vfsd

#endif  // VFSD_BACKENDS_PASSTHROUGH_SCOPED_FD_H_
