#include "transport/guest_memory.h"

#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "glog/logging.h"

namespace vfsd {
namespace {

// a + b without wrapping past 2^64.
bool AddOverflows(uint64_t a, uint64_t b, uint64_t* sum) {
  return __builtin_add_overflow(a, b, sum);
}

absl::Status ValidateSpec(const GuestRegionSpec& spec) {
  uint64_t end;
  if (spec.size == 0) return absl::InvalidArgumentError("memory region of size 0");
  if (AddOverflows(spec.guest_phys_addr, spec.size - 1, &end) ||
      AddOverflows(spec.userspace_addr, spec.size - 1, &end) ||
      AddOverflows(spec.mmap_offset, spec.size, &end)) {
    return absl::InvalidArgumentError(
        absl::StrFormat("memory region gpa=0x%x size=0x%x uva=0x%x offset=0x%x overflows",
                        spec.guest_phys_addr, spec.size, spec.userspace_addr,
                        spec.mmap_offset));
  }
  if (spec.size > static_cast<uint64_t>(SIZE_MAX / 2)) {
    return absl::InvalidArgumentError("memory region too large to map");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::shared_ptr<const GuestRegion>> GuestRegion::Map(const GuestRegionSpec& spec,
                                                                    int fd) {
  if (absl::Status status = ValidateSpec(spec); !status.ok()) return status;
  struct stat st;
  if (fstat(fd, &st) != 0) {
    return absl::InvalidArgumentError(absl::StrCat("memory region fd: ", strerror(errno)));
  }
  // Touching a MAP_SHARED page past the end of a file raises SIGBUS; refuse a
  // region the file cannot back (memfd and hugetlbfs report their size).
  if (S_ISREG(st.st_mode) &&
      static_cast<uint64_t>(st.st_size) < spec.mmap_offset + spec.size) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "memory region fd holds %d bytes, region needs offset 0x%x + size 0x%x", st.st_size,
        spec.mmap_offset, spec.size));
  }
  // mmap needs a page-aligned offset; the front-end's need not be (libvhost-
  // user maps from 0 for that reason). Map from the page below instead.
  const uint64_t page = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  const uint64_t map_offset = spec.mmap_offset & ~(page - 1);
  const uint64_t slack = spec.mmap_offset - map_offset;
  const size_t map_len = static_cast<size_t>(spec.size + slack);
  void* base = mmap(nullptr, map_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, fd,
                    static_cast<off_t>(map_offset));
  if (base == MAP_FAILED) {
    return absl::InvalidArgumentError(
        absl::StrFormat("cannot map memory region gpa=0x%x size=0x%x: %s",
                        spec.guest_phys_addr, spec.size, strerror(errno)));
  }
  // Guest RAM in a core dump is large and may hold guest secrets.
  madvise(base, map_len, MADV_DONTDUMP);
  return std::shared_ptr<const GuestRegion>(
      new GuestRegion(spec, static_cast<uint8_t*>(base) + slack, base, map_len));
}

absl::StatusOr<std::shared_ptr<const GuestRegion>> GuestRegion::FromHostMemory(
    const GuestRegionSpec& spec, void* host) {
  if (absl::Status status = ValidateSpec(spec); !status.ok()) return status;
  return std::shared_ptr<const GuestRegion>(
      new GuestRegion(spec, static_cast<uint8_t*>(host), nullptr, 0));
}

GuestRegion::~GuestRegion() {
  if (map_base_ != nullptr && munmap(map_base_, map_len_) != 0) {
    PLOG(ERROR) << "munmap of guest region gpa=" << spec_.guest_phys_addr;
  }
}

absl::StatusOr<std::shared_ptr<const GuestMemory>> GuestMemory::Create(
    std::vector<RegionPtr> regions) {
  std::sort(regions.begin(), regions.end(), [](const RegionPtr& a, const RegionPtr& b) {
    return a->guest_phys_addr() < b->guest_phys_addr();
  });
  for (size_t i = 1; i < regions.size(); ++i) {
    if (regions[i]->guest_phys_addr() <= regions[i - 1]->last_gpa()) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "memory region gpa=0x%x size=0x%x overlaps region gpa=0x%x size=0x%x",
          regions[i]->guest_phys_addr(), regions[i]->size(), regions[i - 1]->guest_phys_addr(),
          regions[i - 1]->size()));
    }
  }
  return std::shared_ptr<const GuestMemory>(new GuestMemory(std::move(regions)));
}

absl::StatusOr<std::shared_ptr<const GuestMemory>> GuestMemory::WithRegion(
    RegionPtr region) const {
  std::vector<RegionPtr> regions = regions_;
  regions.push_back(std::move(region));
  return Create(std::move(regions));
}

absl::StatusOr<std::shared_ptr<const GuestMemory>> GuestMemory::WithoutRegion(
    const GuestRegionSpec& spec) const {
  std::vector<RegionPtr> regions = regions_;
  auto it = std::find_if(regions.begin(), regions.end(), [&](const RegionPtr& r) {
    return r->guest_phys_addr() == spec.guest_phys_addr && r->size() == spec.size &&
           r->userspace_addr() == spec.userspace_addr;
  });
  if (it == regions.end()) {
    return absl::NotFoundError(absl::StrFormat("no memory region gpa=0x%x size=0x%x uva=0x%x",
                                               spec.guest_phys_addr, spec.size,
                                               spec.userspace_addr));
  }
  regions.erase(it);
  return std::shared_ptr<const GuestMemory>(new GuestMemory(std::move(regions)));
}

const GuestRegion* GuestMemory::FindRegion(uint64_t gpa) const {
  // First region starting after gpa; the one before it is the candidate.
  auto it = std::upper_bound(regions_.begin(), regions_.end(), gpa,
                             [](uint64_t addr, const RegionPtr& r) {
                               return addr < r->guest_phys_addr();
                             });
  if (it == regions_.begin()) return nullptr;
  const GuestRegion* region = std::prev(it)->get();
  return gpa <= region->last_gpa() ? region : nullptr;
}

absl::StatusOr<uint8_t*> GuestMemory::TranslateContiguous(uint64_t gpa, uint64_t len) const {
  const GuestRegion* region = FindRegion(gpa);
  if (region == nullptr) {
    return absl::OutOfRangeError(absl::StrFormat("gpa 0x%x is not in guest memory", gpa));
  }
  const uint64_t offset = gpa - region->guest_phys_addr();
  // offset <= size-1, so size - offset cannot wrap; this also rejects
  // gpa+len overflowing without computing it.
  if (len > region->size() - offset) {
    return absl::OutOfRangeError(
        absl::StrFormat("guest range gpa=0x%x len=0x%x leaves its memory region", gpa, len));
  }
  return region->host_addr() + offset;
}

absl::Status GuestMemory::TranslateToIovecs(uint64_t gpa, uint64_t len, IovecList* out) const {
  uint64_t end;
  if (AddOverflows(gpa, len, &end)) {
    return absl::OutOfRangeError(
        absl::StrFormat("guest range gpa=0x%x len=0x%x overflows", gpa, len));
  }
  const size_t original_size = out->size();
  while (len > 0) {
    const GuestRegion* region = FindRegion(gpa);
    if (region == nullptr) {
      out->resize(original_size);
      return absl::OutOfRangeError(absl::StrFormat("gpa 0x%x is not in guest memory", gpa));
    }
    const uint64_t offset = gpa - region->guest_phys_addr();
    const uint64_t chunk = std::min(len, region->size() - offset);
    out->push_back(iovec{region->host_addr() + offset, static_cast<size_t>(chunk)});
    gpa += chunk;
    len -= chunk;
  }
  return absl::OkStatus();
}

absl::StatusOr<uint8_t*> GuestMemory::TranslateUserAddr(uint64_t uva, uint64_t len) const {
  for (const RegionPtr& region : regions_) {
    if (uva < region->userspace_addr()) continue;
    const uint64_t offset = uva - region->userspace_addr();
    if (offset >= region->size()) continue;
    if (len > region->size() - offset) {
      return absl::OutOfRangeError(absl::StrFormat(
          "front-end range uva=0x%x len=0x%x leaves its memory region", uva, len));
    }
    return region->host_addr() + offset;
  }
  return absl::OutOfRangeError(
      absl::StrFormat("front-end address 0x%x is not in guest memory", uva));
}

}  // namespace vfsd
