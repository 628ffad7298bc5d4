// Split virtqueue wire layout (virtio 1.2 §2.7): descriptor, avail and used
// ring formats, flags, alignment and the event-index helper. Little-endian
// only (virtio 1.x on x86/arm64 hosts), which VERSION_1 guarantees.
#ifndef VFSD_TRANSPORT_VIRTIO_RING_H_
#define VFSD_TRANSPORT_VIRTIO_RING_H_

#include <cstddef>
#include <cstdint>

namespace vfsd::virtio {

struct Descriptor {
  uint64_t addr;
  uint32_t len;
  uint16_t flags;
  uint16_t next;
};
static_assert(sizeof(Descriptor) == 16);

inline constexpr uint16_t kDescFNext = 1;
inline constexpr uint16_t kDescFWrite = 2;
inline constexpr uint16_t kDescFIndirect = 4;

struct UsedElement {
  uint32_t id;
  uint32_t len;
};
static_assert(sizeof(UsedElement) == 8);

// avail: flags, idx, ring[size], used_event (EVENT_IDX).
inline constexpr uint16_t kAvailFNoInterrupt = 1;
// used: flags, idx, ring[size], avail_event (EVENT_IDX).
inline constexpr uint16_t kUsedFNoNotify = 1;

inline constexpr uint32_t kMaxQueueSize = 32768;

// §2.7 alignment requirements for the three parts.
inline constexpr uint64_t kDescAlign = 16;
inline constexpr uint64_t kAvailAlign = 2;
inline constexpr uint64_t kUsedAlign = 4;

inline constexpr uint64_t DescTableBytes(uint32_t size) { return 16ull * size; }
inline constexpr uint64_t AvailRingBytes(uint32_t size) { return 6ull + 2ull * size; }
inline constexpr uint64_t UsedRingBytes(uint32_t size) { return 6ull + 8ull * size; }

// §2.7.10: notify iff new_idx moved past event_idx since old_idx.
inline bool NeedEvent(uint16_t event_idx, uint16_t new_idx, uint16_t old_idx) {
  return static_cast<uint16_t>(new_idx - event_idx - 1) <
         static_cast<uint16_t>(new_idx - old_idx);
}

}  // namespace vfsd::virtio

#endif  // VFSD_TRANSPORT_VIRTIO_RING_H_
