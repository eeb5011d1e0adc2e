/*
 * fuzz_manifest.c: fuzz target for the batch manifest reader
 * (cas_manifest_read, manifest.h), which reads back DIR/manifest.json to
 * resume a killed batch.
 *
 * Checks, for any file content:
 * - the reader neither crashes, hangs, leaks nor trips a sanitizer; it
 *   returns CAS_OK or CAS_ERR_INPUT with a message naming the file;
 * - every entry read has what the batch relies on (name and status set,
 *   every input with a role and a path, hashes of 64 characters or empty)
 *   and survives cas_manifest_entry_copy: the copy has the same inputs and
 *   overrides.
 */
#include "fuzz_common.h"
#include "manifest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int hash_or_empty(const char *s) {
  size_t n = strlen(s);
  return n == 0 || n == CAS_SHA256_HEX - 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *path = fuzz_file(data, size);
  cas_error err = {0};
  cas_manifest_entry *e = NULL;
  size_t n = 0;
  cas_status st = cas_manifest_read(path, &e, &n, &err);
  if (st != CAS_OK) {
    fuzz_check_error(st, &err, path);
    return 0;
  }
  for (size_t i = 0; i < n; i++) {
    FUZZ_CHECK(e[i].name && e[i].status, "entry %zu incomplete", i);
    FUZZ_CHECK(hash_or_empty(e[i].digest), "entry %zu: digest '%s'", i, e[i].digest);
    for (size_t k = 0; k < e[i].ninputs; k++)
      FUZZ_CHECK(e[i].inputs[k].role && e[i].inputs[k].path && hash_or_empty(e[i].inputs[k].sha256),
                 "entry %zu input %zu incomplete", i, k);
    cas_manifest_entry copy;
    st = cas_manifest_entry_copy(&copy, &e[i], &err);
    FUZZ_CHECK(st == CAS_OK, "copy failed: %s", err.msg);
    FUZZ_CHECK(cas_manifest_same_inputs(&copy, &e[i]) &&
                   cas_manifest_same_overrides(&copy.overrides, &e[i].overrides),
               "entry %zu: copy differs", i);
    cas_manifest_entry_clear(&copy);
  }
  cas_manifest_entries_free(e, n);
  return 0;
}
