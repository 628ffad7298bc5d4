// Guest RAM as the front-end shared it: GuestRegion is one mmap'ed region
// (SET_MEM_TABLE / ADD_MEM_REG), GuestMemory an immutable, sorted set of them
// with checked address translation, and GuestMemoryHolder the swappable
// "current map" that queue workers snapshot.
//
// Why immutable + snapshots: the front-end may add or remove regions while
// rings are running (memory hotplug). Building a new map and swapping a
// shared_ptr lets in-flight requests keep the old mappings alive (munmap only
// happens when the last snapshot holding a region is gone), so a request's
// iovecs never dangle and the hot path takes no lock per translation.
#ifndef VFSD_TRANSPORT_GUEST_MEMORY_H_
#define VFSD_TRANSPORT_GUEST_MEMORY_H_

#include <sys/uio.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace vfsd {

// Host iovecs of one guest buffer list; inline storage covers typical FUSE
// requests without a heap allocation.
using IovecList = absl::InlinedVector<iovec, 8>;

// Where a region lives, as the front-end described it.
struct GuestRegionSpec {
  uint64_t guest_phys_addr = 0;
  uint64_t size = 0;
  uint64_t userspace_addr = 0;  // front-end virtual address of the region
  uint64_t mmap_offset = 0;     // offset of the region inside the fd
};

class GuestRegion {
 public:
  // Maps [mmap_offset, mmap_offset+size) of `fd` shared read/write. The fd is
  // not consumed (the mapping keeps the file alive; the caller closes it).
  // Errors: zero size, address overflow, fd shorter than the region (a later
  // access would SIGBUS), mmap failure.
  static absl::StatusOr<std::shared_ptr<const GuestRegion>> Map(const GuestRegionSpec& spec,
                                                                int fd);
  // Wraps memory the caller owns and keeps alive (tests). Never unmapped.
  static absl::StatusOr<std::shared_ptr<const GuestRegion>> FromHostMemory(
      const GuestRegionSpec& spec, void* host);

  ~GuestRegion();
  GuestRegion(const GuestRegion&) = delete;
  GuestRegion& operator=(const GuestRegion&) = delete;

  uint64_t guest_phys_addr() const { return spec_.guest_phys_addr; }
  uint64_t size() const { return spec_.size; }
  uint64_t userspace_addr() const { return spec_.userspace_addr; }
  uint64_t mmap_offset() const { return spec_.mmap_offset; }
  // Last guest-physical address inside the region (no overflow: checked).
  uint64_t last_gpa() const { return spec_.guest_phys_addr + (spec_.size - 1); }
  uint8_t* host_addr() const { return host_; }

 private:
  GuestRegion(const GuestRegionSpec& spec, uint8_t* host, void* map_base, size_t map_len)
      : spec_(spec), host_(host), map_base_(map_base), map_len_(map_len) {}

  GuestRegionSpec spec_;
  uint8_t* host_;
  void* map_base_;  // null when not ours to unmap
  size_t map_len_;
};

class GuestMemory {
 public:
  using RegionPtr = std::shared_ptr<const GuestRegion>;

  // An empty map (every translation fails).
  GuestMemory() = default;
  // Sorts `regions` by guest address; overlapping guest ranges are an error.
  static absl::StatusOr<std::shared_ptr<const GuestMemory>> Create(std::vector<RegionPtr> regions);

  // A new map with `region` added (ADD_MEM_REG).
  absl::StatusOr<std::shared_ptr<const GuestMemory>> WithRegion(RegionPtr region) const;
  // A new map without the region matching gpa/size/uva exactly (REM_MEM_REG;
  // the spec ignores mmap_offset there). NotFound if there is none.
  absl::StatusOr<std::shared_ptr<const GuestMemory>> WithoutRegion(
      const GuestRegionSpec& spec) const;

  absl::Span<const RegionPtr> regions() const { return regions_; }

  // [gpa, gpa+len) must lie inside one region: ring structures and indirect
  // tables are accessed as arrays. len 0 is allowed (must still be mapped).
  absl::StatusOr<uint8_t*> TranslateContiguous(uint64_t gpa, uint64_t len) const;
  // Appends the host iovecs of [gpa, gpa+len); a buffer crossing into an
  // adjacent region becomes one iovec per region. Nothing is appended on
  // error (unmapped hole, overflow).
  absl::Status TranslateToIovecs(uint64_t gpa, uint64_t len, IovecList* out) const;
  // Front-end virtual address → host pointer, [uva, uva+len) inside one
  // region (SET_VRING_ADDR carries front-end addresses, not GPAs).
  absl::StatusOr<uint8_t*> TranslateUserAddr(uint64_t uva, uint64_t len) const;

 private:
  explicit GuestMemory(std::vector<RegionPtr> regions) : regions_(std::move(regions)) {}
  // The region containing `gpa`, or null.
  const GuestRegion* FindRegion(uint64_t gpa) const;

  std::vector<RegionPtr> regions_;  // sorted by guest_phys_addr, disjoint
};

// The current guest memory map of a connection. Written by the connection
// thread, read by queue workers once per batch of requests.
class GuestMemoryHolder {
 public:
  GuestMemoryHolder() : memory_(std::make_shared<const GuestMemory>()) {}
  std::shared_ptr<const GuestMemory> Load() const {
    std::lock_guard<std::mutex> lock(mu_);
    return memory_;
  }
  void Store(std::shared_ptr<const GuestMemory> memory) {
    std::lock_guard<std::mutex> lock(mu_);
    memory_.swap(memory);
    // The old map (in `memory`) is released outside the lock: dropping the
    // last reference may munmap.
  }

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const GuestMemory> memory_;
};

}  // namespace vfsd

#endif  // VFSD_TRANSPORT_GUEST_MEMORY_H_
