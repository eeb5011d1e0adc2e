/* error.c: formatting of error records (see error.h). */
#include "error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Control bytes in a message (a CSV header's or a file name's, quoted from
 * the input) become \xNN: printed raw, an escape sequence from a hostile
 * file would drive the user's terminal. Bytes from 0x80 up (UTF-8: the
 * classification's Chinese names) are kept. */
static void escape_controls(char *msg, size_t size) {
  size_t n = strlen(msg), ctl = 0;
  for (size_t i = 0; i < n; i++) ctl += (unsigned char)msg[i] < 0x20 || msg[i] == 0x7f;
  if (!ctl) return;
  char copy[CAS_ERROR_MSG_MAX];
  memcpy(copy, msg, n + 1);
  size_t o = 0;
  for (size_t i = 0; i < n && o + 5 < size; i++) {
    unsigned char c = (unsigned char)copy[i];
    if (c < 0x20 || c == 0x7f) o += (size_t)snprintf(msg + o, size - o, "\\x%02x", c);
    else msg[o++] = (char)c;
  }
  msg[o] = '\0';
}

static void vset(cas_error *err, cas_status st, size_t off, const char *fmt,
                 va_list ap) {
  err->status = st;
  if (off >= sizeof err->msg) off = sizeof err->msg - 1;
  int n = vsnprintf(err->msg + off, sizeof err->msg - off, fmt, ap);
  if (n >= 0 && (size_t)n >= sizeof err->msg - off)   /* cut: say so */
    memcpy(err->msg + sizeof err->msg - 4, "...", 4);
  escape_controls(err->msg, sizeof err->msg);
}

cas_status cas_error_set(cas_error *err, cas_status st, const char *fmt, ...) {
  if (err == NULL) return st;
  va_list ap;
  va_start(ap, fmt);
  vset(err, st, 0, fmt, ap);
  va_end(ap);
  return st;
}

cas_status cas_error_at(cas_error *err, cas_status st, const char *file,
                        long line, long col, const char *fmt, ...) {
  if (err == NULL) return st;
  int n;
  if (line <= 0)
    n = snprintf(err->msg, sizeof err->msg, "%s: ", file ? file : "<input>");
  else if (col <= 0)
    n = snprintf(err->msg, sizeof err->msg, "%s:%ld: ", file ? file : "<input>", line);
  else
    n = snprintf(err->msg, sizeof err->msg, "%s:%ld:%ld: ", file ? file : "<input>", line, col);
  va_list ap;
  va_start(ap, fmt);
  vset(err, st, n < 0 ? 0 : (size_t)n, fmt, ap);
  va_end(ap);
  return st;
}

int cas_status_exit_code(cas_status st) {
  switch (st) {
  case CAS_OK: return 0;
  case CAS_ERR_INTERNAL: return 1;
  case CAS_ERR_USAGE: return 2;
  case CAS_ERR_INPUT: return 3;
  case CAS_ERR_IO: return 4;
  case CAS_ERR_NOMEM: return 5;
  }
  return 1;
}

const char *cas_status_name(cas_status st) {
  switch (st) {
  case CAS_OK: return "ok";
  case CAS_ERR_USAGE: return "usage error";
  case CAS_ERR_INPUT: return "bad input";
  case CAS_ERR_IO: return "I/O error";
  case CAS_ERR_NOMEM: return "out of memory";
  case CAS_ERR_INTERNAL: return "internal error";
  }
  return "internal error";
}
