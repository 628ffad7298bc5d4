// libFuzzer target: split-virtqueue processing over fuzzed guest memory —
// Virtqueue::Create (ring placement checks), Pop (avail ring, descriptor
// chains incl. indirect tables, via WalkDescriptorChain), completion and
// used-ring publication, plus WalkDescriptorChain called directly on heads.
// The fuzz input *is* guest RAM, so every index, length, address and flag
// the guest controls is fuzzed.
//
// Input format (see gen_corpus.py):
//   u8  size_log2      queue size = 1 << (size_log2 % 16)
//   u8  flags          bit0 EVENT_IDX, bit1 INDIRECT_DESC, bit2 complete in
//                      reverse order, bit3 batch completions, bit4 also walk
//                      every head directly, bit5 pop through a map that lost
//                      region B (REM_MEM_REG while running)
//   u16 next_avail     SET_VRING_BASE
//   u16 desc, avail, used   ring offsets: < 0x8000 in region A, else region B
//   u16 completion     bytes reported per completion (seed)
//   then guest RAM: region A (gpa 0x0000, 32 KiB), region B (gpa 0x8000,
//   32 KiB); what the input lacks is zero.
#include <sys/uio.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <vector>

#include "glog/logging.h"
#include "testing/fuzz/fuzz_input.h"
#include "transport/descriptor_chain.h"
#include "transport/guest_memory.h"
#include "transport/queue_request.h"
#include "transport/virtqueue.h"

namespace vfsd {
namespace {

constexpr uint64_t kRegionSize = 0x8000;
constexpr uint64_t kGpaA = 0;
constexpr uint64_t kGpaB = kRegionSize;

// Two guest regions, adjacent in guest-physical space but separate heap
// blocks of exactly kRegionSize bytes, so ASan flags any access past a
// region and a buffer spanning both must come back as two iovecs.
struct FuzzGuest {
  std::unique_ptr<uint8_t[]> a{new uint8_t[kRegionSize]};
  std::unique_ptr<uint8_t[]> b{new uint8_t[kRegionSize]};
  std::shared_ptr<const GuestMemory> both;
  std::shared_ptr<const GuestMemory> only_a;

  explicit FuzzGuest(FuzzInput& in) {
    in.Bytes(a.get(), kRegionSize);
    in.Bytes(b.get(), kRegionSize);
    auto ra = GuestRegion::FromHostMemory(
        {kGpaA, kRegionSize, reinterpret_cast<uint64_t>(a.get()), 0}, a.get());
    auto rb = GuestRegion::FromHostMemory(
        {kGpaB, kRegionSize, reinterpret_cast<uint64_t>(b.get()), 0}, b.get());
    FUZZ_CHECK(ra.ok() && rb.ok());
    auto m = GuestMemory::Create({*ra, *rb});
    auto ma = GuestMemory::Create({*ra});
    FUZZ_CHECK(m.ok() && ma.ok());
    both = *m;
    only_a = *ma;
  }
  uint64_t UserAddr(uint16_t offset) const {
    return offset < kRegionSize
               ? reinterpret_cast<uint64_t>(a.get()) + offset
               : reinterpret_cast<uint64_t>(b.get()) + (offset - kRegionSize);
  }
  bool Inside(const iovec& iov) const {
    auto in = [&](const uint8_t* base) {
      const uint8_t* p = static_cast<const uint8_t*>(iov.iov_base);
      return p >= base && iov.iov_len <= kRegionSize &&
             static_cast<uint64_t>(p - base) <= kRegionSize - iov.iov_len;
    };
    return in(a.get()) || in(b.get());
  }
};

bool Overlaps(const void* p, size_t len, const void* q, size_t qlen) {
  const uint8_t* a = static_cast<const uint8_t*>(p);
  const uint8_t* b = static_cast<const uint8_t*>(q);
  return a < b + qlen && b < a + len;
}

// Checks a translated chain: every iovec inside guest RAM, byte counts
// consistent, lengths bounded. Returns the total readable bytes.
uint64_t CheckChain(const FuzzGuest& guest, absl::Span<const iovec> readable,
                    absl::Span<const iovec> writable, uint64_t writable_bytes) {
  uint64_t readable_bytes = 0, sum = 0;
  for (const iovec& iov : readable) {
    FUZZ_CHECK(guest.Inside(iov));
    readable_bytes += iov.iov_len;
  }
  for (const iovec& iov : writable) {
    FUZZ_CHECK(guest.Inside(iov));
    sum += iov.iov_len;
  }
  FUZZ_CHECK(sum == writable_bytes);
  return readable_bytes;
}

void Run(FuzzInput& in) {
  const uint32_t size = 1u << (in.U8() % 16);
  const uint8_t flags = in.U8();
  const uint16_t next_avail = in.U16();
  const uint16_t desc_off = in.U16(), avail_off = in.U16(), used_off = in.U16();
  const uint16_t completion = in.U16();
  FuzzGuest guest(in);

  if (flags & 0x10) {
    // Direct walks: every head of the first 64, through both maps.
    const uint64_t desc = guest.UserAddr(desc_off);
    absl::StatusOr<uint8_t*> table = guest.both->TranslateUserAddr(desc, 16ull * size);
    if (table.ok() && reinterpret_cast<uintptr_t>(*table) % 16 == 0) {
      ChainWalkParams params{*table, static_cast<uint16_t>(size), (flags & 2) != 0};
      DescriptorChain chain;
      for (uint32_t head = 0; head < size && head < 64; ++head) {
        if (WalkDescriptorChain(params, *guest.both, static_cast<uint16_t>(head), &chain).ok()) {
          CheckChain(guest, chain.readable, chain.writable, chain.writable_bytes);
        }
      }
    }
  }

  VirtqueueConfig config;
  config.index = 1;
  config.size = size;
  config.desc_user_addr = guest.UserAddr(desc_off);
  config.avail_user_addr = guest.UserAddr(avail_off);
  config.used_user_addr = guest.UserAddr(used_off);
  config.next_avail = next_avail;
  config.event_idx = flags & 1;
  config.indirect = flags & 2;
  absl::StatusOr<std::shared_ptr<Virtqueue>> created = Virtqueue::Create(config, guest.both);
  if (!created.ok()) return;
  std::shared_ptr<Virtqueue> queue = *std::move(created);
  const std::shared_ptr<const GuestMemory>& pop_memory =
      (flags & 0x20) ? guest.only_a : guest.both;

  // The used index field is the one thing we can predict, unless the
  // guest laid another ring or a buffer we write over it.
  uint8_t* used_idx = reinterpret_cast<uint8_t*>(config.used_user_addr) + 2;
  bool used_idx_predictable =
      !Overlaps(used_idx, 2, reinterpret_cast<void*>(config.desc_user_addr), 16ull * size) &&
      !Overlaps(used_idx, 2, reinterpret_cast<void*>(config.avail_user_addr), 6ull + 2 * size);
  // Likewise the avail index, which bounds how many chains may be consumed,
  // unless the used ring or a buffer we write overlays it.
  const uint8_t* avail_idx = reinterpret_cast<const uint8_t*>(config.avail_user_addr) + 2;
  bool avail_idx_stable =
      !Overlaps(avail_idx, 2, reinterpret_cast<void*>(config.used_user_addr), 6ull + 8 * size);
  uint16_t used_before;
  std::memcpy(&used_before, used_idx, 2);

  // Unbatched pops with the used idx laid over the avail idx used to spin
  // forever in Pop (corpus/known_bugs/virtqueue_fuzzer-pop_spin); Pop now
  // bounds the chains it drops per call.
  bool batch = flags & 8;
  if (batch) queue->BeginBatch();
  std::vector<QueueRequest> popped;
  bool broken = false;
  // Pop can hand out at most `size` chains before the avail index check
  // stops it; the bound only protects the harness against a looping Pop.
  for (uint32_t i = 0; i <= size + 1; ++i) {
    absl::StatusOr<std::optional<QueueRequest>> request = queue->Pop(pop_memory);
    if (!request.ok()) {
      FUZZ_CHECK(queue->broken());
      broken = true;
      break;
    }
    if (!request->has_value()) break;
    QueueRequest& r = **request;
    FUZZ_CHECK(r.head() < size);
    CheckChain(guest, r.readable(), r.writable(), r.writable_bytes());
    for (const iovec& iov : r.writable()) {
      if (Overlaps(iov.iov_base, iov.iov_len, used_idx, 2)) used_idx_predictable = false;
      if (Overlaps(iov.iov_base, iov.iov_len, avail_idx, 2)) avail_idx_stable = false;
      std::memset(iov.iov_base, 0x5a, iov.iov_len);
    }
    popped.push_back(std::move(r));
  }
  FUZZ_CHECK(popped.size() <= size);
  FUZZ_CHECK(queue->in_flight() == popped.size());
  if (flags & 4) {
    for (size_t i = popped.size(); i-- > 0;) popped[i].Complete(completion + i);
  } else {
    for (size_t i = 0; i < popped.size(); ++i) popped[i].Complete(completion + i);
  }
  if (batch) queue->EndBatch();
  FUZZ_CHECK(queue->in_flight() == 0);
  // Every chain consumed from the avail ring (served or dropped as
  // malformed) has been returned through the used ring exactly once.
  const uint16_t consumed = static_cast<uint16_t>(queue->next_avail() - next_avail);
  if (avail_idx_stable) FUZZ_CHECK(consumed <= size);
  if (used_idx_predictable) {
    uint16_t used_after;
    std::memcpy(&used_after, used_idx, 2);
    FUZZ_CHECK(static_cast<uint16_t>(used_after - used_before) == consumed);
  }
  if (!broken) (void)queue->EnableNotificationsAndCheck();
}

}  // namespace
}  // namespace vfsd

extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {
  FLAGS_logtostderr = true;
  FLAGS_minloglevel = 3;  // dropped chains and broken rings log by design
  google::InitGoogleLogging((*argv)[0]);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  vfsd::FuzzInput in(data, size);
  vfsd::Run(in);
  return 0;
}
