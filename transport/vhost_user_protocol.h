// Wire format of the vhost-user protocol (QEMU docs/interop/vhost-user.rst):
// message types, header flags, feature bits and payload layouts. Shared by
// the daemon side (transport/) and the fake VMM (testing/).
#ifndef VFSD_TRANSPORT_VHOST_USER_PROTOCOL_H_
#define VFSD_TRANSPORT_VHOST_USER_PROTOCOL_H_

#include <cstddef>
#include <cstdint>

namespace vfsd::vhost_user {

// Front-end → back-end requests.
enum class Request : uint32_t {
  kNone = 0,
  kGetFeatures = 1,
  kSetFeatures = 2,
  kSetOwner = 3,
  kResetOwner = 4,
  kSetMemTable = 5,
  kSetLogBase = 6,
  kSetLogFd = 7,
  kSetVringNum = 8,
  kSetVringAddr = 9,
  kSetVringBase = 10,
  kGetVringBase = 11,
  kSetVringKick = 12,
  kSetVringCall = 13,
  kSetVringErr = 14,
  kGetProtocolFeatures = 15,
  kSetProtocolFeatures = 16,
  kGetQueueNum = 17,
  kSetVringEnable = 18,
  kSendRarp = 19,
  kNetSetMtu = 20,
  kSetBackendReqFd = 21,
  kIotlbMsg = 22,
  kSetVringEndian = 23,
  kGetConfig = 24,
  kSetConfig = 25,
  kCreateCryptoSession = 26,
  kCloseCryptoSession = 27,
  kPostcopyAdvise = 28,
  kPostcopyListen = 29,
  kPostcopyEnd = 30,
  kGetInflightFd = 31,
  kSetInflightFd = 32,
  kGpuSetSocket = 33,
  kResetDevice = 34,
  kVringKick = 35,
  kGetMaxMemSlots = 36,
  kAddMemReg = 37,
  kRemMemReg = 38,
  kSetStatus = 39,
  kGetStatus = 40,
};

// Header flags.
inline constexpr uint32_t kVersionMask = 0x3;
inline constexpr uint32_t kVersion = 0x1;
inline constexpr uint32_t kFlagReply = 1u << 2;
inline constexpr uint32_t kFlagNeedReply = 1u << 3;

// Protocol feature bits (GET/SET_PROTOCOL_FEATURES).
enum ProtocolFeature : uint32_t {
  kProtocolMq = 0,
  kProtocolLogShmfd = 1,
  kProtocolRarp = 2,
  kProtocolReplyAck = 3,
  kProtocolMtu = 4,
  kProtocolBackendReq = 5,
  kProtocolCrossEndian = 6,
  kProtocolCryptoSession = 7,
  kProtocolPagefault = 8,
  kProtocolConfig = 9,
  kProtocolBackendSendFd = 10,
  kProtocolHostNotifier = 11,
  kProtocolInflightShmfd = 12,
  kProtocolResetDevice = 13,
  kProtocolInbandNotifications = 14,
  kProtocolConfigureMemSlots = 15,
  kProtocolStatus = 16,
};

// Virtio device feature bits relevant to a vhost-user-fs back-end.
inline constexpr int kVirtioFRingIndirectDesc = 28;
inline constexpr int kVirtioFRingEventIdx = 29;
inline constexpr int kVhostUserFProtocolFeatures = 30;
inline constexpr int kVirtioFVersion1 = 32;

// SET_VRING_KICK/CALL/ERR payload: queue index in the low byte, and this bit
// when no fd is attached (polling mode / no notification).
inline constexpr uint64_t kVringIndexMask = 0xff;
inline constexpr uint64_t kVringNoFdFlag = 1ull << 8;

// Limits from the spec.
inline constexpr size_t kMaxFdsPerMessage = 8;
inline constexpr size_t kSetMemTableMaxRegions = 8;

struct MessageHeader {
  uint32_t request;
  uint32_t flags;
  uint32_t size;  // payload bytes following the header
} __attribute__((packed));
static_assert(sizeof(MessageHeader) == 12);

struct VringState {
  uint32_t index;
  uint32_t num;
} __attribute__((packed));

struct VringAddr {
  uint32_t index;
  uint32_t flags;  // bit 0: VHOST_VRING_F_LOG
  uint64_t desc_user_addr;
  uint64_t used_user_addr;
  uint64_t avail_user_addr;
  uint64_t log_guest_addr;
} __attribute__((packed));

struct MemoryRegion {
  uint64_t guest_phys_addr;
  uint64_t memory_size;
  uint64_t userspace_addr;  // front-end virtual address (used by SET_VRING_ADDR)
  uint64_t mmap_offset;     // offset into the fd passed with the message
} __attribute__((packed));

struct MemoryTable {
  uint32_t nregions;
  uint32_t padding;
  MemoryRegion regions[kSetMemTableMaxRegions];
} __attribute__((packed));

// ADD_MEM_REG / REM_MEM_REG payload.
struct SingleMemoryRegion {
  uint64_t padding;
  MemoryRegion region;
} __attribute__((packed));

struct LogRegion {
  uint64_t mmap_size;
  uint64_t mmap_offset;
} __attribute__((packed));

// GET/SET_CONFIG payload header; `size` bytes of config space follow.
struct ConfigHeader {
  uint32_t offset;
  uint32_t size;
  uint32_t flags;
} __attribute__((packed));

inline constexpr size_t kMaxConfigSize = 256;

}  // namespace vfsd::vhost_user

#endif  // VFSD_TRANSPORT_VHOST_USER_PROTOCOL_H_
