#include "transport/vhost_user_device.h"

#include <sys/eventfd.h>
#include <sys/stat.h>

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "glog/logging.h"
#include "transport/virtio_ring.h"

namespace vfsd {
namespace {

namespace vu = vhost_user;
using vu::Request;

constexpr uint64_t Bit(int bit) { return 1ull << bit; }

// Payload of SET_FEATURES, SET_PROTOCOL_FEATURES, SET_VRING_KICK/CALL/ERR and
// of the u64 replies.
std::vector<uint8_t> U64Bytes(uint64_t value) {
  std::vector<uint8_t> bytes(sizeof(value));
  std::memcpy(bytes.data(), &value, sizeof(value));
  return bytes;
}

absl::Status BadSize(const VhostUserMessage& message, size_t expected) {
  return absl::InvalidArgumentError(absl::StrFormat(
      "vhost-user request %u: payload of %u bytes, expected %u", message.header.request,
      message.header.size, expected));
}

// Kick/call/err must be eventfds: a regular file would make poll() spin and a
// pipe could block the writer. Checked through /proc when it is mounted (the
// sandbox may hide it; then the fd is taken on trust).
// Every eventfd is a file on the kernel's one shared anonymous inode, so an
// fd is an eventfd exactly when fstat() names the same inode as one we made.
// (No /proc lookup: /proc is not where it used to be inside the sandbox.)
absl::Status CheckEventFd(int fd, const char* what) {
  static const std::optional<struct stat> reference = []() -> std::optional<struct stat> {
    UniqueFd probe(eventfd(0, EFD_CLOEXEC));
    struct stat st;
    if (!probe.valid() || fstat(probe.get(), &st) != 0) return std::nullopt;
    return st;
  }();
  struct stat st;
  if (fstat(fd, &st) != 0) {
    return absl::InvalidArgumentError(absl::StrFormat("%s fd: fstat: %s", what, strerror(errno)));
  }
  if (reference.has_value() &&
      (st.st_dev != reference->st_dev || st.st_ino != reference->st_ino)) {
    return absl::InvalidArgumentError(absl::StrFormat("%s fd is not an eventfd", what));
  }
  return absl::OkStatus();
}

GuestRegionSpec SpecOf(const vu::MemoryRegion& region) {
  return GuestRegionSpec{region.guest_phys_addr, region.memory_size, region.userspace_addr,
                         region.mmap_offset};
}

// Requests whose reply is part of the request (not a REPLY_ACK). If we cannot
// produce it the front-end would wait forever, so failing one ends the session.
bool HasInherentReply(Request request) {
  switch (request) {
    case Request::kGetFeatures:
    case Request::kGetProtocolFeatures:
    case Request::kGetQueueNum:
    case Request::kGetMaxMemSlots:
    case Request::kGetVringBase:
    case Request::kGetConfig:
    case Request::kGetInflightFd:
    case Request::kGetStatus:
      return true;
    default:
      return false;
  }
}

}  // namespace

uint64_t VhostUserDevice::OfferedFeatures() {
  return Bit(vu::kVirtioFVersion1) | Bit(vu::kVirtioFRingIndirectDesc) |
         Bit(vu::kVirtioFRingEventIdx) | Bit(vu::kVhostUserFProtocolFeatures);
}

uint64_t VhostUserDevice::OfferedProtocolFeatures() {
  return Bit(vu::kProtocolMq) | Bit(vu::kProtocolReplyAck) |
         Bit(vu::kProtocolConfigureMemSlots);
}

VhostUserDevice::VhostUserDevice(const VhostUserDeviceOptions& options, RequestHandler* handler)
    : options_(options), handler_(handler) {
  // hiprio + request queues; the vhost-user vring index is one byte wide.
  uint32_t queues = options.num_request_queues + 1;
  if (queues > 256) queues = 256;
  vrings_.resize(queues);
}

VhostUserDevice::~VhostUserDevice() { Shutdown(); }

bool VhostUserDevice::reply_ack() const {
  return acked_protocol_features_ & Bit(vu::kProtocolReplyAck);
}

bool VhostUserDevice::ring_running(uint32_t index) const {
  return index < vrings_.size() && vrings_[index].worker != nullptr;
}

void VhostUserDevice::Shutdown() {
  for (uint32_t i = 0; i < num_queues(); ++i) StopRing(i);
}

void VhostUserDevice::ResetState() {
  Shutdown();
  for (Vring& vring : vrings_) vring = Vring();
  memory_.Store(std::make_shared<const GuestMemory>());
  owner_ = false;
  acked_features_ = 0;
  // Protocol features belong to the connection, not the device state: QEMU
  // does not renegotiate them after a reset.
}

absl::Status VhostUserDevice::ValidateIndex(uint32_t index) const {
  if (index >= num_queues()) {
    return absl::InvalidArgumentError(
        absl::StrFormat("vring index %u out of range (%u queues)", index, num_queues()));
  }
  return absl::OkStatus();
}

absl::Status VhostUserDevice::ExpectFds(const VhostUserMessage& message, size_t count) const {
  if (message.fds_truncated || message.fds.size() != count) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "vhost-user request %u carries %u fds%s, expected %u", message.header.request,
        message.fds.size(), message.fds_truncated ? " (truncated)" : "", count));
  }
  return absl::OkStatus();
}

VhostUserDevice::Outcome VhostUserDevice::Handle(VhostUserMessage& message) {
  Outcome outcome;
  const Request request = message.request();
  auto reply_u64 = [&](uint64_t value) {
    outcome.reply = U64Bytes(value);
    outcome.has_reply = true;
  };
  // Requests without payload or fds.
  auto expect_empty = [&]() -> absl::Status {
    if (!message.payload.empty()) return BadSize(message, 0);
    return ExpectFds(message, 0);
  };

  absl::Status status;
  switch (request) {
    case Request::kGetFeatures:
      status = expect_empty();
      if (status.ok()) reply_u64(OfferedFeatures());
      break;
    case Request::kSetFeatures:
      status = SetFeatures(message);
      break;
    case Request::kGetProtocolFeatures:
      status = expect_empty();
      if (status.ok()) reply_u64(OfferedProtocolFeatures());
      break;
    case Request::kSetProtocolFeatures:
      status = SetProtocolFeatures(message);
      break;
    case Request::kSetOwner:
      status = expect_empty();
      // Re-sending SET_OWNER is harmless; QEMU sends it once per connection.
      if (status.ok()) owner_ = true;
      break;
    case Request::kResetOwner:
      status = expect_empty();
      if (status.ok()) ResetState();
      break;
    case Request::kGetQueueNum:
      status = expect_empty();
      if (status.ok()) reply_u64(num_queues());
      break;
    case Request::kGetMaxMemSlots:
      status = expect_empty();
      if (status.ok()) reply_u64(kMaxMemSlots);
      break;
    case Request::kSetMemTable:
      status = SetMemTable(message);
      break;
    case Request::kAddMemReg:
      status = AddMemReg(message);
      break;
    case Request::kRemMemReg:
      status = RemMemReg(message);
      break;
    case Request::kSetVringNum:
      status = SetVringNum(message);
      break;
    case Request::kSetVringAddr:
      status = SetVringAddr(message);
      break;
    case Request::kSetVringBase:
      status = SetVringBase(message);
      break;
    case Request::kGetVringBase:
      status = GetVringBase(message, &outcome);
      break;
    case Request::kSetVringKick:
    case Request::kSetVringCall:
    case Request::kSetVringErr:
      status = SetVringFd(message);
      break;
    case Request::kSetVringEnable:
      status = SetVringEnable(message);
      break;
    default:
      // Not offered, so a conforming front-end does not send it; refuse it
      // and keep the session (the fds it carried are closed with it).
      status = absl::UnimplementedError(
          absl::StrFormat("unsupported vhost-user request %u", message.header.request));
      break;
  }
  outcome.status = status;
  if (!status.ok() && HasInherentReply(request)) outcome.fatal = true;
  return outcome;
}

absl::Status VhostUserDevice::SetFeatures(const VhostUserMessage& message) {
  uint64_t features;
  if (!message.PayloadAs(&features)) return BadSize(message, sizeof(features));
  if (absl::Status status = ExpectFds(message, 0); !status.ok()) return status;
  if (features & ~OfferedFeatures()) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "SET_FEATURES 0x%x acks features we did not offer (0x%x)", features, OfferedFeatures()));
  }
  acked_features_ = features;
  // vhost-user.rst "Ring states": without VHOST_USER_F_PROTOCOL_FEATURES a
  // ring is enabled as soon as it starts; with it, rings start disabled and
  // wait for SET_VRING_ENABLE.
  const bool enabled = !(features & Bit(vu::kVhostUserFProtocolFeatures));
  for (uint32_t i = 0; i < num_queues(); ++i) {
    if (vrings_[i].worker != nullptr) continue;  // running rings keep their state
    vrings_[i].enabled = enabled;
  }
  return absl::OkStatus();
}

absl::Status VhostUserDevice::SetProtocolFeatures(const VhostUserMessage& message) {
  uint64_t features;
  if (!message.PayloadAs(&features)) return BadSize(message, sizeof(features));
  if (absl::Status status = ExpectFds(message, 0); !status.ok()) return status;
  if (features & ~OfferedProtocolFeatures()) {
    return absl::InvalidArgumentError(
        absl::StrFormat("SET_PROTOCOL_FEATURES 0x%x acks features we did not offer (0x%x)",
                        features, OfferedProtocolFeatures()));
  }
  acked_protocol_features_ = features;
  return absl::OkStatus();
}

absl::Status VhostUserDevice::SetMemTable(VhostUserMessage& message) {
  vu::MemoryTable table{};
  constexpr size_t kHeader = offsetof(vu::MemoryTable, regions);
  if (message.payload.size() < kHeader) return BadSize(message, kHeader);
  std::memcpy(&table, message.payload.data(), kHeader);
  if (table.nregions == 0 || table.nregions > vu::kSetMemTableMaxRegions) {
    return absl::InvalidArgumentError(
        absl::StrFormat("SET_MEM_TABLE with %u regions (1..8 allowed)", table.nregions));
  }
  // QEMU sends header + nregions entries; others send the whole table.
  const size_t used = kHeader + table.nregions * sizeof(vu::MemoryRegion);
  if (message.payload.size() != used && message.payload.size() != sizeof(table)) {
    return BadSize(message, used);
  }
  std::memcpy(table.regions, message.payload.data() + kHeader,
              table.nregions * sizeof(vu::MemoryRegion));
  if (absl::Status status = ExpectFds(message, table.nregions); !status.ok()) return status;

  std::vector<GuestMemory::RegionPtr> regions;
  for (uint32_t i = 0; i < table.nregions; ++i) {
    absl::StatusOr<GuestMemory::RegionPtr> region =
        GuestRegion::Map(SpecOf(table.regions[i]), message.fds[i].get());
    if (!region.ok()) return region.status();
    regions.push_back(*std::move(region));
  }
  absl::StatusOr<std::shared_ptr<const GuestMemory>> memory =
      GuestMemory::Create(std::move(regions));
  if (!memory.ok()) return memory.status();
  // Running rings keep the snapshot they started with for the rings
  // themselves (same fds, same pages); new chains use the new map.
  memory_.Store(*std::move(memory));
  VLOG(1) << "SET_MEM_TABLE: " << table.nregions << " regions";
  return absl::OkStatus();
}

absl::Status VhostUserDevice::AddMemReg(VhostUserMessage& message) {
  vu::SingleMemoryRegion single;
  if (!message.PayloadAs(&single)) return BadSize(message, sizeof(single));
  if (absl::Status status = ExpectFds(message, 1); !status.ok()) return status;
  std::shared_ptr<const GuestMemory> current = memory_.Load();
  if (current->regions().size() >= kMaxMemSlots) {
    return absl::ResourceExhaustedError(
        absl::StrFormat("ADD_MEM_REG beyond %u memory slots", kMaxMemSlots));
  }
  absl::StatusOr<GuestMemory::RegionPtr> region =
      GuestRegion::Map(SpecOf(single.region), message.fds[0].get());
  if (!region.ok()) return region.status();
  absl::StatusOr<std::shared_ptr<const GuestMemory>> memory =
      current->WithRegion(*std::move(region));
  if (!memory.ok()) return memory.status();
  memory_.Store(*std::move(memory));
  VLOG(1) << absl::StrFormat("ADD_MEM_REG gpa=0x%x size=0x%x", single.region.guest_phys_addr,
                             single.region.memory_size);
  return absl::OkStatus();
}

absl::Status VhostUserDevice::RemMemReg(VhostUserMessage& message) {
  vu::SingleMemoryRegion single;
  if (!message.PayloadAs(&single)) return BadSize(message, sizeof(single));
  // The spec says no fd, but QEMU versions have sent the region's fd along;
  // accept (and close) one.
  if (message.fds_truncated || message.fds.size() > 1) return ExpectFds(message, 0);
  absl::StatusOr<std::shared_ptr<const GuestMemory>> memory =
      memory_.Load()->WithoutRegion(SpecOf(single.region));
  if (!memory.ok()) return memory.status();
  // In-flight requests and running rings keep the region mapped through
  // their snapshots; it is unmapped when the last one lets go.
  memory_.Store(*std::move(memory));
  VLOG(1) << absl::StrFormat("REM_MEM_REG gpa=0x%x size=0x%x", single.region.guest_phys_addr,
                             single.region.memory_size);
  return absl::OkStatus();
}

absl::Status VhostUserDevice::SetVringNum(const VhostUserMessage& message) {
  vu::VringState state;
  if (!message.PayloadAs(&state)) return BadSize(message, sizeof(state));
  if (absl::Status status = ExpectFds(message, 0); !status.ok()) return status;
  if (absl::Status status = ValidateIndex(state.index); !status.ok()) return status;
  const uint32_t limit = std::min<uint32_t>(options_.max_queue_size, virtio::kMaxQueueSize);
  if (state.num == 0 || state.num > limit || (state.num & (state.num - 1)) != 0) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "SET_VRING_NUM %u for vring %u: not a power of two in 1..%u", state.num, state.index,
        limit));
  }
  Vring& vring = vrings_[state.index];
  if (vring.worker != nullptr) {
    return absl::FailedPreconditionError(
        absl::StrFormat("SET_VRING_NUM on running vring %u", state.index));
  }
  vring.size = state.num;
  return absl::OkStatus();
}

absl::Status VhostUserDevice::SetVringAddr(const VhostUserMessage& message) {
  vu::VringAddr addr;
  if (!message.PayloadAs(&addr)) return BadSize(message, sizeof(addr));
  if (absl::Status status = ExpectFds(message, 0); !status.ok()) return status;
  if (absl::Status status = ValidateIndex(addr.index); !status.ok()) return status;
  Vring& vring = vrings_[addr.index];
  const bool same = vring.addr_set && vring.desc_user_addr == addr.desc_user_addr &&
                    vring.avail_user_addr == addr.avail_user_addr &&
                    vring.used_user_addr == addr.used_user_addr;
  if (vring.worker != nullptr && !same) {
    // Only the log flag may change on the fly, and we do not offer logging.
    return absl::FailedPreconditionError(
        absl::StrFormat("SET_VRING_ADDR moving running vring %u", addr.index));
  }
  if (addr.flags & 1) {
    LOG(WARNING) << "SET_VRING_ADDR asks for dirty logging, which is not offered; ignored";
  }
  vring.desc_user_addr = addr.desc_user_addr;
  vring.avail_user_addr = addr.avail_user_addr;
  vring.used_user_addr = addr.used_user_addr;
  vring.addr_set = true;
  return absl::OkStatus();
}

absl::Status VhostUserDevice::SetVringBase(const VhostUserMessage& message) {
  vu::VringState state;
  if (!message.PayloadAs(&state)) return BadSize(message, sizeof(state));
  if (absl::Status status = ExpectFds(message, 0); !status.ok()) return status;
  if (absl::Status status = ValidateIndex(state.index); !status.ok()) return status;
  // Split rings: the base is a 16-bit avail index.
  if (state.num > 0xffff) {
    return absl::InvalidArgumentError(
        absl::StrFormat("SET_VRING_BASE %u for vring %u exceeds 16 bits", state.num, state.index));
  }
  Vring& vring = vrings_[state.index];
  if (vring.worker != nullptr) {
    return absl::FailedPreconditionError(
        absl::StrFormat("SET_VRING_BASE on running vring %u", state.index));
  }
  vring.next_avail = static_cast<uint16_t>(state.num);
  return absl::OkStatus();
}

absl::Status VhostUserDevice::GetVringBase(const VhostUserMessage& message, Outcome* outcome) {
  vu::VringState state;
  if (!message.PayloadAs(&state)) return BadSize(message, sizeof(state));
  if (absl::Status status = ExpectFds(message, 0); !status.ok()) return status;
  if (absl::Status status = ValidateIndex(state.index); !status.ok()) return status;
  // vhost-user.rst: GET_VRING_BASE stops the ring. A new SET_VRING_KICK
  // starts it again, so the old kick fd is dropped.
  StopRing(state.index);
  Vring& vring = vrings_[state.index];
  vring.kick.Reset();
  state.num = vring.next_avail;
  outcome->reply.resize(sizeof(state));
  std::memcpy(outcome->reply.data(), &state, sizeof(state));
  outcome->has_reply = true;
  VLOG(1) << "GET_VRING_BASE " << state.index << " = " << state.num;
  return absl::OkStatus();
}

absl::Status VhostUserDevice::SetVringFd(VhostUserMessage& message) {
  uint64_t payload;
  if (!message.PayloadAs(&payload)) return BadSize(message, sizeof(payload));
  if (payload & ~(vu::kVringIndexMask | vu::kVringNoFdFlag)) {
    return absl::InvalidArgumentError(
        absl::StrFormat("vring fd payload 0x%x has unknown bits", payload));
  }
  const uint32_t index = static_cast<uint32_t>(payload & vu::kVringIndexMask);
  const bool no_fd = payload & vu::kVringNoFdFlag;
  if (absl::Status status = ExpectFds(message, no_fd ? 0 : 1); !status.ok()) return status;
  if (absl::Status status = ValidateIndex(index); !status.ok()) return status;
  const Request request = message.request();
  const char* what = request == Request::kSetVringKick   ? "kick"
                     : request == Request::kSetVringCall ? "call"
                                                         : "err";
  if (!no_fd) {
    if (absl::Status status = CheckEventFd(message.fds[0].get(), what); !status.ok()) {
      return status;
    }
  }
  Vring& vring = vrings_[index];
  switch (request) {
    case Request::kSetVringKick:
      if (no_fd) {
        // The spec's alternative is polling the avail ring, which would burn
        // a core per queue; a vhost-user-fs front-end always sends an fd.
        return absl::InvalidArgumentError("SET_VRING_KICK without an fd (polling) is refused");
      }
      StopRing(index);  // a running ring keeps polling the old fd otherwise
      vring.kick = std::move(message.fds[0]);
      return MaybeStart(index);
    case Request::kSetVringCall:
      vring.call = no_fd ? nullptr : std::make_shared<const UniqueFd>(std::move(message.fds[0]));
      if (vring.queue != nullptr) vring.queue->SetCallFd(vring.call);
      return absl::OkStatus();
    default:
      vring.err = no_fd ? nullptr : std::make_shared<const UniqueFd>(std::move(message.fds[0]));
      if (vring.queue != nullptr) vring.queue->SetErrFd(vring.err);
      return absl::OkStatus();
  }
}

absl::Status VhostUserDevice::SetVringEnable(const VhostUserMessage& message) {
  vu::VringState state;
  if (!message.PayloadAs(&state)) return BadSize(message, sizeof(state));
  if (absl::Status status = ExpectFds(message, 0); !status.ok()) return status;
  if (absl::Status status = ValidateIndex(state.index); !status.ok()) return status;
  if (state.num > 1) {
    return absl::InvalidArgumentError(
        absl::StrFormat("SET_VRING_ENABLE %u for vring %u (0 or 1)", state.num, state.index));
  }
  Vring& vring = vrings_[state.index];
  vring.enabled = state.num == 1;
  if (!vring.enabled) {
    StopRing(state.index);
    return absl::OkStatus();
  }
  return MaybeStart(state.index);
}

absl::Status VhostUserDevice::MaybeStart(uint32_t index) {
  Vring& vring = vrings_[index];
  if (vring.worker != nullptr || !vring.enabled || !vring.kick.valid() || !vring.addr_set ||
      vring.size == 0) {
    return absl::OkStatus();  // not ready yet (or already running)
  }
  VirtqueueConfig config;
  config.index = static_cast<uint16_t>(index);
  config.size = vring.size;
  config.desc_user_addr = vring.desc_user_addr;
  config.avail_user_addr = vring.avail_user_addr;
  config.used_user_addr = vring.used_user_addr;
  config.next_avail = vring.next_avail;
  config.event_idx = acked_features_ & Bit(vu::kVirtioFRingEventIdx);
  config.indirect = acked_features_ & Bit(vu::kVirtioFRingIndirectDesc);
  absl::StatusOr<std::shared_ptr<Virtqueue>> queue = Virtqueue::Create(config, memory_.Load());
  if (!queue.ok()) {
    return absl::InvalidArgumentError(
        absl::StrFormat("cannot start vring %u: %s", index, queue.status().message()));
  }
  (*queue)->SetCallFd(vring.call);
  (*queue)->SetErrFd(vring.err);
  // hiprio (FORGET, INTERRUPT) is too rare to be worth a spinning thread.
  QueuePolling polling;
  if (index != 0) polling.max_ns = options_.request_queue_poll_max_ns;
  absl::StatusOr<std::unique_ptr<QueueWorker>> worker =
      QueueWorker::Start(*queue, vring.kick.get(), &memory_, handler_, polling);
  if (!worker.ok()) return worker.status();
  vring.queue = *std::move(queue);
  vring.worker = *std::move(worker);
  LOG(INFO) << absl::StrFormat("vring %u started (size %u, base %u%s%s)", index, vring.size,
                               vring.next_avail, config.event_idx ? ", event_idx" : "",
                               config.indirect ? ", indirect" : "");
  return absl::OkStatus();
}

void VhostUserDevice::StopRing(uint32_t index) {
  Vring& vring = vrings_[index];
  if (vring.worker == nullptr) return;
  vring.worker->Stop();
  // Requests the handler still holds write into the used ring when they
  // complete; the base we report must account for them, and the front-end
  // may reuse the ring after this returns. Requests that wait on the guest
  // itself (a blocking lock) are cancelled first, or this would never return.
  handler_->CancelBlockedRequests();
  vring.queue->WaitIdle();
  vring.next_avail = vring.queue->next_avail();
  vring.worker.reset();
  vring.queue.reset();
  LOG(INFO) << "vring " << index << " stopped at avail index " << vring.next_avail;
}

}  // namespace vfsd
