// VhostUserDevice: the back-end state machine of one vhost-user-fs
// connection (QEMU docs/interop/vhost-user.rst). It negotiates features,
// owns the guest memory map and the per-vring state, starts a QueueWorker
// for a ring once it has a size, addresses, a kick eventfd and is enabled,
// and stops it on disable / GET_VRING_BASE / disconnect.
//
// Messages come from the front-end (the VMM), which is trusted to be a VMM
// but not to be bug-free: every size, index, fd count and address is
// checked; a bad message gets an error (REPLY_ACK) and the session goes on.
#ifndef VFSD_TRANSPORT_VHOST_USER_DEVICE_H_
#define VFSD_TRANSPORT_VHOST_USER_DEVICE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "absl/status/status.h"
#include "transport/guest_memory.h"
#include "transport/queue_request.h"
#include "transport/queue_worker.h"
#include "transport/unique_fd.h"
#include "transport/vhost_user_message.h"
#include "transport/virtqueue.h"

namespace vfsd {

struct VhostUserDeviceOptions {
  uint32_t num_request_queues = 1;  // request queues besides hiprio (GET_QUEUE_NUM = this + 1)
  uint32_t max_queue_size = 32768;
  // Adaptive polling of the request queues (not hiprio) before their
  // workers sleep; see QueueWorker. 0 disables it.
  uint64_t request_queue_poll_max_ns = 0;
};

// Regions accepted with CONFIGURE_MEM_SLOTS (rust-vmm's limit; QEMU caps at 512).
inline constexpr uint64_t kMaxMemSlots = 509;

class VhostUserDevice {
 public:
  VhostUserDevice(const VhostUserDeviceOptions& options, RequestHandler* handler);
  // Stops every ring and waits for their requests (Shutdown()).
  ~VhostUserDevice();
  VhostUserDevice(const VhostUserDevice&) = delete;
  VhostUserDevice& operator=(const VhostUserDevice&) = delete;

  // What the session does after a message.
  struct Outcome {
    absl::Status status;   // the message's result (also what REPLY_ACK reports)
    bool fatal = false;    // end the session (a reply we cannot give)
    std::vector<uint8_t> reply;  // inherent reply payload (GET_* requests)
    bool has_reply = false;
  };
  // Handles one message; the fds it does not keep are closed with it.
  Outcome Handle(VhostUserMessage& message);

  // Whether REPLY_ACK is negotiated (the session then answers NEED_REPLY).
  bool reply_ack() const;

  // Stops all rings and waits until every popped request has completed.
  void Shutdown();

  // Introspection for tests.
  bool has_owner() const { return owner_; }
  uint64_t acked_features() const { return acked_features_; }
  uint64_t acked_protocol_features() const { return acked_protocol_features_; }
  bool ring_running(uint32_t index) const;
  std::shared_ptr<const GuestMemory> memory() const { return memory_.Load(); }

  static uint64_t OfferedFeatures();
  static uint64_t OfferedProtocolFeatures();

 private:
  struct Vring {
    uint32_t size = 0;          // SET_VRING_NUM (0 = not set)
    bool addr_set = false;
    uint64_t desc_user_addr = 0, avail_user_addr = 0, used_user_addr = 0;
    uint16_t next_avail = 0;    // SET_VRING_BASE, updated on stop
    bool enabled = false;
    UniqueFd kick;
    SharedEventFd call;
    SharedEventFd err;
    std::shared_ptr<Virtqueue> queue;      // set while started
    std::unique_ptr<QueueWorker> worker;   // set while started
  };

  uint32_t num_queues() const { return static_cast<uint32_t>(vrings_.size()); }
  // Starts `index` if it has everything it needs and is not running.
  absl::Status MaybeStart(uint32_t index);
  // Stops the worker, waits for in-flight requests, records next_avail.
  void StopRing(uint32_t index);
  void ResetState();

  absl::Status ValidateIndex(uint32_t index) const;
  absl::Status ExpectFds(const VhostUserMessage& message, size_t count) const;

  absl::Status SetFeatures(const VhostUserMessage& message);
  absl::Status SetProtocolFeatures(const VhostUserMessage& message);
  absl::Status SetMemTable(VhostUserMessage& message);
  absl::Status AddMemReg(VhostUserMessage& message);
  absl::Status RemMemReg(VhostUserMessage& message);
  absl::Status SetVringNum(const VhostUserMessage& message);
  absl::Status SetVringAddr(const VhostUserMessage& message);
  absl::Status SetVringBase(const VhostUserMessage& message);
  absl::Status GetVringBase(const VhostUserMessage& message, Outcome* outcome);
  absl::Status SetVringFd(VhostUserMessage& message);
  absl::Status SetVringEnable(const VhostUserMessage& message);

  const VhostUserDeviceOptions options_;
  RequestHandler* const handler_;
  GuestMemoryHolder memory_;
  std::vector<Vring> vrings_;
  bool owner_ = false;
  uint64_t acked_features_ = 0;
  uint64_t acked_protocol_features_ = 0;
};

}  // namespace vfsd

#endif  // VFSD_TRANSPORT_VHOST_USER_DEVICE_H_
