// IdMap: translates uids or gids between the guest's and the host's view,
// as Rust virtiofsd's --translate-uid / --translate-gid do it inside the
// daemon (no user namespace needed).
//
// Each mapping is `<type>:<source base>:<target base>:<count>`:
//   guest         guest ids [src, src+count) -> host ids [dst, dst+count)
//   host          host ids [src, src+count)  -> guest ids [dst, dst+count)
//   squash-guest  guest ids [src, src+count) -> the one host id dst
//   squash-host   host ids [src, src+count)  -> the one guest id dst
//   map           both directions: guest [src, ...) <-> host [dst, ...)
// and `forbid-guest:<base>:<count>`: a guest id in the range is refused
// (EPERM) wherever it would become a host id (file creation, chown,
// credentials). Ids no mapping covers stay as they are. The two directions
// are independent and need not be inverse; ranges of one direction may not
// overlap.
#ifndef VFSD_BACKENDS_ID_TRANSLATION_ID_MAP_H_
#define VFSD_BACKENDS_ID_TRANSLATION_ID_MAP_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace vfsd {

// One --translate-uid / --translate-gid value.
struct IdMapping {
  enum class Kind { kGuest, kHost, kSquashGuest, kSquashHost, kMap, kForbidGuest };
  Kind kind = Kind::kMap;
  uint32_t source = 0;  // first id of the source range
  uint32_t target = 0;  // first id of the target range, or the squash target
  uint32_t count = 0;   // >= 1; source + count <= 2^32 (and target + count for ranges)

  // Parses the command-line syntax above; errors name the problem.
  static absl::StatusOr<IdMapping> Parse(absl::string_view text);
  std::string ToString() const;
};

class IdMap {
 public:
  // The identity map.
  IdMap() = default;
  // Fails if two ranges of the same direction overlap.
  static absl::StatusOr<IdMap> Create(absl::Span<const IdMapping> mappings);

  bool empty() const { return guest_to_host_.empty() && host_to_guest_.empty(); }

  // The host id for guest id `id`; nullopt if a forbid-guest range covers it.
  std::optional<uint32_t> GuestToHost(uint32_t id) const;
  // The guest id for host id `id` (never refused).
  uint32_t HostToGuest(uint32_t id) const;

 private:
  // [first, first + count) maps to `to` (+ offset unless `squash`), or is
  // refused (`forbid`).
  struct Range {
    uint32_t first = 0;
    uint64_t count = 0;
    uint32_t to = 0;
    bool squash = false;
    bool forbid = false;
  };
  static absl::Status Add(std::vector<Range>& ranges, Range range, const IdMapping& from);
  static const Range* Find(const std::vector<Range>& ranges, uint32_t id);

  std::vector<Range> guest_to_host_;
  std::vector<Range> host_to_guest_;
};

}  // namespace vfsd

#endif  // VFSD_BACKENDS_ID_TRANSLATION_ID_MAP_H_
