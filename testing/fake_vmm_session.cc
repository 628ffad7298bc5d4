// FakeVmmSession and the shared temp-dir / daemon-list helpers.
#include "testing/fake_vmm_session.h"

#include <stdlib.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "backends/errno_status.h"

namespace vfsd {

DaemonSpec ReferenceDaemonSpec() {
  return DaemonSpec{"virtiofsd",
                    absl::StrCat(kReferenceVirtiofsd,
                                 " --socket-path={socket} -o source={dir} -o cache=auto"
                                 " -o sandbox=chroot")};
}

std::vector<DaemonSpec> DaemonsUnderTest() {
  std::vector<DaemonSpec> specs;
  if (access(kReferenceVirtiofsd, X_OK) == 0) specs.push_back(ReferenceDaemonSpec());
  // Our own daemon, when the test has //daemon:vfsd in its data.
  if (const char* runfiles = std::getenv("TEST_SRCDIR")) {
    std::string vfsd = absl::StrCat(runfiles, "/vfsd/daemon/vfsd");
    if (access(vfsd.c_str(), X_OK) == 0) {
      specs.push_back(DaemonSpec{
          "vfsd", absl::StrCat(vfsd, " --socket-path={socket} --shared-dir={dir} --cache=auto"
                                     " --log-level=warn")});
    }
  }
  if (const char* extra = std::getenv("VFSD_TEST_DAEMONS")) {
    for (absl::string_view item : absl::StrSplit(extra, ';', absl::SkipWhitespace())) {
      std::pair<std::string, std::string> kv = absl::StrSplit(item, absl::MaxSplits('=', 1));
      specs.push_back(DaemonSpec{kv.first, kv.second});
    }
  }
  return specs;
}

namespace {

std::string TempRoot() {
  const char* dir = std::getenv("TEST_TMPDIR");
  return dir != nullptr && *dir != '\0' ? dir : "/tmp";
}

absl::StatusOr<std::string> MkdTemp(std::string pattern) {
  if (mkdtemp(pattern.data()) == nullptr) return ErrnoFromLastError("mkdtemp " + pattern);
  return pattern;
}

}  // namespace

absl::StatusOr<std::string> MakeTempDir(const std::string& prefix) {
  return MkdTemp(absl::StrCat(TempRoot(), "/", prefix, "-XXXXXX"));
}

absl::StatusOr<std::string> MakeSocketPath() {
  constexpr size_t kMax = sizeof(sockaddr_un::sun_path) - 1;
  // "/vs-XXXXXX/vhost.sock" adds 21 bytes.
  std::string root = TempRoot();
  if (root.size() + 21 > kMax) root = "/tmp";
  absl::StatusOr<std::string> dir = MkdTemp(root + "/vs-XXXXXX");
  if (!dir.ok()) return dir.status();
  return *dir + "/vhost.sock";
}

absl::StatusOr<std::unique_ptr<FakeVmmSession>> FakeVmmSession::Start(
    const DaemonSpec& spec, const std::string& shared_dir,
    const FakeVmmSessionOptions& options) {
  auto session = std::make_unique<FakeVmmSession>();
  absl::StatusOr<std::string> socket = MakeSocketPath();
  if (!socket.ok()) return socket.status();
  session->socket_path = *socket;
  absl::StatusOr<std::vector<std::string>> argv =
      ExpandDaemonCommand(spec.command, {{"socket", *socket}, {"dir", shared_dir}});
  if (!argv.ok()) return argv.status();
  absl::StatusOr<std::unique_ptr<DaemonProcess>> daemon = DaemonProcess::Spawn(
      *argv, *socket, absl::Seconds(20), options.daemon_log_path);
  if (!daemon.ok()) return daemon.status();
  session->daemon = std::move(*daemon);
  FakeVmmOptions vmm_options = options.vmm;
  vmm_options.socket_path = *socket;
  absl::StatusOr<std::unique_ptr<FakeVmm>> vmm = FakeVmm::Start(vmm_options);
  if (!vmm.ok()) return vmm.status();
  session->vmm = std::move(*vmm);
  // Indirect chains on a device that did not ack INDIRECT_DESC would be a
  // driver bug (virtio 1.2 §2.7.5.3.1); malformed-ring tests build their
  // FuseClient directly instead.
  if (options.client.indirect &&
      !(session->vmm->acked_features() & (1ull << vhost_user::kVirtioFRingIndirectDesc))) {
    return absl::FailedPreconditionError("indirect requests but INDIRECT_DESC not negotiated");
  }
  absl::StatusOr<std::unique_ptr<FuseClient>> fuse =
      FuseClient::Create(&session->vmm->memory(), &session->vmm->request_queue(0),
                         &session->vmm->hiprio_queue(), options.client);
  if (!fuse.ok()) return fuse.status();
  session->fuse = std::move(*fuse);
  if (options.init) {
    absl::StatusOr<fuse_init_out> init = session->fuse->Init();
    if (!init.ok()) return init.status();
    session->init_out = *init;
  }
  return session;
}

void RemoveSocketPath(const std::string& socket_path) {
  if (socket_path.empty()) return;
  unlink(socket_path.c_str());
  const size_t slash = socket_path.rfind('/');
  if (slash != std::string::npos) rmdir(socket_path.substr(0, slash).c_str());
}

FakeVmmSession::~FakeVmmSession() {
  if (vmm != nullptr) vmm->Disconnect();
  if (daemon != nullptr) daemon->Kill();
  RemoveSocketPath(socket_path);
}

}  // namespace vfsd
