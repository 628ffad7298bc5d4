// LockedRanges: which bytes of a file one guest lock owner holds locked.
//
// The kernel keeps the real lock state (OFD locks on the owner's fd); this
// mirror only tracks the union of the owner's locked ranges, types ignored,
// so the backend knows when an owner holds nothing any more (its fd can be
// closed, keeping fds bounded) and which owner holds a range GETLK reports.
// Ranges are inclusive [start, end]; end = UINT64_MAX means "to end of file"
// (struct flock l_len = 0). Adjacent and overlapping ranges are merged, and
// Remove splits, exactly as fcntl(F_UNLCK) splits a lock.
#ifndef VFSD_BACKENDS_PASSTHROUGH_LOCKED_RANGES_H_
#define VFSD_BACKENDS_PASSTHROUGH_LOCKED_RANGES_H_

#include <cstddef>
#include <cstdint>
#include <map>

namespace vfsd {

class LockedRanges {
 public:
  // Marks [start, end] locked (start <= end).
  void Add(uint64_t start, uint64_t end);
  // Marks [start, end] unlocked (start <= end).
  void Remove(uint64_t start, uint64_t end);
  // True if every byte of [start, end] is locked.
  bool Covers(uint64_t start, uint64_t end) const;

  bool empty() const { return ranges_.empty(); }
  // Number of disjoint ranges (what a guest could inflate by locking every
  // other byte: the backend bounds it).
  size_t range_count() const { return ranges_.size(); }
  void Clear() { ranges_.clear(); }

 private:
  std::map<uint64_t, uint64_t> ranges_;  // start -> end, disjoint, not adjacent
};

}  // namespace vfsd

#endif  // VFSD_BACKENDS_PASSTHROUGH_LOCKED_RANGES_H_
