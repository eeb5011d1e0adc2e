/*
 * textbuf.h: a growable text buffer for documents built in memory (the
 * report's HTML and SVG, the batch manifest, the resolved scenario).
 *
 * Appending never fails loudly: the first failed allocation sets `failed`,
 * later appends are ignored, and the owner checks `failed` once at the end
 * (one check instead of one per line of HTML).
 */
#ifndef CASCADE_TEXTBUF_H
#define CASCADE_TEXTBUF_H

#include <stddef.h>

typedef struct cas_buf {
  char *data; /* NUL-terminated when len > 0 */
  size_t len, cap;
  int failed; /* an allocation failed: the content is incomplete */
} cas_buf;

void cas_buf_free(cas_buf *b);
void cas_buf_put(cas_buf *b, const char *s);
void cas_buf_putn(cas_buf *b, const char *s, size_t n);
void cas_buf_printf(cas_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* s with & < > " ' replaced by character references, so that any string
 * read from a file is shown as text in HTML or SVG; bytes that are not
 * valid UTF-8 and control characters other than tab, CR and LF become
 * U+FFFD. */
void cas_buf_put_escaped(cas_buf *b, const char *s);

#endif
