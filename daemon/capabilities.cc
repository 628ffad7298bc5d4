#include "daemon/capabilities.h"

#include <cap-ng.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "glog/logging.h"

namespace vfsd {

const std::vector<std::string>& DefaultCapabilities() {
  // What acting as the guest's caller needs: chown and setattr on files the
  // daemon does not own (chown, fowner, fsetid), permission checks done by
  // the host under setfsuid (dac_override for root in the guest), switching
  // fs ids (setuid, setgid), device nodes (mknod), file capabilities in
  // security.capability xattrs (setfcap).
  static const auto* caps = new std::vector<std::string>{
      "chown", "dac_override", "fowner", "fsetid", "setgid", "setuid", "mknod", "setfcap"};
  return *caps;
}

absl::StatusOr<std::vector<std::string>> CapabilitiesToKeep(
    const std::vector<CapabilityChange>& changes) {
  return CapabilitiesToKeep(changes, /*inode_file_handles=*/false);
}

absl::StatusOr<std::vector<std::string>> CapabilitiesToKeep(
    const std::vector<CapabilityChange>& changes, bool inode_file_handles) {
  std::vector<std::string> keep = DefaultCapabilities();
  // open_by_handle_at can open any inode of a filesystem, hence its
  // capability check; handles come only from our own lookups under the
  // share (backends/passthrough/file_handle.h).
  if (inode_file_handles) keep.push_back("dac_read_search");
  for (const CapabilityChange& change : changes) {
    if (capng_name_to_capability(change.name.c_str()) < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("--modcaps: unknown capability '", change.name, "'"));
    }
    auto it = std::find(keep.begin(), keep.end(), change.name);
    if (change.add && it == keep.end()) keep.push_back(change.name);
    if (!change.add && it != keep.end()) keep.erase(it);
  }
  return keep;
}

absl::Status DropCapabilities(const std::vector<std::string>& keep) {
  capng_clear(CAPNG_SELECT_BOTH);
  for (const std::string& name : keep) {
    const int cap = capng_name_to_capability(name.c_str());
    if (cap < 0) return absl::InvalidArgumentError(absl::StrCat("unknown capability '", name, "'"));
    if (capng_update(CAPNG_ADD, static_cast<capng_type_t>(CAPNG_EFFECTIVE | CAPNG_PERMITTED),
                     static_cast<unsigned>(cap)) != 0) {
      return absl::InternalError(absl::StrCat("capng_update(", name, ") failed"));
    }
  }
  // The bounding set needs CAP_SETPCAP to shrink; a container may not give
  // us that, and effective/permitted are what matter for this process.
  if (capng_apply(CAPNG_SELECT_BOTH) != 0) {
    LOG(WARNING) << "cannot shrink the capability bounding set; dropping effective/permitted only";
    if (capng_apply(CAPNG_SELECT_CAPS) != 0) {
      return absl::PermissionDeniedError("capng_apply: cannot drop capabilities");
    }
  }
  LOG(INFO) << "capabilities kept: " << absl::StrJoin(keep, ",");
  return absl::OkStatus();
}

}  // namespace vfsd
