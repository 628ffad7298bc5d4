/* CRC-32 (IEEE 802.3, the zlib one) of a byte range. */
#ifndef WORDSTAT_CRC32_H
#define WORDSTAT_CRC32_H
#include <stddef.h>
#include <stdint.h>

uint32_t crc32_bytes(const unsigned char *p, size_t n);
#endif
