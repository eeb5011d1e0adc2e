/*
 * test_sha256.c: SHA-256 (sha256.h) against the test vectors published
 * with the standard (FIPS 180-4 examples, NIST "Cryptographic Standards and
 * Guidelines: Examples with Intermediate Values", SHA-256): the empty
 * message, "abc" (one block), the 448-bit message
 * "abcdbcdecdefdefg...nopq" (two blocks: the padding spills over) and one
 * million 'a'. The streaming interface must give the same digest however
 * the message is cut, and the file helper the digest of the file's bytes.
 * With no memory for libcrypto's context, every function says so (a
 * status, never a digest) and the next digest is right again.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "sha256.h"

static const char *const abc448 = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";

static void check(const char *msg, size_t n, const char *want) {
  char hex[CAS_SHA256_HEX];
  cr_assert_eq(cas_sha256_hex(msg, n, hex), CAS_OK);
  cr_assert_str_eq(hex, want);
}

Test(sha256, empty_message) {
  check("", 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

Test(sha256, abc_one_block) {
  check("abc", 3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

Test(sha256, message_of_448_bits_two_blocks) {
  cr_assert_eq(strlen(abc448) * 8, 448);
  check(abc448, strlen(abc448), "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

Test(sha256, one_million_a) {
  size_t n = 1000000;
  char *m = malloc(n);
  cr_assert_not_null(m);
  memset(m, 'a', n);
  check(m, n, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  /* Fed in pieces of 1, 63, 64, 65, ... bytes: the same digest. */
  cas_sha256 s;
  cas_sha256_init(&s);
  size_t sizes[] = {1, 63, 64, 65, 127, 1000, 4093};
  size_t done = 0;
  for (int k = 0; done < n; k = (k + 1) % 7) {
    size_t take = sizes[k] < n - done ? sizes[k] : n - done;
    cas_sha256_update(&s, m + done, take);
    done += take;
  }
  uint8_t d[CAS_SHA256_BYTES];
  char hex[CAS_SHA256_HEX];
  cr_assert_eq(cas_sha256_final(&s, d), CAS_OK);
  cas_sha256_to_hex(d, hex);
  cr_assert_str_eq(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  free(m);
}

Test(sha256, every_split_of_the_two_block_message) {
  size_t n = strlen(abc448);
  for (size_t cut = 0; cut <= n; cut++) {
    cas_sha256 s;
    cas_sha256_init(&s);
    cas_sha256_update(&s, abc448, cut);
    cas_sha256_update(&s, abc448 + cut, n - cut);
    uint8_t d[CAS_SHA256_BYTES];
    char hex[CAS_SHA256_HEX];
    cr_assert_eq(cas_sha256_final(&s, d), CAS_OK);
    cas_sha256_to_hex(d, hex);
    cr_assert_str_eq(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
                     "cut at %zu", cut);
  }
}

Test(sha256, file_digest_and_line_count) {
  char path[] = "/tmp/test_sha256_XXXXXX";
  int fd = mkstemp(path);
  cr_assert(fd >= 0);
  cr_assert_eq(write(fd, "abc\nabc\n", 8), 8);
  close(fd);
  char hex[CAS_SHA256_HEX];
  uint64_t lines = 0;
  cas_error err = {0};
  cr_assert_eq(cas_sha256_file(path, hex, &lines, &err), CAS_OK, "%s", err.msg);
  char want[CAS_SHA256_HEX];
  cr_assert_eq(cas_sha256_hex("abc\nabc\n", 8, want), CAS_OK);
  cr_assert_str_eq(hex, want);
  cr_assert_eq(lines, 2);
  unlink(path);
  cr_assert_eq(cas_sha256_file(path, hex, NULL, &err), CAS_ERR_INPUT);
  cr_assert(strstr(err.msg, path) != NULL, "message names the file: %s", err.msg);
}

/* libcrypto's allocations, made to fail on demand. */
static int no_memory;
static void *try_malloc(size_t n, const char *file, int line) {
  (void)file, (void)line;
  return no_memory ? NULL : malloc(n);
}
static void *try_realloc(void *p, size_t n, const char *file, int line) {
  (void)file, (void)line;
  return no_memory ? NULL : realloc(p, n);
}
static void just_free(void *p, const char *file, int line) {
  (void)file, (void)line;
  free(p);
}
/* Before main: the test runner's own start-up already uses libcrypto, and
 * libcrypto takes allocation functions only before its first allocation. */
static int hooked;
__attribute__((constructor)) static void hook_allocations(void) {
  hooked = CRYPTO_set_mem_functions(try_malloc, try_realloc, just_free);
}

Test(sha256, no_memory_is_a_status_never_a_digest) {
  cr_assert(hooked, "libcrypto allocated before the test could hook it");
  char path[] = "/tmp/test_sha256_XXXXXX";
  int fd = mkstemp(path);
  cr_assert(fd >= 0);
  cr_assert_eq(write(fd, "abc", 3), 3);
  close(fd);
  check("abc", 3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");

  no_memory = 1;
  cas_sha256 s;
  cas_sha256_init(&s);
  cas_sha256_update(&s, "abc", 3);
  uint8_t d[CAS_SHA256_BYTES];
  memset(d, 0xAB, sizeof d);
  cr_assert_eq(cas_sha256_final(&s, d), CAS_ERR_NOMEM);
  for (int i = 0; i < CAS_SHA256_BYTES; i++) cr_assert_eq(d[i], 0, "byte %d of a failed digest", i);
  char hex[CAS_SHA256_HEX] = "x";
  cr_assert_eq(cas_sha256_hex("abc", 3, hex), CAS_ERR_NOMEM);
  cr_assert_str_eq(hex, "");
  cas_error err = {0};
  cr_assert_eq(cas_sha256_file(path, hex, NULL, &err), CAS_ERR_NOMEM);
  cr_assert(strstr(err.msg, path) != NULL, "message names the file: %s", err.msg);

  no_memory = 0;
  check("abc", 3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  cr_assert_eq(cas_sha256_file(path, hex, NULL, &err), CAS_OK, "%s", err.msg);
  cr_assert_str_eq(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  unlink(path);
}
