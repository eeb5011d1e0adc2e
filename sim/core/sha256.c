/*
 * sha256.c: SHA-256 through libcrypto's EVP digest interface (sha256.h).
 *
 * One EVP_MD_CTX per digest, allocated by init and freed by final. A failed
 * allocation (or a failed libcrypto call) is remembered in the state and
 * returned by final as CAS_ERR_NOMEM; nothing here prints or exits.
 */
#include "sha256.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

void cas_sha256_init(cas_sha256 *s) {
  s->ctx = EVP_MD_CTX_new();
  s->failed = !s->ctx || !EVP_DigestInit_ex2(s->ctx, EVP_sha256(), NULL);
}

void cas_sha256_update(cas_sha256 *s, const void *data, size_t n) {
  if (s->failed || n == 0) return;
  if (!s->ctx || !EVP_DigestUpdate(s->ctx, data, n)) s->failed = 1;
}

cas_status cas_sha256_final(cas_sha256 *s, uint8_t out[CAS_SHA256_BYTES]) {
  unsigned len = 0;
  int ok = !s->failed && s->ctx && EVP_DigestFinal_ex(s->ctx, out, &len) &&
           len == CAS_SHA256_BYTES;
  EVP_MD_CTX_free(s->ctx);
  s->ctx = NULL;
  s->failed = 0;
  if (ok) return CAS_OK;
  memset(out, 0, CAS_SHA256_BYTES);
  return CAS_ERR_NOMEM;
}

void cas_sha256_to_hex(const uint8_t digest[CAS_SHA256_BYTES], char hex[CAS_SHA256_HEX]) {
  static const char digits[] = "0123456789abcdef";
  for (int i = 0; i < CAS_SHA256_BYTES; i++) {
    hex[2 * i] = digits[digest[i] >> 4];
    hex[2 * i + 1] = digits[digest[i] & 15];
  }
  hex[2 * CAS_SHA256_BYTES] = '\0';
}

cas_status cas_sha256_hex(const void *data, size_t n, char hex[CAS_SHA256_HEX]) {
  uint8_t d[CAS_SHA256_BYTES];
  unsigned len = 0;
  if (!EVP_Digest(data, n, d, &len, EVP_sha256(), NULL) || len != CAS_SHA256_BYTES) {
    hex[0] = '\0';
    return CAS_ERR_NOMEM;
  }
  cas_sha256_to_hex(d, hex);
  return CAS_OK;
}

cas_status cas_sha256_file(const char *path, char hex[CAS_SHA256_HEX], uint64_t *lines,
                           cas_error *err) {
  FILE *f = fopen(path, "rb");
  if (!f) return cas_error_set(err, CAS_ERR_INPUT, "%s: cannot read: %s", path, strerror(errno));
  cas_sha256 s;
  cas_sha256_init(&s);
  uint8_t buf[1 << 16];
  uint64_t nl = 0;
  size_t n;
  while (!s.failed && (n = fread(buf, 1, sizeof buf, f)) > 0) {
    cas_sha256_update(&s, buf, n);
    if (lines)
      for (const uint8_t *p = buf; (p = memchr(p, '\n', (size_t)(buf + n - p))) != NULL; p++) nl++;
  }
  int bad = ferror(f);
  fclose(f);
  uint8_t d[CAS_SHA256_BYTES];
  cas_status st = cas_sha256_final(&s, d);
  if (st != CAS_OK) return cas_error_set(err, st, "no memory to hash %s", path);
  if (bad) return cas_error_set(err, CAS_ERR_IO, "%s: read error", path);
  cas_sha256_to_hex(d, hex);
  if (lines) *lines = nl;
  return CAS_OK;
}
