// Creating a conformance TreeItem tree in a host directory, for backends
// that serve one (passthrough), and a self-removing temporary share.
#ifndef VFSD_TESTING_CONFORMANCE_HOST_TREE_H_
#define VFSD_TESTING_CONFORMANCE_HOST_TREE_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "testing/conformance/conformance_target.h"

namespace vfsd {

// Creates `items` below `root` with host calls (mkdir, open+write, symlink,
// link, chown), in order.
absl::Status CreateHostTree(const std::string& root, absl::Span<const TreeItem> items);

// A fresh empty directory under the test's temporary directory, removed
// with its contents on destruction.
class TempShare {
 public:
  static absl::StatusOr<TempShare> Create();
  TempShare(TempShare&& other) noexcept : path_(std::move(other.path_)) { other.path_.clear(); }
  TempShare& operator=(TempShare&&) = delete;
  ~TempShare();

  const std::string& path() const { return path_; }

 private:
  explicit TempShare(std::string path) : path_(std::move(path)) {}
  std::string path_;
};

}  // namespace vfsd

#endif  // VFSD_TESTING_CONFORMANCE_HOST_TREE_H_
