// libFuzzer target: the vhost-user back-end message handling
// (ReadVhostUserMessage + VhostUserDevice::Handle), driven in-process over a
// socketpair exactly as ServeVhostUserConnection drives it, with memfds and
// eventfds attached per fuzzed control bits. The front-end is trusted to be a
// VMM but not to be bug-free, so no message sequence may crash, hang, leak an
// fd or produce a reply the protocol does not allow.
//
// Input format (see gen_corpus.py):
//   u8 options        : num_request_queues = 1 + (options & 3)
//   then records until the input ends:
//   u8 control        : bit0 attach fds; bits1-3 fd count - 1; bit4 eventfds
//                       instead of memfds; bit5 after the message, kick every
//                       running ring and wait until its worker took the kick; bit6 guest RAM contents follow:
//                       u32 offset, u16 len, len bytes, written into every
//                       memfd of this message (rings and chains the started
//                       queues then serve); bit7 alternate memfd/eventfd
//   u32 request, u32 flags, u32 size   (the 12-byte vhost-user header)
//   [bit6: u32 offset, u16 len, len bytes of guest RAM contents]
//   min(size, 4096) payload bytes (zero-padded if the input runs out)
//   A header with size > 4096 is sent alone and the socket shut down: the
//   reader must refuse it without waiting for the payload.
#include <dirent.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "glog/logging.h"
#include "testing/fuzz/fuzz_input.h"
#include "transport/queue_request.h"
#include "transport/unique_fd.h"
#include "transport/vhost_user_device.h"
#include "transport/vhost_user_message.h"
#include "transport/vhost_user_protocol.h"

namespace vfsd {
namespace {

namespace vu = vhost_user;

// Guest RAM files handed to the device: big enough for any ring layout the
// fuzzer may point at, sparse so creating one costs nothing.
constexpr off_t kMemfdSize = 1 << 20;
constexpr size_t kMaxContents = 8192;

// Completes every chain a started ring pops, after touching every writable
// byte (a bad translation would fault here).
class TouchingHandler : public RequestHandler {
 public:
  void HandleRequest(QueueRequest request) override {
    for (const iovec& iov : request.writable()) std::memset(iov.iov_base, 0xa5, iov.iov_len);
    uint64_t sum = 0;
    for (const iovec& iov : request.readable()) {
      const uint8_t* p = static_cast<const uint8_t*>(iov.iov_base);
      for (size_t i = 0; i < iov.iov_len; i += 4096) sum += p[i];
    }
    sink_.fetch_add(sum, std::memory_order_relaxed);
    request.Complete(static_cast<uint32_t>(request.writable_bytes()));
  }

 private:
  std::atomic<uint64_t> sink_{0};
};

int CountOpenFds() {
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return -1;
  int count = 0;
  while (readdir(dir) != nullptr) ++count;
  closedir(dir);
  return count;
}

// The counter of an eventfd, read without consuming it.
uint64_t EventFdCount(int fd) {
  char path[64];
  std::snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
  FILE* f = std::fopen(path, "r");
  if (f == nullptr) return 0;
  char line[128];
  uint64_t count = 0;
  while (std::fgets(line, sizeof(line), f) != nullptr) {
    if (std::sscanf(line, "eventfd-count: %lx", &count) == 1) break;
  }
  std::fclose(f);
  return count;
}

// Kicks a running ring and waits (bounded) until its worker drained the
// kick: from then on the worker serves the ring before it can notice a
// stop, so the next message sees the chains served. Not a timing
// assertion: if the worker is slow the fuzzer just covers less.
void KickAndWait(int kick_fd) {
  const uint64_t one = 1;
  if (write(kick_fd, &one, sizeof(one)) != sizeof(one)) return;
  for (int i = 0; i < 20000 && EventFdCount(kick_fd) != 0; ++i) usleep(50);
}

bool HasInherentReply(uint32_t request) {
  switch (static_cast<vu::Request>(request)) {
    case vu::Request::kGetFeatures:
    case vu::Request::kGetProtocolFeatures:
    case vu::Request::kGetQueueNum:
    case vu::Request::kGetMaxMemSlots:
    case vu::Request::kGetVringBase:
    case vu::Request::kGetConfig:
    case vu::Request::kGetInflightFd:
    case vu::Request::kGetStatus:
      return true;
    default:
      return false;
  }
}

// Guest RAM bytes the input puts into the memfds of one message.
struct RamContents {
  off_t offset = 0;
  std::vector<uint8_t> bytes;
};

UniqueFd MakeMemfd(const RamContents& contents) {
  UniqueFd fd(memfd_create("vfsd-fuzz-guest", MFD_CLOEXEC));
  FUZZ_CHECK(fd.valid());
  FUZZ_CHECK(ftruncate(fd.get(), kMemfdSize) == 0);
  if (!contents.bytes.empty()) {
    FUZZ_CHECK(pwrite(fd.get(), contents.bytes.data(), contents.bytes.size(),
                      contents.offset) == static_cast<ssize_t>(contents.bytes.size()));
  }
  return fd;
}

// Sends header + payload with `fds` attached, as QEMU does (one sendmsg).
void SendMessage(int sock, const vu::MessageHeader& header, const std::vector<uint8_t>& payload,
                 const std::vector<UniqueFd>& fds) {
  iovec iov[2] = {{const_cast<vu::MessageHeader*>(&header), sizeof(header)},
                  {const_cast<uint8_t*>(payload.data()), payload.size()}};
  msghdr msg{};
  msg.msg_iov = iov;
  msg.msg_iovlen = payload.empty() ? 1 : 2;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * vu::kMaxFdsPerMessage)];
  if (!fds.empty()) {
    msg.msg_control = control;
    msg.msg_controllen = CMSG_SPACE(sizeof(int) * fds.size());
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
    for (size_t i = 0; i < fds.size(); ++i) {
      const int raw = fds[i].get();
      std::memcpy(CMSG_DATA(c) + i * sizeof(int), &raw, sizeof(int));
    }
  }
  const size_t total = sizeof(header) + payload.size();
  FUZZ_CHECK(sendmsg(sock, &msg, MSG_NOSIGNAL) == static_cast<ssize_t>(total));
}

void RunSession(FuzzInput& in) {
  VhostUserDeviceOptions options;
  options.num_request_queues = 1 + (in.U8() & 3);
  TouchingHandler handler;
  int pair[2];
  FUZZ_CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) == 0);
  UniqueFd front(pair[0]), back(pair[1]);
  // Our copy of the last kick eventfd sent for each vring, so a record can
  // kick started rings.
  std::vector<UniqueFd> kicks(256);

  VhostUserDevice device(options, &handler);
  VhostUserMessage message;
  while (!in.empty()) {
    const uint8_t control = in.U8();
    vu::MessageHeader header;
    header.request = in.U32();
    header.flags = in.U32();
    header.size = in.U32();

    std::vector<UniqueFd> fds;
    if (control & 1) {
      const int count = 1 + ((control >> 1) & 7);
      RamContents contents;
      if (control & 0x40) {
        contents.offset = in.U32() % kMemfdSize;
        const size_t len = std::min<size_t>({in.U16(), kMaxContents,
                                             static_cast<size_t>(kMemfdSize - contents.offset)});
        contents.bytes.resize(len);
        in.Bytes(contents.bytes.data(), len);
      }
      for (int i = 0; i < count; ++i) {
        bool eventfd_kind = control & 0x10;
        if (control & 0x80) eventfd_kind = (i & 1) != 0;
        if (eventfd_kind) {
          UniqueFd fd(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
          FUZZ_CHECK(fd.valid());
          fds.push_back(std::move(fd));
        } else {
          fds.push_back(MakeMemfd(contents));
        }
      }
    }

    const bool oversized = header.size > kMaxVhostUserPayload;
    std::vector<uint8_t> payload(oversized ? 0 : header.size);
    in.Bytes(payload.data(), payload.size());
    if (header.request == static_cast<uint32_t>(vu::Request::kSetVringKick) && fds.size() == 1 &&
        payload.size() == 8) {
      kicks[payload[0]] = UniqueFd(dup(fds[0].get()));
    }
    SendMessage(front.get(), header, payload, fds);
    fds.clear();  // the device now holds its own copies
    if (oversized) shutdown(front.get(), SHUT_WR);  // a blocking read would see EOF

    absl::Status read = ReadVhostUserMessage(back.get(), &message);
    if (oversized) FUZZ_CHECK(!read.ok());
    if (!read.ok()) break;  // the session ends, as in ServeVhostUserConnection
    FUZZ_CHECK(message.header.request == header.request);
    FUZZ_CHECK(message.payload.size() == header.size);
    FUZZ_CHECK(message.fds.size() <= vu::kMaxFdsPerMessage);

    VhostUserDevice::Outcome outcome = device.Handle(message);
    message.fds.clear();
    VLOG(1) << "request " << header.request << ": " << outcome.status;
    // Only a request the front-end waits an inherent reply for may end the
    // session, and only when it failed.
    if (outcome.fatal) {
      FUZZ_CHECK(HasInherentReply(header.request));
      FUZZ_CHECK(!outcome.status.ok());
      break;
    }
    if (outcome.has_reply) {
      FUZZ_CHECK(outcome.status.ok());
      FUZZ_CHECK(HasInherentReply(header.request));
      FUZZ_CHECK(outcome.reply.size() == 8);  // u64 replies and VringState
    } else {
      FUZZ_CHECK(!HasInherentReply(header.request) || !outcome.status.ok());
    }
    if (control & 0x20) {
      for (uint32_t i = 0; i < kicks.size(); ++i) {
        if (kicks[i].valid() && device.ring_running(i)) KickAndWait(kicks[i].get());
      }
    }
  }
  device.Shutdown();
}

}  // namespace
}  // namespace vfsd

extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {
  FLAGS_logtostderr = true;
  // The device logs every refused message as a WARNING; VFSD_FUZZ_VERBOSE=1
  // shows them when replaying an input by hand.
  const bool verbose = std::getenv("VFSD_FUZZ_VERBOSE") != nullptr;
  FLAGS_minloglevel = verbose ? 0 : 2;
  FLAGS_v = verbose ? 1 : 0;
  google::InitGoogleLogging((*argv)[0]);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const int fds_before = vfsd::CountOpenFds();
  {
    vfsd::FuzzInput in(data, size);
    vfsd::RunSession(in);
  }
  // Every fd the device received must be closed or owned by something that
  // went away with the device.
  const int fds_after = vfsd::CountOpenFds();
  FUZZ_CHECK(fds_after == fds_before);
  return 0;
}
