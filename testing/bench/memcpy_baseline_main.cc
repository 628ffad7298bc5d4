// memcpy_baseline: how fast this machine copies 128 KiB buffers, the upper
// bound for a daemon answering 128 KiB FUSE_READs (each one is at least one
// copy from the host page cache into guest memory). Two cases:
//   hot:  the same 128 KiB source and destination (both stay in cache);
//   64M:  random 128 KiB pieces of a 64 MiB source (the read128k file size)
//         into 16 rotating 128 KiB destinations (QD 16 reply buffers).
// Prints GB/s (10^9 bytes per second) for each; no flags.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <random>
#include <vector>

namespace vfsd {
namespace {

constexpr size_t kChunk = 128 * 1024;

double MeasureGbps(const std::vector<uint8_t>& src, size_t src_chunks,
                   std::vector<uint8_t>& dst, size_t dst_chunks) {
  using Clock = std::chrono::steady_clock;
  std::mt19937_64 rng(1);
  uint64_t copies = 0;
  const Clock::time_point start = Clock::now();
  Clock::time_point now = start;
  while (now - start < std::chrono::seconds(1)) {
    for (int i = 0; i < 256; ++i, ++copies) {
      const size_t s = src_chunks > 1 ? rng() % src_chunks : 0;
      std::memcpy(dst.data() + (copies % dst_chunks) * kChunk, src.data() + s * kChunk, kChunk);
    }
    // Keep the copies observable so the compiler cannot drop them.
    asm volatile("" : : "r"(dst.data()) : "memory");
    now = Clock::now();
  }
  const double seconds = std::chrono::duration<double>(now - start).count();
  return static_cast<double>(copies) * kChunk / seconds / 1e9;
}

}  // namespace
}  // namespace vfsd

int main() {
  using vfsd::kChunk;
  std::vector<uint8_t> hot_src(kChunk, 1), hot_dst(kChunk, 0);
  std::vector<uint8_t> big_src(64ull << 20, 1), ring_dst(16 * kChunk, 0);
  std::printf("memcpy 128 KiB, hot (same buffers):      %.1f GB/s\n",
              vfsd::MeasureGbps(hot_src, 1, hot_dst, 1));
  std::printf("memcpy 128 KiB, from 64 MiB into 16 bufs: %.1f GB/s\n",
              vfsd::MeasureGbps(big_src, big_src.size() / kChunk, ring_dst, 16));
  return 0;
}
