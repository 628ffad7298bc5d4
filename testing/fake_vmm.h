// FakeVmm plays QEMU 7.2's vhost-user-fs-pci front-end against any
// vhost-user-fs daemon socket: guest memory as memfds, the vhost-user
// handshake in QEMU's order, one hiprio + N request virtqueues, stop
// (GET_VRING_BASE) and disconnect. It is the integration driver for the
// transport, protocol and daemon work; FuseClient speaks FUSE on its queues.
//
// Replayed sequence (QEMU 7.2 hw/virtio/vhost-user.c vhost_user_backend_init,
// vhost.c vhost_dev_init / vhost_dev_start / vhost_virtqueue_start,
// vhost-user-fs.c vuf_start):
//   realize:  GET_FEATURES; [GET_PROTOCOL_FEATURES; SET_PROTOCOL_FEATURES]
//             [GET_QUEUE_NUM if MQ] [GET_MAX_MEM_SLOTS if CONFIGURE_MEM_SLOTS]
//             [SET_BACKEND_REQ_FD if BACKEND_REQ]; SET_OWNER; GET_FEATURES;
//             SET_VRING_CALL(q, masked-notifier eventfd) for every queue
//   start:    SET_FEATURES; SET_MEM_TABLE | ADD_MEM_REG x regions;
//             per queue SET_VRING_NUM, SET_VRING_BASE(0), SET_VRING_ADDR,
//             SET_VRING_KICK; SET_VRING_ENABLE(q, 1) for every queue (only
//             with VHOST_USER_F_PROTOCOL_FEATURES); [GET_STATUS; SET_STATUS
//             if STATUS]; SET_VRING_CALL(q, guest notifier) for every queue
//             (vuf_start unmasks after vhost_dev_start)
//   stop:     [SET_STATUS(0)]; SET_VRING_ENABLE(q, 0) for every queue;
//             GET_VRING_BASE per queue
//   restart:  the start sequence again on fresh rings (a guest reboot);
//             with ADD_MEM_REG only regions not yet added are sent, as
//             QEMU's vhost_user_add_remove_regions diffs against what the
//             back-end already has, while SET_MEM_TABLE is always resent
// (With virtio-pci + KVM irqfd, set_guest_notifiers before vhost_dev_start
// may also unmask vectors and send extra SET_VRING_CALLs depending on the
// guest's MSI-X state; FakeVmm replays only the deterministic calls above.)
// NEED_REPLY is set exactly where QEMU sets it when REPLY_ACK is negotiated:
// SET_MEM_TABLE, each ADD_MEM_REG, SET_BACKEND_REQ_FD. QEMU acks every
// protocol feature the back-end offers except CONFIG (vhost-user-fs has no
// config notifier); so does FakeVmm, minus what the options turn off.
#ifndef VFSD_TESTING_FAKE_VMM_H_
#define VFSD_TESTING_FAKE_VMM_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "testing/fake_vmm_channel.h"
#include "testing/fake_vmm_memory.h"
#include "testing/virtqueue_driver.h"
#include "transport/vhost_user_protocol.h"

namespace vfsd {

enum class MemoryTableMode {
  // ADD_MEM_REG per region if the daemon offers CONFIGURE_MEM_SLOTS (what
  // QEMU 7.2 does), SET_MEM_TABLE otherwise.
  kAuto,
  // Never ack CONFIGURE_MEM_SLOTS; one SET_MEM_TABLE (Cloud Hypervisor).
  kSetMemTable,
  // Require CONFIGURE_MEM_SLOTS and send ADD_MEM_REG per region.
  kAddMemReg,
};

struct FakeVmmOptions {
  std::string socket_path;
  absl::Duration connect_timeout = absl::Seconds(10);
  absl::Duration reply_timeout = absl::Seconds(10);
  FakeGuestMemoryOptions memory;
  MemoryTableMode memory_mode = MemoryTableMode::kAuto;
  int num_request_queues = 1;  // queue 0 is hiprio, 1..N are request queues
  uint16_t queue_size = 128;   // vhost-user-fs-pci's default queue-size
  bool event_idx = true;       // ack VIRTIO_RING_F_EVENT_IDX if offered
  bool indirect_desc = true;   // ack VIRTIO_RING_F_INDIRECT_DESC if offered
  bool reply_ack = true;       // ack REPLY_ACK if offered
  bool backend_req = true;     // ack BACKEND_REQ and send a socketpair end
  // Ring indices to start from (sent as SET_VRING_BASE); near 65535 this
  // tests the daemon's index wrap-around.
  uint16_t initial_ring_index = 0;
};

class FakeVmm {
 public:
  // Connects (retrying until the socket exists) and creates guest memory
  // and the queues; sends nothing.
  static absl::StatusOr<std::unique_ptr<FakeVmm>> Connect(const FakeVmmOptions& options);
  // Connect() + Handshake(): a running device ready for FUSE requests.
  static absl::StatusOr<std::unique_ptr<FakeVmm>> Start(const FakeVmmOptions& options);
  ~FakeVmm();

  // The realize + start sequence documented above.
  absl::Status Handshake();
  // The stop sequence; returns each queue's GET_VRING_BASE.
  absl::StatusOr<std::vector<uint32_t>> Stop();
  // After Stop(): the start sequence again with new, empty rings. Queue
  // references (and FuseClients built on them) from before are invalid.
  absl::Status Restart();
  absl::StatusOr<uint32_t> GetVringBase(uint32_t queue);
  // Closes the socket as QEMU does when the VM quits.
  void Disconnect();

  // Sends one well-formed message; with `need_reply` (and REPLY_ACK
  // negotiated) waits for the ack and turns a non-zero one into an error.
  absl::Status SendMessage(vhost_user::Request request, absl::Span<const uint8_t> payload,
                           absl::Span<const int> fds = {}, bool need_reply = false);
  // Sends a request and returns its reply's payload (GET_* requests).
  absl::StatusOr<std::vector<uint8_t>> Query(vhost_user::Request request,
                                             absl::Span<const uint8_t> payload = {});
  absl::StatusOr<uint64_t> QueryU64(vhost_user::Request request);
  // For malformed-message tests: the raw socket.
  VhostUserChannel& channel() { return channel_; }

  FakeGuestMemory& memory() { return *memory_; }
  const FakeGuestMemory& memory() const { return *memory_; }
  int num_queues() const { return static_cast<int>(queues_.size()); }
  VirtqueueDriver& queue(int index) { return *queues_[index]; }
  VirtqueueDriver& hiprio_queue() { return *queues_[0]; }
  VirtqueueDriver& request_queue(int n = 0) { return *queues_[1 + n]; }

  uint64_t backend_features() const { return backend_features_; }
  uint64_t acked_features() const { return acked_features_; }
  uint64_t backend_protocol_features() const { return backend_protocol_features_; }
  uint64_t acked_protocol_features() const { return acked_protocol_features_; }
  uint64_t max_queues() const { return max_queues_; }
  uint64_t max_mem_slots() const { return max_mem_slots_; }
  bool has_protocol_feature(int bit) const { return (acked_protocol_features_ >> bit) & 1; }
  // Our end of the BACKEND_REQ socketpair (-1 if not negotiated).
  int backend_channel_fd() const { return backend_channel_fd_; }
  // Every request sent so far, in order (tests assert the replay order).
  const std::vector<vhost_user::Request>& sent() const { return sent_; }

 private:
  explicit FakeVmm(VhostUserChannel channel) : channel_(std::move(channel)) {}

  absl::Status Realize();
  absl::Status StartDevice();
  absl::Status SendMemory();
  absl::Status SendVringFile(vhost_user::Request request, uint32_t queue, int fd);
  absl::Status SendVringState(vhost_user::Request request, uint32_t queue, uint32_t num);

  FakeVmmOptions options_;
  VhostUserChannel channel_;
  std::unique_ptr<FakeGuestMemory> memory_;
  std::vector<std::unique_ptr<VirtqueueDriver>> queues_;
  std::vector<int> masked_call_fds_;  // QEMU's per-queue masked notifiers
  size_t regions_added_ = 0;          // ADD_MEM_REG already sent for these
  int backend_channel_fd_ = -1;
  uint64_t backend_features_ = 0;
  uint64_t acked_features_ = 0;
  uint64_t backend_protocol_features_ = 0;
  uint64_t acked_protocol_features_ = 0;
  uint64_t max_queues_ = 1;
  uint64_t max_mem_slots_ = 0;
  std::vector<vhost_user::Request> sent_;
};

}  // namespace vfsd

#endif  // VFSD_TESTING_FAKE_VMM_H_
