#include "backends/id_translation/id_map.h"

#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace vfsd {
namespace {

constexpr uint64_t kIdSpace = uint64_t{1} << 32;

struct KindName {
  IdMapping::Kind kind;
  const char* name;
};
constexpr KindName kKindNames[] = {
    {IdMapping::Kind::kGuest, "guest"},
    {IdMapping::Kind::kHost, "host"},
    {IdMapping::Kind::kSquashGuest, "squash-guest"},
    {IdMapping::Kind::kSquashHost, "squash-host"},
    {IdMapping::Kind::kMap, "map"},
    {IdMapping::Kind::kForbidGuest, "forbid-guest"},
};

bool ParseId(absl::string_view text, uint32_t* out) {
  // SimpleAtoi accepts a leading '+' and whitespace; ids are plain digits.
  if (text.empty() || text.find_first_not_of("0123456789") != absl::string_view::npos) {
    return false;
  }
  return absl::SimpleAtoi(text, out);
}

}  // namespace

absl::StatusOr<IdMapping> IdMapping::Parse(absl::string_view text) {
  const std::vector<absl::string_view> parts = absl::StrSplit(text, ':');
  IdMapping mapping;
  bool known = false;
  for (const KindName& k : kKindNames) {
    if (parts[0] == k.name) {
      mapping.kind = k.kind;
      known = true;
    }
  }
  if (!known) {
    return absl::InvalidArgumentError(absl::StrCat(
        "unknown mapping type '", parts[0],
        "' (guest, host, squash-guest, squash-host, forbid-guest or map) in '", text, "'"));
  }
  const bool forbid = mapping.kind == Kind::kForbidGuest;
  const size_t want = forbid ? 3 : 4;
  if (parts.size() != want) {
    return absl::InvalidArgumentError(absl::StrCat(
        "'", text, "' should be ", parts[0],
        forbid ? ":<base>:<count>" : ":<source base>:<target base>:<count>"));
  }
  const bool ok = forbid ? ParseId(parts[1], &mapping.source) && ParseId(parts[2], &mapping.count)
                         : ParseId(parts[1], &mapping.source) &&
                               ParseId(parts[2], &mapping.target) &&
                               ParseId(parts[3], &mapping.count);
  if (!ok) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", text, "': ids and counts are decimal numbers below 2^32"));
  }
  if (mapping.count == 0) {
    return absl::InvalidArgumentError(absl::StrCat("'", text, "': the count must be at least 1"));
  }
  const bool ranged_target =
      mapping.kind == Kind::kGuest || mapping.kind == Kind::kHost || mapping.kind == Kind::kMap;
  if (uint64_t{mapping.source} + mapping.count > kIdSpace ||
      (ranged_target && uint64_t{mapping.target} + mapping.count > kIdSpace)) {
    return absl::InvalidArgumentError(absl::StrCat("'", text, "': range past id 4294967295"));
  }
  return mapping;
}

std::string IdMapping::ToString() const {
  const char* name = "?";
  for (const KindName& k : kKindNames) {
    if (k.kind == kind) name = k.name;
  }
  if (kind == Kind::kForbidGuest) return absl::StrCat(name, ":", source, ":", count);
  return absl::StrCat(name, ":", source, ":", target, ":", count);
}

absl::Status IdMap::Add(std::vector<Range>& ranges, Range range, const IdMapping& from) {
  for (const Range& r : ranges) {
    if (range.first < r.first + r.count && r.first < range.first + range.count) {
      return absl::InvalidArgumentError(
          absl::StrCat("mapping '", from.ToString(), "' overlaps another one of its direction"));
    }
  }
  ranges.push_back(range);
  return absl::OkStatus();
}

absl::StatusOr<IdMap> IdMap::Create(absl::Span<const IdMapping> mappings) {
  IdMap map;
  for (const IdMapping& m : mappings) {
    const Range forward{m.source, m.count, m.target, false, false};
    absl::Status status;
    switch (m.kind) {
      case IdMapping::Kind::kGuest:
        status = Add(map.guest_to_host_, forward, m);
        break;
      case IdMapping::Kind::kHost:
        status = Add(map.host_to_guest_, forward, m);
        break;
      case IdMapping::Kind::kSquashGuest:
        status = Add(map.guest_to_host_, Range{m.source, m.count, m.target, true, false}, m);
        break;
      case IdMapping::Kind::kSquashHost:
        status = Add(map.host_to_guest_, Range{m.source, m.count, m.target, true, false}, m);
        break;
      case IdMapping::Kind::kForbidGuest:
        status = Add(map.guest_to_host_, Range{m.source, m.count, 0, false, true}, m);
        break;
      case IdMapping::Kind::kMap:
        status = Add(map.guest_to_host_, forward, m);
        if (status.ok()) {
          status = Add(map.host_to_guest_, Range{m.target, m.count, m.source, false, false}, m);
        }
        break;
    }
    if (!status.ok()) return status;
  }
  return map;
}

const IdMap::Range* IdMap::Find(const std::vector<Range>& ranges, uint32_t id) {
  // A handful of ranges at most: a scan beats any index.
  for (const Range& r : ranges) {
    if (id >= r.first && uint64_t{id} - r.first < r.count) return &r;
  }
  return nullptr;
}

std::optional<uint32_t> IdMap::GuestToHost(uint32_t id) const {
  const Range* r = Find(guest_to_host_, id);
  if (r == nullptr) return id;
  if (r->forbid) return std::nullopt;
  return r->squash ? r->to : r->to + (id - r->first);
}

uint32_t IdMap::HostToGuest(uint32_t id) const {
  const Range* r = Find(host_to_guest_, id);
  if (r == nullptr) return id;
  return r->squash ? r->to : r->to + (id - r->first);
}

}  // namespace vfsd
