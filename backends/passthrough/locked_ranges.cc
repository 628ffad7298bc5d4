// LockedRanges: union of one lock owner's locked byte ranges.

#include "backends/passthrough/locked_ranges.h"

#include <algorithm>
#include <iterator>

namespace vfsd {

void LockedRanges::Add(uint64_t start, uint64_t end) {
  // Merge with a range that ends at or just before `start`.
  auto it = ranges_.upper_bound(start);
  if (it != ranges_.begin()) {
    auto prev = std::prev(it);
    if (prev->second == UINT64_MAX || prev->second + 1 >= start) it = prev;
  }
  // Absorb every range that overlaps or touches [start, end].
  while (it != ranges_.end() && (end == UINT64_MAX || it->first <= end + 1)) {
    start = std::min(start, it->first);
    end = std::max(end, it->second);
    it = ranges_.erase(it);
  }
  ranges_.emplace(start, end);
}

void LockedRanges::Remove(uint64_t start, uint64_t end) {
  auto it = ranges_.upper_bound(start);
  if (it != ranges_.begin()) {
    auto prev = std::prev(it);
    if (prev->second >= start) it = prev;
  }
  while (it != ranges_.end() && it->first <= end) {
    const uint64_t r_start = it->first;
    const uint64_t r_end = it->second;
    it = ranges_.erase(it);
    // Keep the parts outside [start, end]: a middle unlock splits in two.
    if (r_start < start) ranges_.emplace(r_start, start - 1);
    if (r_end > end) {
      ranges_.emplace(end + 1, r_end);
      break;  // ranges are disjoint: nothing further overlaps
    }
  }
}

bool LockedRanges::Covers(uint64_t start, uint64_t end) const {
  auto it = ranges_.upper_bound(start);
  if (it == ranges_.begin()) return false;
  --it;  // the range starting at or before `start`; merged, so it must hold all
  return it->second >= end && it->first <= start;
}

}  // namespace vfsd
