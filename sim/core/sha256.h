/*
 * sha256.h: SHA-256 (FIPS 180-4), for the digests that let batches and
 * results be compared from their manifests, and for the hashes of the input
 * files a result was made from.
 *
 * Computed by libcrypto's EVP interface, which uses the processor's SHA
 * instructions where it has them; pinned by the standard's test vectors in
 * tests/test_sha256.c.
 *
 * Streaming interface: init, update any number of times, final. Init cannot
 * fail: it allocates libcrypto's context, and if that fails (no memory),
 * the state remembers it, updates do nothing and final returns
 * CAS_ERR_NOMEM. Every init must be followed by a final, which releases the
 * context whatever happened. A state must not be copied once initialised
 * (the copy would share the context).
 *
 * Failures: only no memory (or a libcrypto failure, reported the same way);
 * they are statuses the caller must check, never a wrong digest silently:
 * on failure the digest is all zero bytes and the hex text empty.
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

struct evp_md_ctx_st; /* libcrypto's EVP_MD_CTX */

typedef struct cas_sha256 {
  struct evp_md_ctx_st *ctx; /* NULL before init, after final, or if init found no memory */
  int failed;                /* init or an update failed: final says CAS_ERR_NOMEM */
} cas_sha256;

#define CAS_SHA256_MUST_CHECK __attribute__((warn_unused_result))

/* Starts a digest; cannot fail (see above). */
void cas_sha256_init(cas_sha256 *s);
void cas_sha256_update(cas_sha256 *s, const void *data, size_t n);
/* Writes the 32-byte digest to out and releases the context; s must be
 * re-initialised before another use. CAS_OK, or CAS_ERR_NOMEM if init or an
 * update failed (out is then all zeros). */
CAS_SHA256_MUST_CHECK cas_status cas_sha256_final(cas_sha256 *s, uint8_t out[CAS_SHA256_BYTES]);

/* One-shot digest of a buffer, as 64 lowercase hex digits. CAS_OK, or
 * CAS_ERR_NOMEM (hex is then ""). */
CAS_SHA256_MUST_CHECK cas_status cas_sha256_hex(const void *data, size_t n, char hex[CAS_SHA256_HEX]);

/* Digest bytes as lowercase hex. */
void cas_sha256_to_hex(const uint8_t digest[CAS_SHA256_BYTES], char hex[CAS_SHA256_HEX]);

/* Digest of a file's bytes. lines (may be NULL) receives the number of
 * newline bytes seen, a cheap size measure for CSV inputs. A missing or
 * unreadable file is CAS_ERR_INPUT naming the file, a read error CAS_ERR_IO,
 * no memory for the digest's context CAS_ERR_NOMEM. */
cas_status cas_sha256_file(const char *path, char hex[CAS_SHA256_HEX], uint64_t *lines,
                           cas_error *err);

#endif
