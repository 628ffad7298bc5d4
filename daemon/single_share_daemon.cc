#include "daemon/single_share_daemon.h"

#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <atomic>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "backends/backend_config.h"
#include "backends/backend_registry.h"
#include "backends/id_translation/id_translating_backend.h"
#include "daemon/capabilities.h"
#include "daemon/fuse_request_handler.h"
#include "daemon/rlimit_nofile.h"
#include "daemon/sandbox.h"
#include "daemon/seccomp_filter.h"
#include "daemon/thread_pool.h"
#include "glog/logging.h"
#include "protocol/cache_policy.h"
#include "protocol/fuse_session.h"
#include "transport/completion_batch.h"
#include "transport/vhost_user_listener.h"
#include "transport/vhost_user_server.h"

namespace vfsd {
namespace {

// The socket we created, removed on exit. Held as a directory fd and a name
// (plus the socket's inode) so that it can still be removed once the
// sandbox has made its path unreachable, and never removes a socket another
// daemon has since created at the same path. Written before the signal
// thread starts and read only by it afterwards.
struct SocketToRemove {
  std::atomic<int> dir_fd{-1};
  std::string name;
  std::string path;
  dev_t dev = 0;
  ino_t ino = 0;
};
SocketToRemove g_socket;

absl::Status RememberSocket(const std::string& path) {
  std::string dir = ".";
  std::string name = path;
  if (size_t slash = path.rfind('/'); slash != std::string::npos) {
    dir = slash == 0 ? "/" : path.substr(0, slash);
    name = path.substr(slash + 1);
  }
  int fd = open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  struct stat st;
  if (fd < 0 || fstatat(fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    const int err = errno;
    if (fd >= 0) close(fd);
    unlink(path.c_str());
    return absl::InternalError(absl::StrCat("cannot open the socket's directory '", dir,
                                            "': ", strerror(err)));
  }
  g_socket.name = name;
  g_socket.path = path;
  g_socket.dev = st.st_dev;
  g_socket.ino = st.st_ino;
  g_socket.dir_fd = fd;
  return absl::OkStatus();
}

// Async-signal-safe enough for the signal thread and the sandbox parent.
void RemoveSocket() {
  const int dir_fd = g_socket.dir_fd.load();
  if (dir_fd < 0) return;
  struct stat st;
  if (fstatat(dir_fd, g_socket.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
      st.st_dev == g_socket.dev && st.st_ino == g_socket.ino) {
    unlinkat(dir_fd, g_socket.name.c_str(), 0);
  }
}

// Removes the socket and closes the directory fd for good. That fd names a
// host directory outside the share: kept while serving, it would let a
// compromised daemon walk out of the sandbox with openat(fd, "..").
void RemoveAndForgetSocket() {
  RemoveSocket();
  const int dir_fd = g_socket.dir_fd.exchange(-1);
  if (dir_fd >= 0) close(dir_fd);
}

// Blocks SIGINT/SIGTERM in this (still only) thread and every thread it
// starts, before the socket exists: a signal from then on stays pending
// until the signal thread (or the sandbox's supervising parent) takes it.
void BlockTerminationSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  // A VMM that disconnects mid-reply must not kill us with SIGPIPE.
  signal(SIGPIPE, SIG_IGN);
}

// Starts one thread that waits for SIGINT/SIGTERM, removes the socket and
// exits 0. Started after the sandbox: unshare(CLONE_NEWNS) needs a single
// thread.
void StartSignalThread() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  std::thread([set] {
    int sig = 0;
    while (sigwait(&set, &sig) != 0) {
    }
    RemoveSocket();
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

  absl::StatusOr<std::vector<std::string>> capabilities = CapabilitiesToKeep(
      options.modcaps, options.inode_file_handles != BackendConfig::InodeFileHandles::kNever);
  if (!capabilities.ok()) return capabilities.status();

  BlockTerminationSignals();
  if (absl::StatusOr<uint64_t> nofile = SetNofileLimit(options.rlimit_nofile); !nofile.ok()) {
    return nofile.status();
  }

  absl::StatusOr<VhostUserListener> listener =
      options.socket_fd.has_value() ? VhostUserListener::FromFd(*options.socket_fd)
                                    : VhostUserListener::Bind(options.socket_path);
  if (!listener.ok()) return listener.status();
  if (!options.socket_fd.has_value()) {
    if (absl::Status status = RememberSocket(options.socket_path); !status.ok()) return status;
  }
  if (absl::Status status = ApplySocketGroup(options.socket_path, options.socket_group);
      !status.ok()) {
    RemoveSocket();
    return status;
  }

  // The backend comes after the socket so that a socket error is the only
  // line a user sees for a bad --socket-path; it is created inside the
  // sandbox's namespaces but before the root changes, so that it can open
  // the share and /proc/self/fd (docs/security.md).
  std::unique_ptr<Backend> backend;
  auto create_backend = [&]() -> absl::Status {
    BackendConfig backend_config;
    backend_config.shared_dir = options.shared_dir;
    backend_config.readonly = options.readonly;
    backend_config.xattr = options.xattr;
    backend_config.allow_direct_io = options.allow_direct_io;
    backend_config.host_page_cache = !options.drop_host_page_cache;
    backend_config.posix_acl = options.posix_acl;
    // One ring per thread that runs requests in batches: each request queue
    // worker, or each pool thread (its share of a wake is its batch).
    backend_config.read_rings =
        !options.io_uring ? 0
        : options.thread_pool_size == 0 ? options.max_request_queues
                                        // threads beyond the rings read with preadv
                                        : std::min<uint32_t>(options.thread_pool_size, 64);
    backend_config.security_label = options.security_label;
    backend_config.preserve_noatime = options.preserve_noatime;
    backend_config.announce_submounts = options.announce_submounts;
    backend_config.inode_file_handles = options.inode_file_handles;
    absl::StatusOr<std::unique_ptr<Backend>> created =
        CreateBackend(options.backend, backend_config);
    if (!created.ok()) return created.status();
    backend = std::move(*created);
    if (!options.translate_uid.empty() || !options.translate_gid.empty()) {
      // Validated with the options, so Create cannot fail here.
      absl::StatusOr<IdMap> uids = IdMap::Create(options.translate_uid);
      absl::StatusOr<IdMap> gids = IdMap::Create(options.translate_gid);
      if (!uids.ok()) return uids.status();
      if (!gids.ok()) return gids.status();
      backend = std::make_unique<IdTranslatingBackend>(std::move(backend), *std::move(uids),
                                                       *std::move(gids));
    }
    return absl::OkStatus();
  };
  auto remove_socket = [] { RemoveSocket(); };
  SandboxHooks hooks{create_backend, remove_socket};
  if (absl::Status status = EnterSandbox(options.sandbox, options.shared_dir, hooks);
      !status.ok()) {
    RemoveSocket();
    return status;
  }
  // Capabilities are per thread: drop them before any thread starts.
  if (absl::Status status = DropCapabilities(*capabilities); !status.ok()) {
    RemoveSocket();
    return status;
  }
  StartSignalThread();
  if (absl::Status status = InstallSeccompFilter(options.seccomp); !status.ok()) {
    RemoveSocket();
    return status;
  }

  LOG(INFO) << "waiting for a vhost-user connection on "
            << (options.socket_fd ? absl::StrCat("fd ", *options.socket_fd)
                                  : options.socket_path);

  absl::StatusOr<int> connection = listener->Accept();
  // One share, one VMM: nobody else may connect, and the path is free for
  // the next daemon as soon as this one has its connection (as virtiofsd).
  // The guest can only talk to us from here on, when no host path is open.
  RemoveAndForgetSocket();
  if (!connection.ok()) return connection.status();
  LOG(INFO) << "VMM connected";

  FuseSessionOptions session_options;
  session_options.cache_mode = *cache_mode;
  session_options.readdirplus = *cache_mode != CacheMode::kNever;
  session_options.xattr = options.xattr;
  session_options.writeback = options.writeback;
  session_options.announce_submounts = options.announce_submounts;
  session_options.posix_acl = options.posix_acl;
  session_options.security_label = options.security_label;
  session_options.killpriv_v2 = options.killpriv_v2;
  session_options.direct_io_allow_mmap = options.allow_mmap;
  FuseSession session(*backend, session_options);

  absl::Status served;
  {
    std::optional<ThreadPool> pool;
    if (options.thread_pool_size > 0) {
      // A pool worker's share of requests is a batch: the backend may hold
      // completions back until its end (READs: one io_uring_enter), and the
      // replies go out with one used-ring publication and at most one
      // interrupt per queue.
      pool.emplace(options.thread_pool_size, [&session](absl::FunctionRef<void()> run_tasks) {
        CompletionBatch batch;
        session.BeginBatch();
        run_tasks();
        session.EndBatch();
      });
    }
    FuseRequestHandler handler(session, pool ? &*pool : nullptr);
    VhostUserDeviceOptions device_options;
    device_options.num_request_queues = options.max_request_queues;
    device_options.request_queue_poll_max_ns = uint64_t{options.queue_poll_max_us} * 1000;
    served = ServeVhostUserConnection(*connection, device_options, handler);
  }  // the pool drains and joins here, before the session goes away
  close(*connection);
  session.Shutdown();
  if (served.ok()) LOG(INFO) << "VMM disconnected";
  return served;
}

}  // namespace vfsd
