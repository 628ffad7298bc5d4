// Walks one split-ring descriptor chain (virtio 1.2 §2.7.5, §2.7.5.3) and
// translates it into host iovecs, validating everything the guest wrote:
// every index, the chain length (a loop must not spin us), the readable-
// before-writable order, indirect tables (size, nesting, placement) and every
// buffer address. Each descriptor is copied out of guest memory once before
// use, so the guest rewriting it concurrently cannot change what we checked.
#ifndef VFSD_TRANSPORT_DESCRIPTOR_CHAIN_H_
#define VFSD_TRANSPORT_DESCRIPTOR_CHAIN_H_

#include <cstdint>

#include "absl/status/status.h"
#include "transport/guest_memory.h"

namespace vfsd {

// A translated chain: driver → device buffers, then device → driver ones.
struct DescriptorChain {
  uint16_t head = 0;
  IovecList readable;
  IovecList writable;
  uint64_t writable_bytes = 0;  // sum of writable() lengths

  void Clear() {
    readable.clear();
    writable.clear();
    writable_bytes = 0;
  }
};

struct ChainWalkParams {
  const uint8_t* desc_table = nullptr;  // host address of queue_size descriptors
  uint16_t queue_size = 0;              // 1..32768 (the ring's size)
  bool indirect_allowed = false;        // VIRTIO_RING_F_INDIRECT_DESC negotiated
};

// Entries one indirect table may have: `next` is 16 bits wide, so a larger
// table cannot be walked anyway, and it bounds the work per chain.
inline constexpr uint32_t kMaxIndirectEntries = 65536;

// Fills `out` (cleared first) with the chain starting at `head`. Returns
// InvalidArgument / OutOfRange describing the first violation; `out` is then
// unspecified except for `head`.
absl::Status WalkDescriptorChain(const ChainWalkParams& params, const GuestMemory& memory,
                                 uint16_t head, DescriptorChain* out);

}  // namespace vfsd

#endif  // VFSD_TRANSPORT_DESCRIPTOR_CHAIN_H_
