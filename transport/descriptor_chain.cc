#include "transport/descriptor_chain.h"

#include <cstring>

#include "absl/strings/str_format.h"
#include "transport/virtio_ring.h"

namespace vfsd {
namespace {

virtio::Descriptor ReadDescriptor(const uint8_t* table, uint32_t index) {
  // One copy out of shared memory; all checks look at the copy (TOCTOU).
  virtio::Descriptor desc;
  std::memcpy(&desc, table + static_cast<size_t>(index) * sizeof(desc), sizeof(desc));
  return desc;
}

// Appends one data descriptor's buffer to the right list.
absl::Status AddBuffer(const virtio::Descriptor& desc, const GuestMemory& memory,
                       DescriptorChain* out) {
  const bool writable = desc.flags & virtio::kDescFWrite;
  if (!writable && !out->writable.empty()) {
    // §2.7.4.2: all device-readable descriptors come before writable ones;
    // otherwise we could not tell the request from the reply space.
    return absl::InvalidArgumentError("readable descriptor after a writable one");
  }
  // §2.7.5: zero-length buffers carry nothing; skip them (but keep walking).
  if (desc.len == 0) return absl::OkStatus();
  absl::Status status =
      memory.TranslateToIovecs(desc.addr, desc.len, writable ? &out->writable : &out->readable);
  if (!status.ok()) return status;
  if (writable) out->writable_bytes += desc.len;
  return absl::OkStatus();
}

absl::Status WalkIndirectTable(const virtio::Descriptor& indirect, const GuestMemory& memory,
                               DescriptorChain* out) {
  // §2.7.5.3.1: the table is len/16 descriptors; a partial entry or an empty
  // table is a driver bug.
  if (indirect.len == 0 || indirect.len % sizeof(virtio::Descriptor) != 0) {
    return absl::InvalidArgumentError(
        absl::StrFormat("indirect table length %u is not a non-zero multiple of 16",
                        indirect.len));
  }
  const uint32_t entries = indirect.len / sizeof(virtio::Descriptor);
  if (entries > kMaxIndirectEntries) {
    return absl::InvalidArgumentError(
        absl::StrFormat("indirect table of %u entries is too large", entries));
  }
  absl::StatusOr<uint8_t*> table = memory.TranslateContiguous(indirect.addr, indirect.len);
  if (!table.ok()) return table.status();

  uint32_t index = 0;
  for (uint32_t count = 0;; ++count) {
    // A chain visiting more entries than the table has must revisit one.
    if (count >= entries) return absl::InvalidArgumentError("loop in indirect descriptor table");
    const virtio::Descriptor desc = ReadDescriptor(*table, index);
    if (desc.flags & virtio::kDescFIndirect) {
      // §2.7.5.3.1: the driver MUST NOT set INDIRECT inside a table.
      return absl::InvalidArgumentError("nested indirect descriptor");
    }
    if (absl::Status status = AddBuffer(desc, memory, out); !status.ok()) return status;
    if (!(desc.flags & virtio::kDescFNext)) return absl::OkStatus();
    if (desc.next >= entries) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "indirect descriptor next=%u beyond table of %u entries", desc.next, entries));
    }
    index = desc.next;
  }
}

}  // namespace

absl::Status WalkDescriptorChain(const ChainWalkParams& params, const GuestMemory& memory,
                                 uint16_t head, DescriptorChain* out) {
  out->Clear();
  out->head = head;
  if (head >= params.queue_size) {
    return absl::InvalidArgumentError(
        absl::StrFormat("head descriptor %u beyond queue size %u", head, params.queue_size));
  }
  uint32_t index = head;
  for (uint32_t count = 0;; ++count) {
    // §2.7.5.2: a chain is at most queue-size long; a longer one loops.
    if (count >= params.queue_size) return absl::InvalidArgumentError("loop in descriptor chain");
    const virtio::Descriptor desc = ReadDescriptor(params.desc_table, index);
    if (desc.flags & virtio::kDescFIndirect) {
      if (!params.indirect_allowed) {
        return absl::InvalidArgumentError("indirect descriptor without INDIRECT_DESC");
      }
      // §2.7.5.3.1: INDIRECT and NEXT are mutually exclusive, so the table
      // ends the chain.
      if (desc.flags & virtio::kDescFNext) {
        return absl::InvalidArgumentError("indirect descriptor with NEXT set");
      }
      return WalkIndirectTable(desc, memory, out);
    }
    if (absl::Status status = AddBuffer(desc, memory, out); !status.ok()) return status;
    if (!(desc.flags & virtio::kDescFNext)) return absl::OkStatus();
    if (desc.next >= params.queue_size) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "descriptor next=%u beyond queue size %u", desc.next, params.queue_size));
    }
    index = desc.next;
  }
}

}  // namespace vfsd
