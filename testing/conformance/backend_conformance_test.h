// The backend conformance suite: behaviour every Backend must show, with
// exact errnos, checked through the Backend interface only.
//
// A backend joins by linking :backend_conformance into a test and
// instantiating the suite:
//
//   INSTANTIATE_TEST_SUITE_P(Passthrough, BackendConformanceTest,
//                            ::testing::Values(MyTarget()),
//                            [](const auto& info) { return info.param.name; });
#ifndef VFSD_TESTING_CONFORMANCE_BACKEND_CONFORMANCE_TEST_H_
#define VFSD_TESTING_CONFORMANCE_BACKEND_CONFORMANCE_TEST_H_

#include <memory>

#include "gtest/gtest.h"
#include "testing/conformance/conformance_target.h"
#include "testing/conformance/sync_backend.h"

namespace vfsd {

class BackendConformanceTest : public ::testing::TestWithParam<ConformanceTarget> {
 protected:
  void SetUp() override;
  void TearDown() override;

  // Populates the share; fails the test on error.
  void Populate(std::initializer_list<TreeItem> items);
  // Looks up a '/'-separated path from the root, one component at a time.
  absl::StatusOr<Entry> LookupPath(absl::string_view path);

  std::unique_ptr<BackendUnderTest> target_;
  std::unique_ptr<SyncBackend> fs_;
};

}  // namespace vfsd

#endif  // VFSD_TESTING_CONFORMANCE_BACKEND_CONFORMANCE_TEST_H_
