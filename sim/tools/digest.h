/*
 * digest.h: a SHA-256 digest of a result file's datasets, so that two
 * result files (two batches, or a result and its re-run) can be compared
 * from their digests alone.
 *
 * What is hashed (docs/BATCH.md, "Digest"): every dataset of the file, in
 * byte order of its full name ("/el", "/es", ..., "/sub/x"), each as its
 * name, its type, its shape and its data; attributes are not hashed, so
 * the file's informational attributes (command_line, threads,
 * elapsed_seconds, created_utc, ...) never change the digest, while every
 * number and every text the run wrote does. Compression and chunking do
 * not enter: data are hashed as values, not as stored bytes.
 */
#ifndef CASCADE_DIGEST_H
#define CASCADE_DIGEST_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "sha256.h"

enum { CAS_DIGEST_RANK_MAX = 32, CAS_DIGEST_TYPE_MAX = 64 };

/* One dataset: what it is and the SHA-256 of its own record. */
typedef struct cas_dataset_digest {
  char *name;                          /* full path, "/loss" */
  char type[CAS_DIGEST_TYPE_MAX];      /* "f64le", "i64le", "string/vlen/utf8", ... */
  int rank;                            /* 0: scalar; -1: no dataspace (H5S_NULL) */
  uint64_t dims[CAS_DIGEST_RANK_MAX];
  char sha256[CAS_SHA256_HEX];         /* of this dataset's record (name, type, shape, data) */
} cas_dataset_digest;

/* Digest of every dataset of the HDF5 file at path, as 64 hex digits.
 * If list is not NULL, *list receives the datasets in digest order (free
 * with cas_digest_list_free) and *n their number. A file that cannot be
 * opened as HDF5 is CAS_ERR_INPUT naming it. */
cas_status cas_digest_file(const char *path, char hex[CAS_SHA256_HEX], cas_dataset_digest **list,
                           size_t *n, cas_error *err);

void cas_digest_list_free(cas_dataset_digest *list, size_t n);

/* "1000 x 36", "scalar" or "null" into buf. */
void cas_digest_shape(const cas_dataset_digest *d, char *buf, size_t size);

#endif
