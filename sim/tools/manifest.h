/*
 * manifest.h: the manifest of a `cascade batch` (DIR/manifest.json, or
 * DIR/manifest.shard-I-of-N.json): one JSON document that says, for each
 * scenario of the batch, what was read (with SHA-256 hashes), with which
 * overrides, what came out (with the digest of its datasets) and when.
 * Field by field in docs/BATCH.md.
 *
 * The batch rewrites it after every scenario, always under a temporary
 * name that is then renamed, so a manifest on disk is complete or absent.
 * Reading it back (to resume a killed batch) accepts any JSON the writer
 * produces; a malformed manifest is reported with line and column and the
 * batch then starts afresh.
 */
#ifndef CASCADE_MANIFEST_H
#define CASCADE_MANIFEST_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "sha256.h"

/* Command-line values that change results; a value not given is 0/"given 0". */
typedef struct cas_manifest_overrides {
  uint64_t paths, seed, loans;
  int paths_given, seed_given, loans_given;
  char kernel[32];                  /* always the kernel name used */
} cas_manifest_overrides;

/* One file a scenario read. */
typedef struct cas_manifest_input {
  char *role;                       /* "scenario", "base", "portfolio", "links" */
  char *path;
  char sha256[CAS_SHA256_HEX];
} cas_manifest_input;

typedef struct cas_manifest_entry {
  char *name;                       /* scenario file stem: the output is NAME.h5 */
  char *scenario;                   /* scenario path as given (or found in a folder) */
  char *output;                     /* result file */
  char *status;                     /* "ok", "failed", "reused", "pending" */
  char *error;                      /* message if failed, else NULL */
  char *start_utc, *end_utc;        /* ISO-8601 UTC; NULL while pending */
  char *cascade_commit;             /* commit of the program that made the output */
  double elapsed_seconds;
  char digest[CAS_SHA256_HEX];      /* digest.h of the output; "" if none */
  cas_manifest_overrides overrides;
  cas_manifest_input *inputs;
  size_t ninputs;
} cas_manifest_entry;

typedef struct cas_manifest {
  const char *cascade_version, *cascade_commit, *command_line;
  int shard_index, shard_count;     /* 1-based; 0/0 without --shard */
  cas_manifest_overrides overrides;
  const char *started_utc, *updated_utc;
  const cas_manifest_entry *entries;
  size_t nentries;
} cas_manifest;

/* Writes m to path through a temporary beside it (outfile.h: flushed to
 * disk, then renamed). */
cas_status cas_manifest_write(const char *path, const cas_manifest *m, cas_error *err);

/* Reads the scenario entries of a manifest written by cas_manifest_write.
 * A missing file is CAS_ERR_IO; a malformed one CAS_ERR_INPUT with
 * "path:line:col: ...". On success the caller frees with
 * cas_manifest_entries_free. */
cas_status cas_manifest_read(const char *path, cas_manifest_entry **entries, size_t *n,
                             cas_error *err);

/* Deep copy (dst is overwritten); CAS_ERR_NOMEM on failure. */
cas_status cas_manifest_entry_copy(cas_manifest_entry *dst, const cas_manifest_entry *src,
                                   cas_error *err);
void cas_manifest_entry_clear(cas_manifest_entry *e);
void cas_manifest_entries_free(cas_manifest_entry *entries, size_t n);

/* Same overrides (every field) / same inputs (roles, paths, hashes, in order). */
int cas_manifest_same_overrides(const cas_manifest_overrides *a, const cas_manifest_overrides *b);
int cas_manifest_same_inputs(const cas_manifest_entry *a, const cas_manifest_entry *b);

#endif
