// FakeGuestMemory: memfd regions and the rotating bump allocator.
#include "testing/fake_vmm_memory.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "backends/errno_status.h"

namespace vfsd {
namespace {

constexpr uint64_t kPageSize = 4096;

absl::StatusOr<int> NewMemfd(const char* name, uint64_t size) {
  int fd = memfd_create(name, MFD_CLOEXEC);
  if (fd < 0) return ErrnoFromLastError("memfd_create");
  if (ftruncate(fd, static_cast<off_t>(size)) != 0) {
    absl::Status status = ErrnoFromLastError("ftruncate memfd");
    close(fd);
    return status;
  }
  return fd;
}

}  // namespace

absl::StatusOr<std::unique_ptr<FakeGuestMemory>> FakeGuestMemory::Create(
    const FakeGuestMemoryOptions& options) {
  if (options.region_sizes.empty()) {
    return absl::InvalidArgumentError("guest memory needs at least one region");
  }
  uint64_t total = 0;
  for (uint64_t size : options.region_sizes) {
    if (size == 0 || size % kPageSize != 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("region size ", size, " is not a positive page multiple"));
    }
    total += size;
  }
  std::unique_ptr<FakeGuestMemory> memory(new FakeGuestMemory());
  if (options.single_memfd) {
    absl::StatusOr<int> fd = NewMemfd("fake-vmm-ram", total);
    if (!fd.ok()) return fd.status();
    memory->shared_fd_ = *fd;
  }
  uint64_t gpa = options.first_gpa;
  uint64_t offset = 0;
  for (size_t i = 0; i < options.region_sizes.size(); ++i) {
    const uint64_t size = options.region_sizes[i];
    Region region{gpa, size, nullptr, memory->shared_fd_, 0};
    if (options.single_memfd) {
      region.mmap_offset = offset;
    } else {
      absl::StatusOr<int> fd = NewMemfd("fake-vmm-ram", size);
      if (!fd.ok()) return fd.status();
      region.fd = *fd;
    }
    void* host = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, region.fd,
                      static_cast<off_t>(region.mmap_offset));
    if (host == MAP_FAILED) {
      absl::Status status = ErrnoFromLastError("mmap guest region");
      if (!options.single_memfd) close(region.fd);
      return status;
    }
    region.host = static_cast<uint8_t*>(host);
    memory->regions_.push_back(region);
    memory->next_free_.push_back(0);
    gpa += size + options.gpa_hole;
    offset += size;
  }
  return memory;
}

FakeGuestMemory::~FakeGuestMemory() {
  for (const Region& region : regions_) {
    munmap(region.host, region.size);
    if (region.fd != shared_fd_) close(region.fd);
  }
  if (shared_fd_ >= 0) close(shared_fd_);
}

vhost_user::MemoryRegion FakeGuestMemory::WireRegion(size_t i) const {
  const Region& r = regions_[i];
  return vhost_user::MemoryRegion{r.gpa, r.size,
                                  reinterpret_cast<uint64_t>(r.host), r.mmap_offset};
}

uint8_t* FakeGuestMemory::Translate(uint64_t gpa, uint64_t len) const {
  for (const Region& r : regions_) {
    if (gpa >= r.gpa && gpa - r.gpa <= r.size && len <= r.size - (gpa - r.gpa)) {
      return r.host + (gpa - r.gpa);
    }
  }
  return nullptr;
}

uint64_t FakeGuestMemory::UserAddress(uint64_t gpa) const {
  for (const Region& r : regions_) {
    if (gpa >= r.gpa && gpa - r.gpa < r.size) {
      return reinterpret_cast<uint64_t>(r.host) + (gpa - r.gpa);
    }
  }
  return 0;
}

absl::StatusOr<uint64_t> FakeGuestMemory::Allocate(uint64_t size, uint64_t align) {
  if (align == 0 || (align & (align - 1)) != 0) {
    return absl::InvalidArgumentError("alignment must be a power of two");
  }
  for (size_t tries = 0; tries < regions_.size(); ++tries) {
    const size_t i = (next_region_ + tries) % regions_.size();
    const Region& r = regions_[i];
    // Align the GPA (not the offset): regions may start at odd GPAs.
    const uint64_t start_gpa = (r.gpa + next_free_[i] + align - 1) & ~(align - 1);
    const uint64_t start = start_gpa - r.gpa;
    if (start > r.size || size > r.size - start) continue;
    next_free_[i] = start + size;
    next_region_ = (i + 1) % regions_.size();
    std::memset(r.host + start, 0, size);
    return start_gpa;
  }
  return absl::ResourceExhaustedError(
      absl::StrCat("fake guest memory: no room for ", size, " bytes"));
}

}  // namespace vfsd
