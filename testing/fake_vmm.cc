// FakeVmm: the QEMU 7.2 vhost-user-fs front-end sequence (see fake_vmm.h).
#include "testing/fake_vmm.h"

#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "backends/errno_status.h"
#include "glog/logging.h"

namespace vfsd {

namespace vu = vhost_user;
using vu::Request;

namespace {

constexpr uint64_t Bit(int n) { return 1ull << n; }

// QEMU 7.2's VHOST_USER_PROTOCOL_FEATURE_MASK: every bit up to STATUS.
constexpr uint64_t kQemuProtocolMask = Bit(vu::kProtocolStatus + 1) - 1;

// Virtio device status bits (virtio 1.2 §2.1) QEMU adds at start.
constexpr uint8_t kStatusAcknowledge = 1, kStatusDriver = 2, kStatusDriverOk = 4;

}  // namespace

absl::StatusOr<std::unique_ptr<FakeVmm>> FakeVmm::Connect(const FakeVmmOptions& options) {
  if (options.num_request_queues < 1 || options.num_request_queues > 64) {
    return absl::InvalidArgumentError("num_request_queues must be in [1, 64]");
  }
  absl::StatusOr<VhostUserChannel> channel =
      VhostUserChannel::Connect(options.socket_path, options.connect_timeout);
  if (!channel.ok()) return channel.status();
  std::unique_ptr<FakeVmm> vmm(new FakeVmm(std::move(*channel)));
  vmm->options_ = options;
  absl::StatusOr<std::unique_ptr<FakeGuestMemory>> memory =
      FakeGuestMemory::Create(options.memory);
  if (!memory.ok()) return memory.status();
  vmm->memory_ = std::move(*memory);
  return vmm;
}

absl::StatusOr<std::unique_ptr<FakeVmm>> FakeVmm::Start(const FakeVmmOptions& options) {
  absl::StatusOr<std::unique_ptr<FakeVmm>> vmm = Connect(options);
  if (!vmm.ok()) return vmm.status();
  absl::Status status = (*vmm)->Handshake();
  if (!status.ok()) return status;
  return vmm;
}

FakeVmm::~FakeVmm() {
  Disconnect();
  for (int fd : masked_call_fds_) close(fd);
  if (backend_channel_fd_ >= 0) close(backend_channel_fd_);
}

void FakeVmm::Disconnect() { channel_.Close(); }

absl::Status FakeVmm::SendMessage(Request request, absl::Span<const uint8_t> payload,
                                  absl::Span<const int> fds, bool need_reply) {
  const bool wait = need_reply && has_protocol_feature(vu::kProtocolReplyAck);
  sent_.push_back(request);
  absl::Status status =
      channel_.Send(request, wait ? vu::kFlagNeedReply : 0, payload, fds);
  if (!status.ok() || !wait) return status;
  absl::StatusOr<VhostUserReply> reply =
      channel_.ReceiveReplyTo(request, options_.reply_timeout);
  if (!reply.ok()) return reply.status();
  uint64_t value = 0;
  if (reply->payload.size() != sizeof(value)) {
    return absl::DataLossError(absl::StrCat("REPLY_ACK for request ",
                                            static_cast<uint32_t>(request), " has ",
                                            reply->payload.size(), " bytes"));
  }
  std::memcpy(&value, reply->payload.data(), sizeof(value));
  if (value != 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "daemon nacked request ", static_cast<uint32_t>(request), " with ", value));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<uint8_t>> FakeVmm::Query(Request request,
                                                    absl::Span<const uint8_t> payload) {
  sent_.push_back(request);
  absl::Status status = channel_.Send(request, 0, payload);
  if (!status.ok()) return status;
  absl::StatusOr<VhostUserReply> reply =
      channel_.ReceiveReplyTo(request, options_.reply_timeout);
  if (!reply.ok()) return reply.status();
  return std::move(reply->payload);
}

absl::StatusOr<uint64_t> FakeVmm::QueryU64(Request request) {
  absl::StatusOr<std::vector<uint8_t>> payload = Query(request);
  if (!payload.ok()) return payload.status();
  uint64_t value;
  if (payload->size() != sizeof(value)) {
    return absl::DataLossError(absl::StrCat("reply to request ",
                                            static_cast<uint32_t>(request), " has ",
                                            payload->size(), " bytes, want 8"));
  }
  std::memcpy(&value, payload->data(), sizeof(value));
  return value;
}

absl::Status FakeVmm::SendVringFile(Request request, uint32_t queue, int fd) {
  const uint64_t index = queue & vu::kVringIndexMask;
  return SendMessage(request, AsBytes(index), {&fd, 1});
}

absl::Status FakeVmm::SendVringState(Request request, uint32_t queue, uint32_t num) {
  const vu::VringState state{queue, num};
  return SendMessage(request, AsBytes(state));
}

absl::Status FakeVmm::Handshake() {
  absl::Status status = Realize();
  if (!status.ok()) return status;
  return StartDevice();
}

// vhost_user_backend_init + the rest of vhost_dev_init.
absl::Status FakeVmm::Realize() {
  absl::StatusOr<uint64_t> features = QueryU64(Request::kGetFeatures);
  if (!features.ok()) return features.status();
  backend_features_ = *features;
  if (backend_features_ & Bit(vu::kVhostUserFProtocolFeatures)) {
    absl::StatusOr<uint64_t> protocol = QueryU64(Request::kGetProtocolFeatures);
    if (!protocol.ok()) return protocol.status();
    backend_protocol_features_ = *protocol;
    uint64_t ack = backend_protocol_features_ & kQemuProtocolMask & ~Bit(vu::kProtocolConfig);
    if (!options_.reply_ack) ack &= ~Bit(vu::kProtocolReplyAck);
    if (!options_.backend_req) ack &= ~Bit(vu::kProtocolBackendReq);
    if (options_.memory_mode == MemoryTableMode::kSetMemTable) {
      ack &= ~Bit(vu::kProtocolConfigureMemSlots);
    }
    // SET_PROTOCOL_FEATURES goes out before we may rely on REPLY_ACK.
    absl::Status status = SendMessage(Request::kSetProtocolFeatures, AsBytes(ack));
    if (!status.ok()) return status;
    acked_protocol_features_ = ack;
    if (has_protocol_feature(vu::kProtocolMq)) {
      absl::StatusOr<uint64_t> queues = QueryU64(Request::kGetQueueNum);
      if (!queues.ok()) return queues.status();
      max_queues_ = *queues;
    }
    if (has_protocol_feature(vu::kProtocolConfigureMemSlots)) {
      absl::StatusOr<uint64_t> slots = QueryU64(Request::kGetMaxMemSlots);
      if (!slots.ok()) return slots.status();
      max_mem_slots_ = *slots;
    }
  }
  absl::Status status;
  const uint64_t nvqs = 1 + static_cast<uint64_t>(options_.num_request_queues);
  if (max_queues_ < nvqs && has_protocol_feature(vu::kProtocolMq)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "daemon supports ", max_queues_, " queues, need ", nvqs));
  }
  if (options_.memory_mode == MemoryTableMode::kAddMemReg &&
      !has_protocol_feature(vu::kProtocolConfigureMemSlots)) {
    return absl::FailedPreconditionError("daemon does not offer CONFIGURE_MEM_SLOTS");
  }
  if (has_protocol_feature(vu::kProtocolBackendReq)) {
    int pair[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) {
      return ErrnoFromLastError("socketpair");
    }
    backend_channel_fd_ = pair[0];
    status = SendMessage(Request::kSetBackendReqFd, {}, {&pair[1], 1}, /*need_reply=*/true);
    close(pair[1]);
    if (!status.ok()) return status;
  }
  status = SendMessage(Request::kSetOwner, {});
  if (!status.ok()) return status;
  features = QueryU64(Request::kGetFeatures);
  if (!features.ok()) return features.status();
  if (*features != backend_features_) {
    return absl::DataLossError("GET_FEATURES changed between two calls");
  }
  // vhost_virtqueue_init: every queue starts with a masked notifier as its
  // call fd; the real one replaces it when the device starts.
  for (uint32_t q = 0; q < nvqs; ++q) {
    const int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (fd < 0) return ErrnoFromLastError("eventfd");
    masked_call_fds_.push_back(fd);
    status = SendVringFile(Request::kSetVringCall, q, fd);
    if (!status.ok()) return status;
  }
  return absl::OkStatus();
}

absl::Status FakeVmm::SendMemory() {
  const auto& regions = memory_->regions();
  if (has_protocol_feature(vu::kProtocolConfigureMemSlots)) {
    if (regions.size() > max_mem_slots_) {
      return absl::FailedPreconditionError(absl::StrCat(
          regions.size(), " regions but the daemon has ", max_mem_slots_, " slots"));
    }
    for (size_t i = regions_added_; i < regions.size(); ++i) {
      const vu::SingleMemoryRegion msg{0, memory_->WireRegion(i)};
      const int fd = regions[i].fd;
      absl::Status status =
          SendMessage(Request::kAddMemReg, AsBytes(msg), {&fd, 1}, /*need_reply=*/true);
      if (!status.ok()) return status;
      regions_added_ = i + 1;
    }
    return absl::OkStatus();
  }
  if (regions.size() > vu::kSetMemTableMaxRegions) {
    return absl::InvalidArgumentError("SET_MEM_TABLE carries at most 8 regions");
  }
  // QEMU sends only the used part of the table: header + nregions entries.
  vu::MemoryTable table{};
  table.nregions = static_cast<uint32_t>(regions.size());
  int fds[vu::kSetMemTableMaxRegions];
  for (size_t i = 0; i < regions.size(); ++i) {
    table.regions[i] = memory_->WireRegion(i);
    fds[i] = regions[i].fd;
  }
  const size_t len = offsetof(vu::MemoryTable, regions) + regions.size() * sizeof(vu::MemoryRegion);
  return SendMessage(Request::kSetMemTable,
                     absl::Span<const uint8_t>(reinterpret_cast<const uint8_t*>(&table), len),
                     absl::Span<const int>(fds, regions.size()), /*need_reply=*/true);
}

// vhost_dev_start + vuf_start.
absl::Status FakeVmm::StartDevice() {
  uint64_t wanted = Bit(vu::kVirtioFVersion1);
  if (options_.indirect_desc) wanted |= Bit(vu::kVirtioFRingIndirectDesc);
  if (options_.event_idx) wanted |= Bit(vu::kVirtioFRingEventIdx);
  if ((backend_features_ & Bit(vu::kVirtioFVersion1)) == 0) {
    return absl::FailedPreconditionError("daemon does not offer VIRTIO_F_VERSION_1");
  }
  acked_features_ = (backend_features_ & wanted) |
                    (backend_features_ & Bit(vu::kVhostUserFProtocolFeatures));
  absl::Status status = SendMessage(Request::kSetFeatures, AsBytes(acked_features_));
  if (!status.ok()) return status;
  status = SendMemory();
  if (!status.ok()) return status;

  const bool event_idx = acked_features_ & Bit(vu::kVirtioFRingEventIdx);
  const uint32_t nvqs = 1 + static_cast<uint32_t>(options_.num_request_queues);
  queues_.clear();
  for (uint32_t q = 0; q < nvqs; ++q) {
    absl::StatusOr<std::unique_ptr<VirtqueueDriver>> vq =
        VirtqueueDriver::Create(memory_.get(), options_.queue_size, event_idx,
                                options_.initial_ring_index);
    if (!vq.ok()) return vq.status();
    queues_.push_back(std::move(*vq));
    VirtqueueDriver& d = *queues_.back();
    if (!(status = SendVringState(Request::kSetVringNum, q, d.size())).ok()) return status;
    if (!(status = SendVringState(Request::kSetVringBase, q, d.avail_idx())).ok()) return status;
    const vu::VringAddr addr{q, 0, memory_->UserAddress(d.desc_gpa()),
                             memory_->UserAddress(d.used_gpa()),
                             memory_->UserAddress(d.avail_gpa()), 0};
    if (!(status = SendMessage(Request::kSetVringAddr, AsBytes(addr))).ok()) return status;
    if (!(status = SendVringFile(Request::kSetVringKick, q, d.kick_fd())).ok()) return status;
  }
  if (acked_features_ & Bit(vu::kVhostUserFProtocolFeatures)) {
    for (uint32_t q = 0; q < nvqs; ++q) {
      if (!(status = SendVringState(Request::kSetVringEnable, q, 1)).ok()) return status;
    }
  }
  if (has_protocol_feature(vu::kProtocolStatus)) {
    absl::StatusOr<std::vector<uint8_t>> current = Query(Request::kGetStatus);
    if (!current.ok()) return current.status();
    uint64_t value = 0;
    std::memcpy(&value, current->data(), std::min(current->size(), sizeof(value)));
    value |= kStatusAcknowledge | kStatusDriver | kStatusDriverOk;
    if (!(status = SendMessage(Request::kSetStatus, AsBytes(value))).ok()) return status;
  }
  for (uint32_t q = 0; q < nvqs; ++q) {
    if (!(status = SendVringFile(Request::kSetVringCall, q, queues_[q]->call_fd())).ok()) {
      return status;
    }
  }
  LOG(INFO) << "fake VMM: device started, features 0x" << std::hex << acked_features_
            << " protocol 0x" << acked_protocol_features_ << std::dec << ", " << nvqs
            << " queues, " << memory_->regions().size() << " memory regions via "
            << (has_protocol_feature(vu::kProtocolConfigureMemSlots) ? "ADD_MEM_REG"
                                                                     : "SET_MEM_TABLE");
  return absl::OkStatus();
}

absl::Status FakeVmm::Restart() {
  if (queues_.empty()) return absl::FailedPreconditionError("device was never started");
  return StartDevice();
}

absl::StatusOr<uint32_t> FakeVmm::GetVringBase(uint32_t queue) {
  const vu::VringState state{queue, 0};
  absl::StatusOr<std::vector<uint8_t>> reply = Query(Request::kGetVringBase, AsBytes(state));
  if (!reply.ok()) return reply.status();
  vu::VringState out;
  if (reply->size() != sizeof(out)) {
    return absl::DataLossError("GET_VRING_BASE reply has the wrong size");
  }
  std::memcpy(&out, reply->data(), sizeof(out));
  if (out.index != queue) return absl::DataLossError("GET_VRING_BASE reply for another queue");
  return static_cast<uint32_t>(out.num);
}

absl::StatusOr<std::vector<uint32_t>> FakeVmm::Stop() {
  absl::Status status;
  if (has_protocol_feature(vu::kProtocolStatus)) {
    const uint64_t zero = 0;
    if (!(status = SendMessage(Request::kSetStatus, AsBytes(zero))).ok()) return status;
  }
  const uint32_t nvqs = static_cast<uint32_t>(queues_.size());
  if (acked_features_ & Bit(vu::kVhostUserFProtocolFeatures)) {
    for (uint32_t q = 0; q < nvqs; ++q) {
      if (!(status = SendVringState(Request::kSetVringEnable, q, 0)).ok()) return status;
    }
  }
  std::vector<uint32_t> bases;
  for (uint32_t q = 0; q < nvqs; ++q) {
    absl::StatusOr<uint32_t> base = GetVringBase(q);
    if (!base.ok()) return base.status();
    bases.push_back(*base);
  }
  return bases;
}

}  // namespace vfsd
