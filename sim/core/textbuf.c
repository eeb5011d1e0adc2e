/*
 * textbuf.c: growable text buffer (textbuf.h).
 */
#include "textbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cas_buf_free(cas_buf *b) {
  if (!b) return;
  free(b->data);
  b->data = NULL;
  b->len = b->cap = 0;
}

static int grow(cas_buf *b, size_t extra) {
  if (b->failed) return -1;
  if (b->len + extra + 1 <= b->cap) return 0;
  size_t cap = b->cap ? b->cap : 4096;
  while (cap < b->len + extra + 1) {
    if (cap > ((size_t)-1) / 2) {
      b->failed = 1;
      return -1;
    }
    cap *= 2;
  }
  char *p = realloc(b->data, cap);
  if (!p) {
    b->failed = 1;
    return -1;
  }
  b->data = p;
  b->cap = cap;
  return 0;
}

void cas_buf_putn(cas_buf *b, const char *s, size_t n) {
  if (grow(b, n)) return;
  memcpy(b->data + b->len, s, n);
  b->len += n;
  b->data[b->len] = '\0';
}

void cas_buf_put(cas_buf *b, const char *s) { cas_buf_putn(b, s, strlen(s)); }

void cas_buf_printf(cas_buf *b, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char small[512];
  int k = vsnprintf(small, sizeof small, fmt, ap);
  va_end(ap);
  if (k < 0) return;
  if ((size_t)k < sizeof small) {
    cas_buf_putn(b, small, (size_t)k);
    return;
  }
  if (grow(b, (size_t)k)) return;
  va_start(ap, fmt);
  vsnprintf(b->data + b->len, (size_t)k + 1, fmt, ap);
  va_end(ap);
  b->len += (size_t)k;
}

/* Length of the valid UTF-8 sequence at s (1-4), or 0 if invalid. */
static size_t utf8_len(const unsigned char *s) {
  unsigned c = s[0];
  size_t n;
  unsigned min;
  if (c < 0x80) return 1;
  if (c >= 0xc2 && c <= 0xdf) n = 2, min = 0x80;
  else if (c >= 0xe0 && c <= 0xef) n = 3, min = 0x800;
  else if (c >= 0xf0 && c <= 0xf4) n = 4, min = 0x10000;
  else return 0;
  unsigned cp = c & (0x7f >> n);
  for (size_t i = 1; i < n; i++) {
    if ((s[i] & 0xc0) != 0x80) return 0;
    cp = (cp << 6) | (s[i] & 0x3f);
  }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
  return n;
}

void cas_buf_put_escaped(cas_buf *b, const char *s) {
  const unsigned char *p = (const unsigned char *)(s ? s : "");
  while (*p) {
    const unsigned char *run = p;
    /* copy the longest run that needs no escaping in one go */
    for (;;) {
      unsigned c = *p;
      if (!c || c == '&' || c == '<' || c == '>' || c == '"' || c == '\'') break;
      if (c < 0x20 && c != '\t' && c != '\n' && c != '\r') break;
      if (c == 0x7f) break;
      size_t n = utf8_len(p);
      if (!n) break;
      p += n;
    }
    if (p > run) cas_buf_putn(b, (const char *)run, (size_t)(p - run));
    if (!*p) break;
    switch (*p) {
    case '&': cas_buf_put(b, "&amp;"); break;
    case '<': cas_buf_put(b, "&lt;"); break;
    case '>': cas_buf_put(b, "&gt;"); break;
    case '"': cas_buf_put(b, "&quot;"); break;
    case '\'': cas_buf_put(b, "&#39;"); break;
    default: cas_buf_put(b, "\xef\xbf\xbd"); break; /* U+FFFD */
    }
    p++;
  }
}
