/*
 * sha256.h: SHA-256 (FIPS 180-4), for the digests that let batches and
 * results be compared from their manifests, and for the hashes of the input
 * files a result was made from.
 *
 * Streaming interface: init, update any number of times, final. The
 * implementation follows the standard's section 6.2 directly; it is pinned
 * by the standard's test vectors in tests/test_sha256.c.
 */
#ifndef CASCADE_SHA256_H
#define CASCADE_SHA256_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

enum {
  CAS_SHA256_BYTES = 32,
  CAS_SHA256_HEX = 65 /* 64 lowercase hex digits and a NUL */
};

typedef struct cas_sha256 {
  uint32_t h[8];       /* intermediate hash value H(i) */
  uint64_t bytes;      /* message length so far [bytes] */
  uint8_t block[64];   /* pending partial block */
  size_t fill;         /* bytes in block */
} cas_sha256;

void cas_sha256_init(cas_sha256 *s);
void cas_sha256_update(cas_sha256 *s, const void *data, size_t n);
/* Pads, writes the 32-byte digest to out; s must be re-initialised after. */
void cas_sha256_final(cas_sha256 *s, uint8_t out[CAS_SHA256_BYTES]);

/* One-shot digest of a buffer, as 64 lowercase hex digits. */
void cas_sha256_hex(const void *data, size_t n, char hex[CAS_SHA256_HEX]);

/* Digest bytes as lowercase hex. */
void cas_sha256_to_hex(const uint8_t digest[CAS_SHA256_BYTES], char hex[CAS_SHA256_HEX]);

/* Digest of a file's bytes. lines (may be NULL) receives the number of
 * newline bytes seen, a cheap size measure for CSV inputs. A missing or
 * unreadable file is CAS_ERR_INPUT naming the file. */
cas_status cas_sha256_file(const char *path, char hex[CAS_SHA256_HEX], uint64_t *lines,
                           cas_error *err);

#endif
