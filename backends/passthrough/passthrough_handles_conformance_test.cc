// The backend conformance suite against the passthrough backend keeping its
// nodes by file handle (--inode-file-handles=prefer) with an fd cache of
// zero: every operation on a node re-opens it with open_by_handle_at, so
// each one is checked to work from a handle alone. Where the host gives no
// handles (filesystem, or no CAP_DAC_READ_SEARCH) `prefer` falls back to held
// fds and the suite runs like //testing/conformance's (a warning says so).
#include <unistd.h>

#include <memory>

#include "backends/passthrough/passthrough_backend.h"
#include "glog/logging.h"
#include "gtest/gtest.h"
#include "testing/conformance/backend_conformance_test.h"
#include "testing/conformance/host_share_under_test.h"
#include "testing/conformance/host_tree.h"

namespace vfsd {
namespace {

absl::StatusOr<std::unique_ptr<BackendUnderTest>> MakeWithHandles(BackendConfig config) {
  absl::StatusOr<TempShare> share = TempShare::Create();
  if (!share.ok()) return share.status();
  config.shared_dir = share->path();
  config.inode_file_handles = BackendConfig::InodeFileHandles::kPrefer;
  absl::StatusOr<std::unique_ptr<Backend>> backend =
      PassthroughBackend::Create(config, /*fd_cache_capacity=*/0);
  if (!backend.ok()) return backend.status();
  if (!static_cast<PassthroughBackend&>(**backend).using_file_handles()) {
    LOG(WARNING) << "no file handles on this host: running with held fds";
  }
  return std::make_unique<HostShareUnderTest>(*std::move(share), *std::move(backend));
}

ConformanceTarget HandlesTarget() {
  return {"passthrough_handles", [] { return MakeWithHandles(BackendConfig()); },
          MakeWithHandles};
}

INSTANTIATE_TEST_SUITE_P(PassthroughHandles, BackendConformanceTest,
                         ::testing::Values(HandlesTarget()),
                         [](const ::testing::TestParamInfo<ConformanceTarget>& info) {
                           return info.param.name;
                         });

}  // namespace
}  // namespace vfsd
