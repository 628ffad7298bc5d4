// Guest RAM for the fake VMM: one or more memfd-backed regions at chosen
// guest-physical addresses, shared with the daemon over vhost-user, plus a
// bump allocator the virtqueue driver and FUSE client carve buffers from.
//
// Regions are deliberately placed with holes between them (and, optionally,
// as slices of one memfd at non-zero offsets) so a daemon that assumes a
// single region, GPA == offset, or mmap_offset == 0 fails loudly in tests.
#ifndef VFSD_TESTING_FAKE_VMM_MEMORY_H_
#define VFSD_TESTING_FAKE_VMM_MEMORY_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "transport/vhost_user_protocol.h"

namespace vfsd {

struct FakeGuestMemoryOptions {
  // Size of each region in bytes (multiples of the page size). Several
  // entries force the daemon to map and translate across several regions.
  std::vector<uint64_t> region_sizes = {64ull << 20};
  // GPA of the first region; later regions follow after `gpa_hole` bytes of
  // unmapped guest-physical space.
  uint64_t first_gpa = 0;
  uint64_t gpa_hole = 2ull << 20;
  // Back all regions with one memfd at increasing mmap offsets (as a VMM
  // does when it splits one RAM block around a PCI hole).
  bool single_memfd = false;
};

class FakeGuestMemory {
 public:
  struct Region {
    uint64_t gpa;
    uint64_t size;
    uint8_t* host;         // our mapping; also sent as userspace_addr
    int fd;                // memfd passed to the daemon (not owned when shared)
    uint64_t mmap_offset;  // offset of the region in `fd`
  };

  static absl::StatusOr<std::unique_ptr<FakeGuestMemory>> Create(
      const FakeGuestMemoryOptions& options);
  ~FakeGuestMemory();
  FakeGuestMemory(const FakeGuestMemory&) = delete;
  FakeGuestMemory& operator=(const FakeGuestMemory&) = delete;

  const std::vector<Region>& regions() const { return regions_; }

  // The wire description of region `i` (for SET_MEM_TABLE / ADD_MEM_REG).
  vhost_user::MemoryRegion WireRegion(size_t i) const;

  // Host pointer for [gpa, gpa+len) if it lies inside one region, else null.
  uint8_t* Translate(uint64_t gpa, uint64_t len) const;
  // The front-end "userspace address" of `gpa` (what SET_VRING_ADDR carries:
  // QEMU sends its own virtual addresses there, not GPAs).
  uint64_t UserAddress(uint64_t gpa) const;

  // Reserves `size` bytes aligned to `align` (a power of two) and returns the
  // GPA. Successive allocations rotate over the regions so buffers of one
  // request land in different regions. Memory is zeroed; never freed.
  absl::StatusOr<uint64_t> Allocate(uint64_t size, uint64_t align = 64);

 private:
  FakeGuestMemory() = default;

  std::vector<Region> regions_;
  std::vector<uint64_t> next_free_;  // per region: offset of the first free byte
  size_t next_region_ = 0;
  int shared_fd_ = -1;
};

}  // namespace vfsd

#endif  // VFSD_TESTING_FAKE_VMM_MEMORY_H_
