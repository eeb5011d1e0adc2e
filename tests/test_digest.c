/*
 * test_digest.c: the digest of a result file's datasets (digest.h).
 *
 * - The encoding documented in digest.c and docs/BATCH.md, rebuilt here by
 *   hand for a small file (three datasets of three kinds, written out of
 *   name order): the digest must be SHA-256 of exactly those bytes.
 * - On a real result (cas_run, small): changing one byte of one dataset
 *   changes the digest and that dataset's digest only; rewriting the
 *   informational attributes (created_utc, elapsed_seconds, command_line,
 *   threads) changes nothing.
 */
#include <criterion/criterion.h>

#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "digest.h"
#include "support.h"
#include "run.h"
#include "seal.h"
#include "sha256.h"

static hid_t vlen_utf8(void) {
  hid_t t = H5Tcopy(H5T_C_S1);
  H5Tset_size(t, H5T_VARIABLE);
  H5Tset_cset(t, H5T_CSET_UTF8);
  return t;
}

static void u64le(cas_sha256 *s, uint64_t v) {
  uint8_t b[8];
  for (int i = 0; i < 8; i++) b[i] = (uint8_t)(v >> (8 * i));
  cas_sha256_update(s, b, 8);
}

static void text0(cas_sha256 *s, const char *t) { cas_sha256_update(s, t, strlen(t) + 1); }

Test(digest, encoding_as_documented) {
  char path[] = "/tmp/test_digest_XXXXXX";
  int fd = mkstemp(path);
  cr_assert(fd >= 0);
  close(fd);
  hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  cr_assert(f >= 0);
  /* Written in the order s, b, a: the digest orders them a, b, s. */
  const char *strs[2] = {"x", "yz"};
  hsize_t two = 2, dims22[2] = {2, 2};
  hid_t st = vlen_utf8();
  hid_t sp = H5Screate_simple(1, &two, NULL);
  hid_t d = H5Dcreate2(f, "s", st, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  cr_assert(H5Dwrite(d, st, H5S_ALL, H5S_ALL, H5P_DEFAULT, strs) >= 0);
  H5Dclose(d);
  H5Sclose(sp);
  int32_t ints[4] = {1, 2, 3, -4};
  sp = H5Screate_simple(2, dims22, NULL);
  d = H5Dcreate2(f, "b", H5T_STD_I32LE, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  cr_assert(H5Dwrite(d, H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, ints) >= 0);
  H5Dclose(d);
  H5Sclose(sp);
  double half = 0.5;
  sp = H5Screate(H5S_SCALAR);
  d = H5Dcreate2(f, "a", H5T_IEEE_F64LE, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  cr_assert(H5Dwrite(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, &half) >= 0);
  H5Dclose(d);
  H5Sclose(sp);
  H5Tclose(st);
  H5Fclose(f);

  cas_sha256 s;
  cas_sha256_init(&s);
  text0(&s, "cascade-digest-1");
  /* /a: scalar f64le 0.5 = 0x3FE0000000000000, little-endian bytes. */
  text0(&s, "/a");
  text0(&s, "f64le");
  u64le(&s, 0);
  u64le(&s, 0x3FE0000000000000ULL);
  /* /b: 2 x 2 i32le. */
  text0(&s, "/b");
  text0(&s, "i32le");
  u64le(&s, 2);
  u64le(&s, 2);
  u64le(&s, 2);
  const uint8_t b_bytes[16] = {1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 0xFC, 0xFF, 0xFF, 0xFF};
  cas_sha256_update(&s, b_bytes, 16);
  /* /s: two variable-length UTF-8 strings. */
  text0(&s, "/s");
  text0(&s, "string/vlen/utf8");
  u64le(&s, 1);
  u64le(&s, 2);
  u64le(&s, 1);
  cas_sha256_update(&s, "x", 1);
  u64le(&s, 2);
  cas_sha256_update(&s, "yz", 2);
  uint8_t want_bytes[CAS_SHA256_BYTES];
  char want[CAS_SHA256_HEX];
  cr_assert_eq(cas_sha256_final(&s, want_bytes), CAS_OK);
  cas_sha256_to_hex(want_bytes, want);

  char got[CAS_SHA256_HEX];
  cas_dataset_digest *list = NULL;
  size_t n = 0;
  cas_error err = {0};
  cr_assert_eq(cas_digest_file(path, got, &list, &n, &err), CAS_OK, "%s", err.msg);
  cr_assert_str_eq(got, want);
  cr_assert_eq(n, 3);
  cr_assert_str_eq(list[0].name, "/a");
  cr_assert_str_eq(list[1].name, "/b");
  cr_assert_str_eq(list[2].name, "/s");
  cr_assert_eq(list[1].rank, 2);
  cr_assert_eq(list[1].dims[1], 2);
  cas_digest_list_free(list, n);
  unlink(path);
}

/* A small real result in a fresh folder; returns its path (static). */
static const char *make_result(void) {
  static char out[256];
  char dir[] = "/tmp/test_digest_run_XXXXXX";
  cas_test_small_result(dir, out, sizeof out, 200, 2000);
  return out;
}

static void set_attr_string(hid_t f, const char *name, const char *value) {
  H5Adelete(f, name);
  hid_t t = vlen_utf8(), sp = H5Screate(H5S_SCALAR);
  hid_t a = H5Acreate2(f, name, t, sp, H5P_DEFAULT, H5P_DEFAULT);
  cr_assert(a >= 0 && H5Awrite(a, t, &value) >= 0);
  H5Aclose(a);
  H5Sclose(sp);
  H5Tclose(t);
}

static void set_attr_number(hid_t f, const char *name, hid_t type, const void *value) {
  H5Adelete(f, name);
  hid_t sp = H5Screate(H5S_SCALAR);
  hid_t a = H5Acreate2(f, name, type, sp, H5P_DEFAULT, H5P_DEFAULT);
  cr_assert(a >= 0 && H5Awrite(a, type, value) >= 0);
  H5Aclose(a);
  H5Sclose(sp);
}

Test(digest, informational_attributes_do_not_count_one_byte_does) {
  const char *path = make_result();
  char d0[CAS_SHA256_HEX], d1[CAS_SHA256_HEX], d2[CAS_SHA256_HEX];
  cas_dataset_digest *l0 = NULL, *l2 = NULL;
  size_t n0 = 0, n2 = 0;
  cas_error err = {0};
  cr_assert_eq(cas_digest_file(path, d0, &l0, &n0, &err), CAS_OK, "%s", err.msg);
  cr_assert_gt(n0, 20);

  hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
  cr_assert(f >= 0);
  set_attr_string(f, "created_utc", "1999-01-01T00:00:00Z");
  double elapsed = 12345.0;
  set_attr_number(f, "elapsed_seconds", H5T_NATIVE_DOUBLE, &elapsed);
  set_attr_string(f, "command_line", "something else entirely");
  int threads = 77;
  set_attr_number(f, "threads", H5T_NATIVE_INT, &threads);
  H5Fclose(f);
  /* changed, the file no longer matches its seal (seal.h); resealed, as a
   * crafted file would be, its digest is what this test is about */
  cr_assert_eq(cas_digest_file(path, d1, NULL, NULL, &err), CAS_ERR_INPUT);
  cr_assert(strstr(err.msg, "changed since cascade wrote it") != NULL, "%s", err.msg);
  cr_assert_eq(cas_seal_write(path, path, &err), CAS_OK, "%s", err.msg);
  cr_assert_eq(cas_digest_file(path, d1, NULL, NULL, &err), CAS_OK, "%s", err.msg);
  cr_assert_str_eq(d1, d0, "informational attributes changed the digest");

  /* Flip the lowest byte of loss[7]. */
  f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
  hid_t d = H5Dopen2(f, "loss", H5P_DEFAULT);
  hid_t sp = H5Dget_space(d);
  hsize_t at = 7, one = 1;
  H5Sselect_hyperslab(sp, H5S_SELECT_SET, &at, NULL, &one, NULL);
  hid_t msp = H5Screate_simple(1, &one, NULL);
  uint8_t raw[8];
  cr_assert(H5Dread(d, H5T_IEEE_F64LE, msp, sp, H5P_DEFAULT, raw) >= 0);
  raw[0] ^= 1;
  cr_assert(H5Dwrite(d, H5T_IEEE_F64LE, msp, sp, H5P_DEFAULT, raw) >= 0);
  H5Sclose(msp);
  H5Sclose(sp);
  H5Dclose(d);
  H5Fclose(f);
  cr_assert_eq(cas_seal_write(path, path, &err), CAS_OK, "%s", err.msg);
  cr_assert_eq(cas_digest_file(path, d2, &l2, &n2, &err), CAS_OK, "%s", err.msg);
  cr_assert_str_neq(d2, d0, "a changed byte of /loss left the digest unchanged");
  cr_assert_eq(n2, n0);
  int changed = 0;
  for (size_t i = 0; i < n0; i++) {
    cr_assert_str_eq(l0[i].name, l2[i].name);
    if (strcmp(l0[i].sha256, l2[i].sha256)) {
      changed++;
      cr_assert_str_eq(l0[i].name, "/loss");
    }
  }
  cr_assert_eq(changed, 1);
  cas_digest_list_free(l0, n0);
  cas_digest_list_free(l2, n2);
  unlink(path);
}

Test(digest, not_hdf5_is_bad_input) {
  char hex[CAS_SHA256_HEX];
  cas_error err = {0};
  cr_assert_eq(cas_digest_file(CASCADE_SOURCE_DIR "/scenarios/baseline.yaml", hex, NULL, NULL, &err),
               CAS_ERR_INPUT);
  cr_assert(strstr(err.msg, "not an HDF5 file") != NULL, "%s", err.msg);
  cr_assert_eq(cas_digest_file("/nonexistent/x.h5", hex, NULL, NULL, &err), CAS_ERR_INPUT);
}
