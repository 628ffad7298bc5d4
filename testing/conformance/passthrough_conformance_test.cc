// The backend conformance suite run against the passthrough backend, built
// through the backend registry exactly as the daemon builds it.
#include <unistd.h>

#include <memory>

#include "backends/backend_registry.h"
#include "gtest/gtest.h"
#include "testing/conformance/backend_conformance_test.h"
#include "testing/conformance/host_share_under_test.h"
#include "testing/conformance/host_tree.h"

namespace vfsd {
namespace {

absl::StatusOr<std::unique_ptr<BackendUnderTest>> MakePassthrough(BackendConfig config) {
  absl::StatusOr<TempShare> share = TempShare::Create();
  if (!share.ok()) return share.status();
  config.shared_dir = share->path();
  absl::StatusOr<std::unique_ptr<Backend>> backend = CreateBackend("passthrough", config);
  if (!backend.ok()) return backend.status();
  return std::make_unique<HostShareUnderTest>(*std::move(share), *std::move(backend));
}

ConformanceTarget PassthroughTarget() {
  return {"passthrough", [] { return MakePassthrough(BackendConfig()); }, MakePassthrough};
}

INSTANTIATE_TEST_SUITE_P(Passthrough, BackendConformanceTest,
                         ::testing::Values(PassthroughTarget()),
                         [](const ::testing::TestParamInfo<ConformanceTarget>& info) {
                           return info.param.name;
                         });

}  // namespace
}  // namespace vfsd
