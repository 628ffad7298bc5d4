// Test-only: a split ring laid out in plain host memory wrapped as guest
// memory (GuestRegion::FromHostMemory), with driver-side helpers to write
// descriptors, publish avail entries and read used elements. Lets descriptor
// chain and virtqueue tests corrupt anything without a front-end.
#ifndef VFSD_TRANSPORT_TESTING_RING_H_
#define VFSD_TRANSPORT_TESTING_RING_H_

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "gtest/gtest.h"
#include "transport/guest_memory.h"
#include "transport/virtio_ring.h"
#include "transport/virtqueue.h"

namespace vfsd {

class TestRing {
 public:
  // Guest memory: [kGpa, kGpa + kMemSize). Rings at the start; data buffers
  // are addressed by the tests anywhere after kDataGpa.
  static constexpr uint64_t kGpa = 0x100000;
  static constexpr uint64_t kMemSize = 4 << 20;
  static constexpr uint64_t kDataGpa = kGpa + (1 << 20);

  explicit TestRing(uint32_t size) : size_(size) {
    host_ = static_cast<uint8_t*>(std::aligned_alloc(4096, kMemSize));
    std::memset(host_, 0, kMemSize);
    auto region = GuestRegion::FromHostMemory(
        {kGpa, kMemSize, reinterpret_cast<uint64_t>(host_), 0}, host_);
    EXPECT_TRUE(region.ok());
    auto memory = GuestMemory::Create({*region});
    EXPECT_TRUE(memory.ok());
    memory_ = *memory;
    desc_gpa_ = kGpa;
    avail_gpa_ = desc_gpa_ + virtio::DescTableBytes(size);
    used_gpa_ = (avail_gpa_ + virtio::AvailRingBytes(size) + 3) & ~3ull;
  }
  ~TestRing() { std::free(host_); }

  uint32_t size() const { return size_; }
  const std::shared_ptr<const GuestMemory>& memory() const { return memory_; }
  uint8_t* Host(uint64_t gpa) { return host_ + (gpa - kGpa); }
  uint64_t UserAddr(uint64_t gpa) { return reinterpret_cast<uint64_t>(Host(gpa)); }
  uint8_t* desc_table() { return Host(desc_gpa_); }

  VirtqueueConfig Config(uint16_t next_avail = 0, bool event_idx = false,
                         bool indirect = true) {
    VirtqueueConfig config;
    config.index = 1;
    config.size = size_;
    config.desc_user_addr = UserAddr(desc_gpa_);
    config.avail_user_addr = UserAddr(avail_gpa_);
    config.used_user_addr = UserAddr(used_gpa_);
    config.next_avail = next_avail;
    config.event_idx = event_idx;
    config.indirect = indirect;
    return config;
  }

  void SetDesc(uint16_t index, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next = 0) {
    virtio::Descriptor desc{addr, len, flags, next};
    std::memcpy(desc_table() + 16u * index, &desc, sizeof(desc));
  }
  // Writes a descriptor into a table at `table_gpa` (indirect tables).
  void SetTableDesc(uint64_t table_gpa, uint16_t index, uint64_t addr, uint32_t len,
                    uint16_t flags, uint16_t next = 0) {
    virtio::Descriptor desc{addr, len, flags, next};
    std::memcpy(Host(table_gpa) + 16u * index, &desc, sizeof(desc));
  }

  // Driver side of the avail ring.
  void AddAvail(uint16_t head) {
    StoreU16(avail_gpa_ + 4 + 2 * (avail_idx_ % size_), head);
    ++avail_idx_;
  }
  void PublishAvail() { __atomic_store_n(U16(avail_gpa_ + 2), avail_idx_, __ATOMIC_RELEASE); }
  void SetAvailIdx(uint16_t idx) {
    avail_idx_ = idx;
    PublishAvail();
  }
  void SetAvailFlags(uint16_t flags) { StoreU16(avail_gpa_, flags); }
  void SetUsedEvent(uint16_t value) { StoreU16(avail_gpa_ + 4 + 2 * size_, value); }

  // Device-written fields.
  uint16_t UsedIdx() { return __atomic_load_n(U16(used_gpa_ + 2), __ATOMIC_ACQUIRE); }
  virtio::UsedElement Used(uint16_t i) {
    virtio::UsedElement elem;
    std::memcpy(&elem, Host(used_gpa_ + 4 + 8 * (i % size_)), sizeof(elem));
    return elem;
  }
  uint16_t AvailEvent() { return __atomic_load_n(U16(used_gpa_ + 4 + 8 * size_), __ATOMIC_ACQUIRE); }

 private:
  uint16_t* U16(uint64_t gpa) { return reinterpret_cast<uint16_t*>(Host(gpa)); }
  void StoreU16(uint64_t gpa, uint16_t v) { __atomic_store_n(U16(gpa), v, __ATOMIC_RELAXED); }

  uint32_t size_;
  uint8_t* host_ = nullptr;
  std::shared_ptr<const GuestMemory> memory_;
  uint64_t desc_gpa_, avail_gpa_, used_gpa_;
  uint16_t avail_idx_ = 0;
};

}  // namespace vfsd

#endif  // VFSD_TRANSPORT_TESTING_RING_H_
