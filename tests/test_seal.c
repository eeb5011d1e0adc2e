/*
 * test_seal.c: the seal of result files (seal.h).
 *
 * On a real result (cas_run, small):
 * - the seal is the documented text: the SHA-256 (computed here over the
 *   bytes after the user block) and the length of the content;
 * - a file changed in place after it was found intact is checked again;
 * - every one of 400 single-bit flips spread over the whole file, the seal
 *   included, is refused, and so are truncations at every boundary that
 *   matters and an extension by one byte; the readers of results refuse
 *   such a file too (cas_output_read_headline);
 * - an HDF5 file without a user block (cascade 0.3 and earlier) is
 *   "unsealed" and accepted; a folder, a FIFO (without blocking), an empty
 *   file and text are refused;
 * - sealing refuses to write over a user block that holds something else.
 */
#include <criterion/criterion.h>

#include <fcntl.h>
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "output.h"
#include "run.h"
#include "seal.h"
#include "sha256.h"
#include "support.h"

static char dir[64];

static const char *make_result(void) {
  static char out[128];
  snprintf(dir, sizeof dir, "/tmp/test_seal_XXXXXX");
  cas_test_small_result(dir, out, sizeof out, 100, 1000);
  return out;
}

static unsigned char *slurp(const char *path, size_t *n) {
  FILE *f = fopen(path, "rb");
  cr_assert_not_null(f);
  fseek(f, 0, SEEK_END);
  long size = ftell(f);
  rewind(f);
  unsigned char *b = malloc((size_t)size);
  cr_assert_eq(fread(b, 1, (size_t)size, f), (size_t)size);
  fclose(f);
  *n = (size_t)size;
  return b;
}

static void spill(const char *path, const unsigned char *b, size_t n) {
  FILE *f = fopen(path, "wb");
  cr_assert_not_null(f);
  cr_assert_eq(fwrite(b, 1, n, f), n);
  cr_assert_eq(fclose(f), 0);
}

static void cleanup(void) {
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  cr_assert_eq(system(cmd), 0);
}

Test(seal, the_documented_text_over_the_content) {
  const char *path = make_result();
  size_t n;
  unsigned char *b = slurp(path, &n);
  cr_assert_gt(n, (size_t)CAS_SEAL_BYTES + 1000);
  char hex[CAS_SHA256_HEX];
  cr_assert_eq(cas_sha256_hex(b + CAS_SEAL_BYTES, n - CAS_SEAL_BYTES, hex), CAS_OK);
  char want[CAS_SEAL_BYTES] = {0};
  snprintf(want, sizeof want, "cascade-result-seal 1\nsha256 %s\nbytes %zu\n", hex,
           n - CAS_SEAL_BYTES);
  cr_assert(!memcmp(b, want, CAS_SEAL_BYTES), "seal is:\n%.200s", (const char *)b);
  /* HDF5's signature right after the user block */
  cr_assert(!memcmp(b + CAS_SEAL_BYTES, "\x89HDF\r\n\x1a\n", 8));
  cas_seal_state st = CAS_SEAL_NONE;
  cas_error err = {0};
  cr_assert_eq(cas_seal_check(path, &st, &err), CAS_OK, "%s", err.msg);
  cr_assert_eq(st, CAS_SEAL_INTACT);
  free(b);
  cleanup();
}

Test(seal, every_bit_flip_truncation_and_extension_is_refused) {
  const char *path = make_result();
  size_t n;
  unsigned char *b = slurp(path, &n);
  char bad[160];
  snprintf(bad, sizeof bad, "%s/bad.h5", dir);
  cas_error err = {0};
  cas_seal_state st;
  /* 400 positions: the whole seal block at a stride of 3, then the rest */
  for (int k = 0; k < 400; k++) {
    size_t at = k < 171 ? (size_t)k * 3 : CAS_SEAL_BYTES + (size_t)(k - 171) * ((n - CAS_SEAL_BYTES) / 229);
    if (at >= n) at = n - 1;
    unsigned char bit = (unsigned char)(1u << (k % 8));
    b[at] ^= bit;
    spill(bad, b, n);
    b[at] ^= bit;
    cr_assert_eq(cas_seal_check(bad, &st, &err), CAS_ERR_INPUT, "flip at byte %zu accepted", at);
    cr_assert(strstr(err.msg, "bad.h5: ") != NULL, "%s", err.msg);
  }
  const size_t cuts[] = {0, 3, 8, 100, CAS_SEAL_BYTES - 1, CAS_SEAL_BYTES, CAS_SEAL_BYTES + 1,
                         CAS_SEAL_BYTES + 8, n / 2, n - 1};
  for (size_t i = 0; i < sizeof cuts / sizeof *cuts; i++) {
    spill(bad, b, cuts[i]);
    cr_assert_eq(cas_seal_check(bad, &st, &err), CAS_ERR_INPUT, "cut at %zu accepted", cuts[i]);
  }
  spill(bad, b, n - 1);
  cr_assert_eq(cas_seal_check(bad, &st, &err), CAS_ERR_INPUT);
  cr_assert(strstr(err.msg, "damaged or changed since cascade wrote it (got") != NULL, "%s", err.msg);
  unsigned char *longer = malloc(n + 1);
  memcpy(longer, b, n);
  longer[n] = 0;
  spill(bad, longer, n + 1);
  cr_assert_eq(cas_seal_check(bad, &st, &err), CAS_ERR_INPUT);
  cr_assert(strstr(err.msg, "bytes after its seal") != NULL, "%s", err.msg);
  free(longer);

  /* a file found intact, then changed in place (same size): checked again,
   * not taken from the last check */
  spill(bad, b, n);
  cr_assert_eq(cas_seal_check(bad, &st, &err), CAS_OK, "%s", err.msg);
  cr_assert_eq(cas_seal_check(bad, &st, &err), CAS_OK, "%s", err.msg);
  int fd = open(bad, O_WRONLY);
  cr_assert(fd >= 0);
  unsigned char flipped = b[n - 9] ^ 0x80;
  cr_assert_eq(pwrite(fd, &flipped, 1, (off_t)(n - 9)), 1);
  close(fd);
  cr_assert_eq(cas_seal_check(bad, &st, &err), CAS_ERR_INPUT, "a change after a check was missed");

  /* the readers refuse a damaged file before HDF5 reads it */
  b[n / 2] ^= 0x10;
  spill(bad, b, n);
  cas_output_headline h;
  cr_assert_eq(cas_output_read_headline(bad, &h, &err), CAS_ERR_INPUT);
  cr_assert(strstr(err.msg, "damaged or changed since cascade wrote it") != NULL, "%s", err.msg);
  free(b);
  cleanup();
}

Test(seal, unsealed_hdf5_accepted_other_files_refused) {
  char tmpl[] = "/tmp/test_seal_XXXXXX";
  cr_assert_not_null(mkdtemp(tmpl));
  snprintf(dir, sizeof dir, "%s", tmpl);
  char p[160];
  cas_error err = {0};
  cas_seal_state st = CAS_SEAL_INTACT;

  snprintf(p, sizeof p, "%s/plain.h5", dir);
  hid_t f = H5Fcreate(p, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  cr_assert(f >= 0);
  H5Fclose(f);
  cr_assert_eq(cas_seal_check(p, &st, &err), CAS_OK, "%s", err.msg);
  cr_assert_eq(st, CAS_SEAL_NONE);

  /* HDF5 behind a user block that is not a seal: not cascade's */
  snprintf(p, sizeof p, "%s/ub.h5", dir);
  hid_t fcpl = H5Pcreate(H5P_FILE_CREATE);
  H5Pset_userblock(fcpl, CAS_SEAL_BYTES);
  f = H5Fcreate(p, H5F_ACC_TRUNC, fcpl, H5P_DEFAULT);
  H5Pclose(fcpl);
  cr_assert(f >= 0);
  H5Fclose(f);
  cr_assert_eq(cas_seal_check(p, &st, &err), CAS_ERR_INPUT);
  cr_assert(strstr(err.msg, "not an HDF5 file (expected a result") != NULL, "%s", err.msg);
  /* sealing it works (a zero user block); sealing over text does not */
  cr_assert_eq(cas_seal_write(p, p, &err), CAS_OK, "%s", err.msg);
  cr_assert_eq(cas_seal_check(p, &st, &err), CAS_OK, "%s", err.msg);
  cr_assert_eq(st, CAS_SEAL_INTACT);
  int fd = open(p, O_WRONLY);
  cr_assert(fd >= 0);
  cr_assert_eq(pwrite(fd, "#!/bin/sh\n", 10, 0), 10);
  close(fd);
  cr_assert_eq(cas_seal_write(p, "final.h5", &err), CAS_ERR_IO);
  cr_assert(strstr(err.msg, "final.h5: cannot seal") != NULL, "%s", err.msg);

  cr_assert_eq(cas_seal_check(dir, &st, &err), CAS_ERR_INPUT);
  cr_assert(strstr(err.msg, "a folder, not a file") != NULL, "%s", err.msg);
  snprintf(p, sizeof p, "%s/fifo", dir);
  cr_assert_eq(mkfifo(p, 0600), 0);
  cr_assert_eq(cas_seal_check(p, &st, &err), CAS_ERR_INPUT); /* returns: never waits for a writer */
  cr_assert(strstr(err.msg, "not a regular file") != NULL, "%s", err.msg);
  snprintf(p, sizeof p, "%s/empty.h5", dir);
  spill(p, (const unsigned char *)"", 0);
  cr_assert_eq(cas_seal_check(p, &st, &err), CAS_ERR_INPUT);
  cr_assert(strstr(err.msg, "got 0 bytes") != NULL, "%s", err.msg);
  cr_assert_eq(cas_seal_check(CASCADE_SOURCE_DIR "/scenarios/baseline.yaml", &st, &err), CAS_ERR_INPUT);
  cr_assert(strstr(err.msg, "not an HDF5 file") != NULL, "%s", err.msg);
  cr_assert_eq(cas_seal_check("/nonexistent/r.h5", &st, &err), CAS_ERR_INPUT);
  cr_assert(strstr(err.msg, "cannot read") != NULL, "%s", err.msg);
  cleanup();
}
