// HostShareUnderTest: the BackendUnderTest of a backend that serves a host
// directory (passthrough in its configurations): it owns the temporary share
// and the backend, and populates trees by writing the host directory.
#ifndef VFSD_TESTING_CONFORMANCE_HOST_SHARE_UNDER_TEST_H_
#define VFSD_TESTING_CONFORMANCE_HOST_SHARE_UNDER_TEST_H_

#include <unistd.h>

#include <memory>
#include <utility>

#include "testing/conformance/backend_conformance_test.h"
#include "testing/conformance/host_tree.h"

namespace vfsd {

class HostShareUnderTest : public BackendUnderTest {
 public:
  HostShareUnderTest(TempShare share, std::unique_ptr<Backend> backend)
      : share_(std::move(share)), backend_(std::move(backend)) {}

  Backend& backend() override { return *backend_; }
  absl::Status PopulateTree(absl::Span<const TreeItem> items) override {
    return CreateHostTree(share_.path(), items);
  }
  bool CanSetOwners() const override { return ::geteuid() == 0; }

 private:
  TempShare share_;  // destroyed after the backend (declared first)
  std::unique_ptr<Backend> backend_;
};

}  // namespace vfsd

#endif  // VFSD_TESTING_CONFORMANCE_HOST_SHARE_UNDER_TEST_H_
