// FuseClient speaks FUSE (<linux/fuse.h>) over FakeVmm virtqueues the way
// the Linux virtio-fs driver does (fs/fuse/virtio_fs.c): each request is a
// chain [fuse_in_header][args] (readable) + [fuse_out_header][reply]
// (writable); FORGET/BATCH_FORGET go on the hiprio queue with no writable
// part. Unique ids step by 2 like the kernel's (bit 0 is for interrupts).
//
// Replies are checked, not trusted: out.len must equal the used length, fit
// the buffer, echo the unique, and carry an error in (-4096, 0] with no
// payload. Violations are DataLossError; FUSE errors become
// ErrnoStatus(-error) so tests can assert ErrnoOf(status) == ENOENT.
//
// Two ways to use it: blocking typed calls (Lookup, Read, ...; one request
// at a time), or Submit() up to `max_in_flight` requests, Kick(), then
// WaitCompletion() for each (queue depth N, used by the benchmark).
#ifndef VFSD_TESTING_FUSE_CLIENT_H_
#define VFSD_TESTING_FUSE_CLIENT_H_

#include <linux/fuse.h>

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "testing/fake_vmm_memory.h"
#include "testing/fuse_client_dirents.h"
#include "testing/virtqueue_driver.h"

namespace vfsd {

struct FuseClientOptions {
  uint16_t max_in_flight = 16;
  uint32_t max_args_size = 4096 + 128 * 1024;   // room for 128 KiB WRITE payloads
  uint32_t max_reply_size = 128 * 1024 + 4096;  // room for 128 KiB READ replies
  bool indirect = false;  // put each request in an indirect table
  uint32_t uid = 0, gid = 0, pid = 1;
  absl::Duration timeout = absl::Seconds(10);
  // Uniques are first_unique, first_unique + unique_stride, ... Both must
  // be even (bit 0 marks interrupts). Several clients on one device (one
  // per request queue) use interleaved sequences so uniques stay distinct
  // device-wide, as the kernel's single counter makes them.
  uint64_t first_unique = 2;
  uint64_t unique_stride = 2;
};

// A finished request. `payload` points into guest memory and stays valid
// only until the next Submit().
struct FuseCompletion {
  uint64_t unique;
  uint32_t opcode;
  int32_t error;  // 0 or -errno
  absl::Span<const uint8_t> payload;
};

// A blocking call's reply, copied out of guest memory.
struct FuseReply {
  int32_t error;
  std::vector<uint8_t> payload;
};

class FuseClient {
 public:
  // `hiprio` may be null (forgets then go on `requests`).
  static absl::StatusOr<std::unique_ptr<FuseClient>> Create(FakeGuestMemory* memory,
                                                            VirtqueueDriver* requests,
                                                            VirtqueueDriver* hiprio,
                                                            const FuseClientOptions& options = {});

  void SetCredentials(uint32_t uid, uint32_t gid, uint32_t pid) {
    options_.uid = uid, options_.gid = gid, options_.pid = pid;
  }
  const fuse_init_out& init_out() const { return init_out_; }

  // --- queue-depth API ---
  // Adds one request (args = concatenation of `args`) to the avail ring
  // without notifying; `reply_capacity` bytes are offered after the out
  // header (0 for requests without a reply). Returns its unique.
  absl::StatusOr<uint64_t> Submit(uint32_t opcode, uint64_t nodeid,
                                  std::initializer_list<absl::Span<const uint8_t>> args,
                                  uint32_t reply_capacity);
  // Publishes submitted requests and kicks (unless suppressed).
  absl::Status Kick();
  // Waits for the next completed request (in device completion order).
  absl::StatusOr<FuseCompletion> WaitCompletion();
  // Non-blocking WaitCompletion(): nullopt if the device has returned
  // nothing yet (lets one thread drive several request queues).
  absl::StatusOr<std::optional<FuseCompletion>> PollCompletion();
  uint16_t in_flight() const { return in_flight_; }

  // --- blocking API (requires nothing in flight) ---
  absl::StatusOr<FuseReply> Call(uint32_t opcode, uint64_t nodeid,
                                 absl::Span<const uint8_t> args, uint32_t reply_capacity);

  // FUSE_INIT offering FUSE_KERNEL_VERSION.FUSE_KERNEL_MINOR_VERSION and
  // `flags` (the default is what a virtio-fs guest kernel asks for).
  static constexpr uint64_t kDefaultInitFlags =
      FUSE_ASYNC_READ | FUSE_POSIX_LOCKS | FUSE_ATOMIC_O_TRUNC | FUSE_EXPORT_SUPPORT |
      FUSE_BIG_WRITES | FUSE_DONT_MASK | FUSE_FLOCK_LOCKS | FUSE_AUTO_INVAL_DATA |
      FUSE_DO_READDIRPLUS | FUSE_READDIRPLUS_AUTO | FUSE_ASYNC_DIO | FUSE_WRITEBACK_CACHE |
      FUSE_NO_OPEN_SUPPORT | FUSE_PARALLEL_DIROPS | FUSE_HANDLE_KILLPRIV | FUSE_POSIX_ACL |
      FUSE_ABORT_ERROR | FUSE_MAX_PAGES | FUSE_CACHE_SYMLINKS | FUSE_NO_OPENDIR_SUPPORT |
      FUSE_EXPLICIT_INVAL_DATA | FUSE_SUBMOUNTS | FUSE_HANDLE_KILLPRIV_V2 |
      FUSE_SETXATTR_EXT | FUSE_INIT_EXT;
  absl::StatusOr<fuse_init_out> Init(uint64_t flags = kDefaultInitFlags,
                                     uint32_t max_readahead = 128 * 1024);
  absl::StatusOr<fuse_entry_out> Lookup(uint64_t parent, absl::string_view name);
  absl::Status Forget(uint64_t nodeid, uint64_t nlookup);
  absl::Status BatchForget(absl::Span<const fuse_forget_one> forgets);
  absl::StatusOr<fuse_attr_out> GetAttr(uint64_t nodeid, uint64_t fh = 0,
                                        bool use_fh = false);
  absl::StatusOr<fuse_open_out> OpenDir(uint64_t nodeid, uint32_t flags = 0);
  absl::StatusOr<std::vector<FuseDirEntry>> ReadDir(uint64_t nodeid, uint64_t fh,
                                                    uint64_t offset, uint32_t size = 4096);
  absl::StatusOr<std::vector<FuseDirEntryPlus>> ReadDirPlus(uint64_t nodeid, uint64_t fh,
                                                            uint64_t offset,
                                                            uint32_t size = 4096);
  absl::Status ReleaseDir(uint64_t nodeid, uint64_t fh);
  absl::StatusOr<fuse_open_out> Open(uint64_t nodeid, uint32_t flags);
  absl::StatusOr<std::string> Read(uint64_t nodeid, uint64_t fh, uint64_t offset,
                                   uint32_t size);
  absl::Status Release(uint64_t nodeid, uint64_t fh, uint32_t flags = 0);
  absl::Status Flush(uint64_t nodeid, uint64_t fh, uint64_t lock_owner = 0);
  absl::StatusOr<fuse_statfs_out> StatFs(uint64_t nodeid);
  absl::Status Access(uint64_t nodeid, uint32_t mask);
  absl::StatusOr<std::string> ReadLink(uint64_t nodeid);

 private:
  // One request's buffers. The four parts are separate allocations so that
  // with several memory regions one request spans several of them.
  struct Slot {
    VirtqueueBuffer in_header, args, out_header, reply;
    uint8_t* in_header_host;
    uint8_t* args_host;
    uint8_t* out_header_host;
    uint8_t* reply_host;
    uint64_t unique = 0;
    uint32_t opcode = 0;
    uint32_t capacity = 0;
    bool busy = false;
  };

  FuseClient() = default;
  absl::StatusOr<Slot> NewSlot();
  // Fills the slot's in header and args; returns the args length.
  absl::StatusOr<uint32_t> BuildRequest(Slot* slot, uint32_t opcode, uint64_t nodeid,
                                        std::initializer_list<absl::Span<const uint8_t>> args,
                                        uint32_t reply_capacity);
  absl::Status ValidateReply(const Slot& slot, uint32_t used_len, FuseCompletion* out);
  // Frees the slot of a used request-queue element and validates its reply.
  absl::StatusOr<FuseCompletion> FinishUsed(const UsedElement& used);
  absl::Status SendNoReply(uint32_t opcode, uint64_t nodeid, absl::Span<const uint8_t> args);
  // Call() + exact-size reply check, decoded into T.
  template <typename T>
  absl::StatusOr<T> CallFixed(const char* what, uint32_t opcode, uint64_t nodeid,
                              absl::Span<const uint8_t> args);
  absl::Status CallNoPayload(const char* what, uint32_t opcode, uint64_t nodeid,
                             absl::Span<const uint8_t> args);

  FakeGuestMemory* memory_ = nullptr;
  VirtqueueDriver* requests_ = nullptr;
  VirtqueueDriver* hiprio_ = nullptr;
  FuseClientOptions options_;
  std::vector<Slot> slots_;
  std::vector<int> slot_of_head_;  // request queue head id -> slot index
  Slot hiprio_slot_;
  uint16_t in_flight_ = 0;
  uint64_t next_unique_ = 2;
  fuse_init_out init_out_{};
};

}  // namespace vfsd

#endif  // VFSD_TESTING_FUSE_CLIENT_H_
