// FuzzInput: a bounds-checked little-endian reader over a libFuzzer input.
// The harnesses use their own simple record formats (not FuzzedDataProvider)
// so that the seed corpus generator can write meaningful inputs byte by
// byte; running out of input yields zeros, never an out-of-bounds read.
#ifndef VFSD_TESTING_FUZZ_FUZZ_INPUT_H_
#define VFSD_TESTING_FUZZ_FUZZ_INPUT_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace vfsd {

class FuzzInput {
 public:
  FuzzInput(const uint8_t* data, size_t size) : data_(data), size_(size) {}

  bool empty() const { return pos_ >= size_; }
  size_t remaining() const { return size_ - pos_; }

  uint8_t U8() { return static_cast<uint8_t>(Int(1)); }
  uint16_t U16() { return static_cast<uint16_t>(Int(2)); }
  uint32_t U32() { return static_cast<uint32_t>(Int(4)); }
  uint64_t U64() { return Int(8); }

  // Copies up to `len` bytes into `out`, zero-filling what the input lacks.
  // Returns the bytes actually taken from the input.
  size_t Bytes(void* out, size_t len) {
    const size_t n = std::min(len, remaining());
    if (n > 0) std::memcpy(out, data_ + pos_, n);
    if (n < len) std::memset(static_cast<uint8_t*>(out) + n, 0, len - n);
    pos_ += n;
    return n;
  }

 private:
  uint64_t Int(size_t width) {
    uint64_t value = 0;
    uint8_t bytes[8] = {};
    Bytes(bytes, width);
    for (size_t i = 0; i < width; ++i) value |= static_cast<uint64_t>(bytes[i]) << (8 * i);
    return value;
  }

  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

}  // namespace vfsd

// An invariant every fuzz target checks: on failure, report it and abort so
// libFuzzer saves the input as a crash.
#define FUZZ_CHECK(cond)                                                   \
  do {                                                                     \
    if (!(cond)) {                                                         \
      std::fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__,      \
                   __LINE__, #cond);                                       \
      std::abort();                                                        \
    }                                                                      \
  } while (0)

#endif  // VFSD_TESTING_FUZZ_FUZZ_INPUT_H_
