/* Bitwise CRC-32 (reflected polynomial 0xEDB88320): small beats fast here. */
#include "crc32.h"

uint32_t crc32_bytes(const unsigned char *p, size_t n) {
  uint32_t crc = 0xFFFFFFFFu;
  for (size_t i = 0; i < n; i++) {
    crc ^= p[i];
    for (int k = 0; k < 8; k++) crc = (crc >> 1) ^ (0xEDB88320u & -(crc & 1u));
  }
  return crc ^ 0xFFFFFFFFu;
}
