// TestDevice: a minimal single-threaded device side of a split virtqueue
// for unit tests of the driver side (VirtqueueDriver, FuseClient): pops
// chains (following indirect tables), pushes used entries, plays with the
// notification-suppression fields. Trusts the test's own setup; not a
// model of a robust back-end.
#ifndef VFSD_TESTING_VIRTQUEUE_DRIVER_TEST_DEVICE_H_
#define VFSD_TESTING_VIRTQUEUE_DRIVER_TEST_DEVICE_H_

#include <unistd.h>

#include <cstdint>
#include <vector>

#include "testing/fake_vmm_memory.h"
#include "testing/virtqueue_driver.h"

namespace vfsd {

struct SeenBuffer {
  uint64_t gpa;
  uint32_t len;
  bool write;
};

// Device side of the split ring, trusting nothing but the test's setup.
class TestDevice {
 public:
  TestDevice(FakeGuestMemory* memory, VirtqueueDriver* q) : memory_(memory), q_(q) {
    avail_ = reinterpret_cast<VringAvail*>(memory->Translate(q->avail_gpa(), 4));
    used_ = reinterpret_cast<VringUsed*>(memory->Translate(q->used_gpa(), 4));
  }

  bool HasAvail() const {
    return __atomic_load_n(&avail_->idx, __ATOMIC_ACQUIRE) != last_avail_;
  }

  // Pops the next chain; walks indirect tables.
  std::vector<SeenBuffer> Pop(uint16_t* head) {
    *head = avail_->ring[last_avail_ % q_->size()];
    ++last_avail_;
    std::vector<SeenBuffer> out;
    const VringDesc* table = q_->desc_table();
    uint16_t i = *head;
    if (table[i].flags & kVringDescFIndirect) {
      table = reinterpret_cast<const VringDesc*>(memory_->Translate(table[i].addr, table[i].len));
      i = 0;
    }
    while (true) {
      out.push_back({table[i].addr, table[i].len, (table[i].flags & kVringDescFWrite) != 0});
      if (!(table[i].flags & kVringDescFNext)) break;
      i = table[i].next;
    }
    return out;
  }

  // Host view of a buffer the device was given.
  uint8_t* Host(const SeenBuffer& b) const { return memory_->Translate(b.gpa, b.len); }

  void Push(uint16_t id, uint32_t len, bool signal = true) {
    used_->ring[used_->idx % q_->size()] = VringUsedElem{id, len};
    __atomic_store_n(&used_->idx, static_cast<uint16_t>(used_->idx + 1), __ATOMIC_RELEASE);
    if (signal) {
      const uint64_t one = 1;
      (void)!write(q_->call_fd(), &one, 8);
    }
  }

  void SetAvailEvent(uint16_t v) { *reinterpret_cast<uint16_t*>(&used_->ring[q_->size()]) = v; }
  void SetUsedFlags(uint16_t f) { used_->flags = f; }
  uint16_t UsedEvent() const { return avail_->ring[q_->size()]; }

  // Drains the kick eventfd; returns whether it had been written.
  bool TakeKick() {
    uint64_t v;
    return read(q_->kick_fd(), &v, 8) == 8;
  }

 private:
  FakeGuestMemory* memory_;
  VirtqueueDriver* q_;
  VringAvail* avail_;
  VringUsed* used_;
  uint16_t last_avail_ = 0;
};

}  // namespace vfsd

#endif  // VFSD_TESTING_VIRTQUEUE_DRIVER_TEST_DEVICE_H_
