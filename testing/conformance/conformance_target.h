// What a backend provides to run the backend conformance suite.
//
// Each backend adds one test binary that instantiates the suite
// (backend_conformance_test.h) with a ConformanceTarget: a way to build a
// fresh backend on a fresh, empty share, and a way to populate that share
// with a tree before the test looks at it. The passthrough backend
// populates with host calls on its directory; backends without a host view
// will populate through their own MkDir/Create/Write once those exist.
#ifndef VFSD_TESTING_CONFORMANCE_CONFORMANCE_TARGET_H_
#define VFSD_TESTING_CONFORMANCE_CONFORMANCE_TARGET_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "backends/backend.h"
#include "backends/backend_config.h"

namespace vfsd {

// One item of a tree to create. Paths are relative to the share root, use
// '/' separators, and list parents before children.
struct TreeItem {
  enum class Kind { kDir, kFile, kSymlink, kHardLink };
  Kind kind = Kind::kFile;
  std::string path;
  // kFile: the contents; kSymlink: the link target (stored verbatim);
  // kHardLink: the path of the existing file to link to.
  std::string data;
  uint32_t mode = 0644;  // permission bits for kDir/kFile
  std::optional<uint32_t> uid;
  std::optional<uint32_t> gid;

  static TreeItem Dir(std::string path, uint32_t mode = 0755) {
    return {Kind::kDir, std::move(path), "", mode, {}, {}};
  }
  static TreeItem File(std::string path, std::string contents = "", uint32_t mode = 0644) {
    return {Kind::kFile, std::move(path), std::move(contents), mode, {}, {}};
  }
  static TreeItem Symlink(std::string path, std::string target) {
    return {Kind::kSymlink, std::move(path), std::move(target), 0777, {}, {}};
  }
  static TreeItem HardLink(std::string path, std::string existing) {
    return {Kind::kHardLink, std::move(path), std::move(existing), 0, {}, {}};
  }
  TreeItem Owner(uint32_t new_uid, uint32_t new_gid) && {
    uid = new_uid;
    gid = new_gid;
    return std::move(*this);
  }
};

// A backend under test and the share it serves; destroying it removes the
// share.
class BackendUnderTest {
 public:
  virtual ~BackendUnderTest() = default;
  virtual Backend& backend() = 0;
  // Creates `items` in the share, in order.
  virtual absl::Status PopulateTree(absl::Span<const TreeItem> items) = 0;
  // Whether PopulateTree can set owners (TreeItem::uid/gid); tests that
  // need other owners skip otherwise.
  virtual bool CanSetOwners() const = 0;
};

struct ConformanceTarget {
  std::string name;  // a valid test-name suffix: letters, digits, '_'
  std::function<absl::StatusOr<std::unique_ptr<BackendUnderTest>>()> make;
  // Optional: a fresh backend with the share options of `config` (xattr,
  // posix_acl, security_label, preserve_noatime, ...; the target fills in
  // where the share lives). Tests of optional features
  // (backend_conformance_attr_test.cc) skip for targets without it.
  std::function<absl::StatusOr<std::unique_ptr<BackendUnderTest>>(const BackendConfig& config)>
      make_with_config;
};

inline std::ostream& operator<<(std::ostream& os, const ConformanceTarget& target) {
  return os << target.name;
}

}  // namespace vfsd

#endif  // VFSD_TESTING_CONFORMANCE_CONFORMANCE_TARGET_H_
