#include "daemon/single_share_daemon.h"

#include <grp.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "backends/backend_config.h"
#include "backends/backend_registry.h"
#include "daemon/fuse_request_handler.h"
#include "daemon/thread_pool.h"
#include "glog/logging.h"
#include "protocol/cache_policy.h"
#include "protocol/fuse_session.h"
#include "transport/vhost_user_listener.h"
#include "transport/vhost_user_server.h"

namespace vfsd {
namespace {

// Path of the socket we created, removed on exit; written before the signal
// thread starts and read only by it afterwards.
std::string g_socket_to_remove;

// Blocks SIGINT/SIGTERM in every thread (call before any thread starts) and
// starts one thread that waits for them, removes the socket and exits 0.
void StartSignalThread() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  // A VMM that disconnects mid-reply must not kill us with SIGPIPE.
  signal(SIGPIPE, SIG_IGN);
  std::thread([set] {
    int sig = 0;
    while (sigwait(&set, &sig) != 0) {
    }
    if (!g_socket_to_remove.empty()) unlink(g_socket_to_remove.c_str());
    LOG(INFO) << "received " << strsignal(sig) << ", exiting";
    google::FlushLogFiles(google::GLOG_INFO);
    // Exit without running destructors: queue threads may still be serving.
    _exit(0);
  }).detach();
}

absl::Status ApplySocketGroup(const std::string& path, const std::string& group) {
  if (group.empty() || path.empty()) return absl::OkStatus();
  struct group* gr = getgrnam(group.c_str());
  if (gr == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("--socket-group: unknown group '", group, "'"));
  }
  if (chown(path.c_str(), static_cast<uid_t>(-1), gr->gr_gid) != 0 ||
      chmod(path.c_str(), 0660) != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("--socket-group: cannot give '", path, "' to group '", group,
                     "': ", strerror(errno)));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status RunSingleShareDaemon(const DaemonOptions& options) {
  absl::StatusOr<CacheMode> cache_mode = ParseCacheMode(options.cache);
  if (!cache_mode.ok()) return cache_mode.status();

  StartSignalThread();

  absl::StatusOr<VhostUserListener> listener =
      options.socket_fd.has_value() ? VhostUserListener::FromFd(*options.socket_fd)
                                    : VhostUserListener::Bind(options.socket_path);
  if (!listener.ok()) return listener.status();
  if (!options.socket_fd.has_value()) g_socket_to_remove = options.socket_path;
  if (absl::Status status = ApplySocketGroup(options.socket_path, options.socket_group);
      !status.ok()) {
    if (!g_socket_to_remove.empty()) unlink(g_socket_to_remove.c_str());
    return status;
  }

  // The backend comes after the socket so that a socket error is the only
  // line a user sees for a bad --socket-path.
  BackendConfig backend_config;
  backend_config.shared_dir = options.shared_dir;
  backend_config.readonly = options.readonly;
  backend_config.xattr = options.xattr;
  backend_config.allow_direct_io = options.allow_direct_io;
  absl::StatusOr<std::unique_ptr<Backend>> backend =
      CreateBackend(options.backend, backend_config);
  if (!backend.ok()) {
    if (!g_socket_to_remove.empty()) unlink(g_socket_to_remove.c_str());
    return backend.status();
  }

  LOG(INFO) << "waiting for a vhost-user connection on "
            << (options.socket_fd ? absl::StrCat("fd ", *options.socket_fd)
                                  : options.socket_path);

  absl::StatusOr<int> connection = listener->Accept();
  if (!g_socket_to_remove.empty()) {
    // One share, one VMM: nobody else may connect, and the path is free for
    // the next daemon as soon as this one has its connection (as virtiofsd).
    unlink(g_socket_to_remove.c_str());
  }
  if (!connection.ok()) return connection.status();
  LOG(INFO) << "VMM connected";

  FuseSessionOptions session_options;
  session_options.cache_mode = *cache_mode;
  session_options.readdirplus = *cache_mode != CacheMode::kNever;
  session_options.xattr = options.xattr;
  session_options.writeback = options.writeback;
  session_options.announce_submounts = options.announce_submounts;
  FuseSession session(**backend, session_options);

  absl::Status served;
  {
    std::optional<ThreadPool> pool;
    if (options.thread_pool_size > 0) pool.emplace(options.thread_pool_size);
    FuseRequestHandler handler(session, pool ? &*pool : nullptr);
    VhostUserDeviceOptions device_options;
    served = ServeVhostUserConnection(*connection, device_options, handler);
  }  // the pool drains and joins here, before the session goes away
  close(*connection);
  session.Shutdown();
  if (served.ok()) LOG(INFO) << "VMM disconnected";
  return served;
}

}  // namespace vfsd
