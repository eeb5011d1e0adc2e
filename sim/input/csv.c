/* csv.c: records, fields, positions, numbers and messages of CSV files
 * (csv.h). Records are read with getline, so memory is one line (twice:
 * the record and its pristine copy) plus one entry per blank line. */
#include "csv.h"
#include "decimal.h"

#include <unistd.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/types.h>

enum { READ_BUFFER = 1 << 20 };

cas_status cas_csv_open(cas_csv_reader *r, const char *path, const char *what, cas_error *err) {
  memset(r, 0, sizeof *r);
  /* opened without blocking and checked before anything is read: a FIFO
   * without a writer or a device would hold the program */
  int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return cas_error_at(err, CAS_ERR_INPUT, path, 0, 0, "cannot open (%s)", strerror(errno));
  struct stat sb;
  if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
    int dir = S_ISDIR(sb.st_mode);
    close(fd);
    return cas_error_at(err, CAS_ERR_INPUT, path, 0, 0, "cannot read (got %s, expected a CSV file)",
                        dir ? "a directory" : "a FIFO, device or socket");
  }
  FILE *f = fdopen(fd, "rb");
  if (!f) {
    int e = errno;
    close(fd);
    return cas_error_at(err, CAS_ERR_INPUT, path, 0, 0, "cannot open (%s)", strerror(e));
  }
  /* read a MiB at a time, not a block (4 KiB): a 10^7-loan book is
   * 0.6 GB, 150,000 reads otherwise (no buffer: stdio's own) */
  r->iobuf = malloc(READ_BUFFER);
  if (r->iobuf) setvbuf(f, r->iobuf, _IOFBF, READ_BUFFER);
  r->path = path;
  r->what = what;
  r->err = err;
  r->f = f;
  return CAS_OK;
}

cas_status cas_csv_open_mem(cas_csv_reader *r, const char *path, const void *data, size_t size,
                            const char *what, cas_error *err) {
  memset(r, 0, sizeof *r);
  /* fmemopen refuses an empty buffer: an empty file reads as one with no line */
  static const char none[1] = {0};
  FILE *f = size ? fmemopen((void *)data, size, "rb") : fmemopen((void *)none, 1, "rb");
  if (!f) return cas_error_at(err, CAS_ERR_NOMEM, path, 0, 0, "cannot read from memory (%s)", strerror(errno));
  if (!size) (void)fgetc(f);
  r->path = path;
  r->what = what;
  r->err = err;
  r->f = f;
  r->mem = data;
  r->mem_size = size;
  return CAS_OK;
}

void cas_csv_close(cas_csv_reader *r) {
  if (r->f) fclose(r->f);
  free(r->iobuf);   /* after fclose, which may still use it */
  free(r->line);
  free(r->orig);
  free(r->blank);
  memset(r, 0, sizeof *r);
}

cas_status cas_csv_nomem(const cas_csv_reader *r) {
  return cas_error_set(r->err, CAS_ERR_NOMEM, "%s: out of memory while reading the %s", r->path, r->what);
}

/* Reads the next physical line into r->line without its terminator (LF or
 * CRLF); returns its length, or -1 at end of file or on a read error
 * (which sets *st). */
static long read_line(cas_csv_reader *r, cas_status *st) {
  errno = 0;
  ssize_t n = getline(&r->line, &r->line_cap, r->f);
  if (n < 0) {
    if (ferror(r->f))
      *st = cas_error_set(r->err, CAS_ERR_IO, "%s: read error (%s)", r->path, strerror(errno ? errno : EIO));
    return -1;
  }
  r->lineno++;
  if (n > 0 && r->line[n - 1] == '\n') r->line[--n] = '\0';
  if (n > 0 && r->line[n - 1] == '\r') r->line[--n] = '\0';
  return (long)n;
}

static int is_blank(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (s[i] != ' ' && s[i] != '\t') return 0;
  return 1;
}

long cas_csv_next(cas_csv_reader *r, char **text, cas_status *st) {
  for (;;) {
    long got = read_line(r, st);
    if (got < 0) return -1;
    char *s = r->line;
    size_t n = (size_t)got;
    if (r->lineno == 1 && n >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0) {
      s += 3;
      n -= 3;
    }
    if (is_blank(s, n)) {
      if (!r->header_line) continue;
      if (r->nblank == r->blank_cap) {
        size_t cap = r->blank_cap ? 2 * r->blank_cap : 64;
        uint64_t *b = realloc(r->blank, cap * sizeof *b);
        if (!b) break;
        r->blank = b;
        r->blank_cap = cap;
      }
      r->blank[r->nblank++] = r->rows;
      continue;
    }
    if (n + 1 > r->orig_cap) {
      size_t cap = r->orig_cap ? r->orig_cap : 256;
      while (cap < n + 1) cap *= 2;
      char *o = realloc(r->orig, cap);
      if (!o) break;
      r->orig = o;
      r->orig_cap = cap;
    }
    memcpy(r->orig, s, n + 1);
    if (r->header_line)
      r->rows++;
    else
      r->header_line = r->lineno;
    *text = s;
    return (long)n;
  }
  *st = cas_csv_nomem(r);
  return -1;
}

long cas_csv_row_line(const cas_csv_reader *r, uint64_t j) {
  long line = r->header_line + 1 + (long)j;
  for (size_t k = 0; k < r->nblank && r->blank[k] <= j; k++) line++;
  return line;
}

long cas_csv_column(const cas_csv_reader *r, size_t off) {
  long col = 1;
  for (size_t i = 0; i < off; i++)
    if (((unsigned char)r->orig[i] & 0xC0u) != 0x80u) col++;
  return col;
}

cas_status cas_csv_fail(const cas_csv_reader *r, size_t off, const char *fmt, ...) {
  char msg[CAS_ERROR_MSG_MAX];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  return cas_error_at(r->err, CAS_ERR_INPUT, r->path, r->lineno, cas_csv_column(r, off), "%s", msg);
}

#define FAIL_AT(off, ...) cas_csv_fail(r, (off), __VA_ARGS__)

cas_status cas_csv_split(const cas_csv_reader *r, char *s, size_t n, cas_csv_field *f, int max, int *count) {
  const char *nul = memchr(s, '\0', n);
  if (nul) return FAIL_AT((size_t)(nul - s), "unexpected NUL byte (got byte 0x00, expected text)");
  size_t i = 0;
  int k = 0;
  for (;;) {
    while (i < n && (s[i] == ' ' || s[i] == '\t')) i++;
    size_t start = i;
    char *text;
    if (i < n && s[i] == '"') {
      size_t w = ++i;
      text = s + w;
      for (;;) {
        if (i >= n) return FAIL_AT(start, "unterminated quoted field (got end of line, expected a closing '\"')");
        if (s[i] != '"') {
          s[w++] = s[i++];
        } else if (i + 1 < n && s[i + 1] == '"') {
          s[w++] = '"';
          i += 2;
        } else {
          i++;
          break;
        }
      }
      while (i < n && (s[i] == ' ' || s[i] == '\t')) i++;
      if (i < n && s[i] != ',') {
        /* Quote the offending character whole (up to 4 bytes of UTF-8). */
        char c[8], g[CAS_CSV_QUOTE_SIZE];
        size_t m = 1;
        while (i + m < n && m < 4 && ((unsigned char)s[i + m] & 0xC0u) == 0x80u) m++;
        memcpy(c, s + i, m);
        c[m] = '\0';
        return FAIL_AT(i, "unexpected text after a closing quote (got %s, expected ',' or end of line)",
                       cas_csv_quote(c, g, sizeof g));
      }
      s[w] = '\0';
    } else {
      while (i < n && s[i] != ',') i++;
      size_t end = i;
      while (end > start && (s[end - 1] == ' ' || s[end - 1] == '\t')) end--;
      s[end] = '\0';
      text = s + start;
    }
    if (k < max) f[k] = (cas_csv_field){text, start};
    k++;
    if (i >= n) break;
    i++; /* the comma */
  }
  *count = k;
  return CAS_OK;
}

/* Appends to buf (size bytes, used already written) the names of the
 * columns that are required (want 1), optional (want 0) or all (want -1),
 * joined by with; returns the new length (at most size - 1). */
static size_t join(char *buf, size_t size, const cas_csv_columns *cols, int want, const char *with, size_t used) {
  const char *sep = "";
  if (used < size) buf[used] = '\0';
  for (int c = 0; c < cols->n && used + 1 < size; c++) {
    if (want >= 0 && !cols->required[c] != !want) continue;
    int w = snprintf(buf + used, size - used, "%s%s", sep, cols->names[c]);
    if (w < 0) break;
    used += (size_t)w < size - used ? (size_t)w : size - used - 1;
    sep = with;
  }
  return used;
}

cas_status cas_csv_header(cas_csv_reader *r, const cas_csv_columns *cols, int *col_of, int *kind_of, int *count) {
  enum { MAX_COLS = 16 };
  cas_csv_field f[MAX_COLS + 1];
  char g[CAS_CSV_QUOTE_SIZE], list[512];
  if (cols->n > MAX_COLS) return cas_error_set(r->err, CAS_ERR_INTERNAL, "csv: more than %d columns", MAX_COLS);
  cas_status st = CAS_OK;
  char *s;
  long n = cas_csv_next(r, &s, &st);
  if (n < 0) {
    if (st) return st;
    join(list, sizeof list, cols, -1, ",", 0);
    return cas_error_at(r->err, CAS_ERR_INPUT, r->path, 0, 0, "empty file (expected a header row such as %s)", list);
  }
  st = cas_csv_split(r, s, (size_t)n, f, cols->n + 1, count);
  if (st) return st;
  for (int c = 0; c < cols->n; c++) col_of[c] = -1;
  /* A header of more than n fields repeats or misnames one of the first
   * n + 1: checking those finds the error. */
  int check = *count < cols->n + 1 ? *count : cols->n + 1;
  for (int k = 0; k < check; k++) {
    int c = 0;
    while (c < cols->n && strcmp(cols->names[c], f[k].text) != 0) c++;
    if (c == cols->n) {
      join(list, sizeof list, cols, -1, ", ", 0);
      /* names are exact: say so when only the case differs (EAD for ead) */
      int near = 0;
      while (near < cols->n && strcasecmp(cols->names[near], f[k].text) != 0) near++;
      if (near < cols->n)
        return FAIL_AT(f[k].start, "unknown column %s (expected '%s': column names are lower case)",
                       cas_csv_quote(f[k].text, g, sizeof g), cols->names[near]);
      return FAIL_AT(f[k].start, "unknown column %s (expected one of: %s)", cas_csv_quote(f[k].text, g, sizeof g),
                     list);
    }
    if (col_of[c] >= 0)
      return FAIL_AT(f[k].start, "duplicate column '%s' (first seen at column %ld)", cols->names[c],
                     cas_csv_column(r, f[col_of[c]].start));
    col_of[c] = k;
    kind_of[k] = c;
  }
  for (int c = 0; c < cols->n; c++)
    if (cols->required[c] && col_of[c] < 0) {
      size_t used = join(list, sizeof list, cols, 1, ", ", 0);
      int w = snprintf(list + used, sizeof list - used, " and optionally ");
      if (w > 0 && used + (size_t)w < sizeof list) join(list, sizeof list, cols, 0, ", ", used + (size_t)w);
      return cas_error_at(r->err, CAS_ERR_INPUT, r->path, r->lineno, 0,
                          "missing required column '%s' (expected columns %s)", cols->names[c], list);
    }
  return CAS_OK;
}

cas_status cas_csv_split_row(const cas_csv_reader *r, char *s, size_t n, cas_csv_field *f, int ncols) {
  int count;
  cas_status st = cas_csv_split(r, s, n, f, ncols + 1, &count);
  if (st) return st;
  if (count != ncols)
    return FAIL_AT(count > ncols ? f[ncols].start : n, "wrong number of fields (got %d, expected %d as in the header)",
                   count, ncols);
  return CAS_OK;
}

cas_status cas_csv_fail_row(cas_csv_reader *r, uint64_t row, int field, int ncols, const char *fmt, ...) {
  char msg[CAS_ERROR_MSG_MAX];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  long line = cas_csv_row_line(r, row), col = 0;
  /* a reader of its own on the same stream, from the start, its errors kept
   * to itself: only the position of the row is wanted */
  cas_csv_reader t = {.path = r->path, .what = r->what, .f = r->f};
  cas_csv_field *f = malloc(((size_t)ncols + 1) * sizeof *f);
  if (f && fseek(r->f, 0, SEEK_SET) == 0) {
    clearerr(r->f);
    cas_status st = CAS_OK;
    char *s;
    for (long n; (n = cas_csv_next(&t, &s, &st)) >= 0;) {
      if (t.rows != row + 1) continue;
      if (cas_csv_split_row(&t, s, (size_t)n, f, ncols) == CAS_OK && field >= 0 && field < ncols) {
        line = t.lineno;
        col = cas_csv_column(&t, f[field].start);
      }
      break;
    }
  }
  free(f);
  free(t.line);
  free(t.orig);
  free(t.blank);
  return cas_error_at(r->err, CAS_ERR_INPUT, r->path, line, col, "%s", msg);
}

/* Exact powers of ten as doubles: 10^22 is the largest (5^22 < 2^53). */
static const double pow10_exact[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                     1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                     1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/* Clinger's fast path (W. D. Clinger, "How to read floating point numbers
 * accurately", PLDI 1990): a decimal [+-]digits[.digits][(e|E)[+-]digits]
 * whose digits, read as an integer m, are below 2^53 and whose power of
 * ten e has |e| <= 22 is m x 10^e or m / 10^-e, both operands exact, so
 * the one rounded operation gives the correctly rounded value, the double
 * strtod returns. Anything else (more digits, larger exponents, inf, nan,
 * hexadecimal, stray characters) returns 0 and goes to strtod. */
static int decimal_fast(const char *s, double *out) {
  const char *p = s;
  int neg = *p == '-';
  if (*p == '-' || *p == '+') p++;
  uint64_t m = 0;
  int digits = 0, scale = 0;
  for (; *p >= '0' && *p <= '9'; p++, digits++) {
    if (m >= 100000000000000000ULL) return 0;
    m = m * 10 + (uint64_t)(*p - '0');
  }
  if (*p == '.') {
    p++;
    for (; *p >= '0' && *p <= '9'; p++, digits++, scale--) {
      if (m >= 100000000000000000ULL) return 0;
      m = m * 10 + (uint64_t)(*p - '0');
    }
  }
  if (digits == 0) return 0;
  if (*p == 'e' || *p == 'E') {
    p++;
    int eneg = *p == '-';
    if (*p == '-' || *p == '+') p++;
    if (!(*p >= '0' && *p <= '9')) return 0;
    int e = 0;
    for (; *p >= '0' && *p <= '9'; p++) {
      if (e > 1000) return 0;
      e = e * 10 + (*p - '0');
    }
    scale += eneg ? -e : e;
  }
  if (*p != '\0' || m >= (1ULL << 53) || scale < -22 || scale > 22) return 0;
  double v = (double)m;
  v = scale < 0 ? v / pow10_exact[-scale] : v * pow10_exact[scale];
  *out = neg ? -v : v;
  return 1;
}

int cas_csv_number(const char *s, double *out) {
  if (*s == '\0') return 0;
  if (decimal_fast(s, out)) return 1;
  /* the decimal grammar (decimal.h): strtod alone would take 0x10 as 16,
   * and inf and nan. An overflow (1e999) is a number, infinite: the
   * caller's range check names it. */
  if (!cas_decimal_syntax(s)) return 0;
  *out = strtod(s, NULL);
  return 1;
}

const char *cas_csv_quote(const char *text, char *buf, size_t size) {
  size_t n = strlen(text), cut = n;
  if (cut > CAS_CSV_QUOTE_MAX) {
    cut = CAS_CSV_QUOTE_MAX;
    while (cut > 0 && ((unsigned char)text[cut] & 0xC0u) == 0x80u) cut--;
  }
  snprintf(buf, size, "'%.*s%s'", (int)cut, text, cut < n ? "..." : "");
  return buf;
}

/* 8-byte words folded by multiply-xorshift, then the SplitMix64 finaliser
 * (Steele, Lea, Flood, OOPSLA 2014). */
uint64_t cas_csv_hash(const char *s, size_t n) {
  uint64_t h = 0x9E3779B97F4A7C15ULL ^ (uint64_t)n;
  while (n >= 8) {
    uint64_t w;
    memcpy(&w, s, 8);
    h = (h ^ w) * 0xff51afd7ed558ccdULL;
    h ^= h >> 32;
    s += 8;
    n -= 8;
  }
  uint64_t w = 0;
  memcpy(&w, s, n);
  h = (h ^ w) * 0xc4ceb9fe1a85ec53ULL;
  h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ULL;
  h = (h ^ (h >> 27)) * 0x94d049bb133111ebULL;
  return h ^ (h >> 31);
}

enum { WRITE_BUFFER = 1 << 20 };

cas_status cas_csv_create(cas_csv_writer *w, const char *path, cas_error *err) {
  *w = (cas_csv_writer){.path = path};
  cas_status st = cas_outfile_open(&w->out, path, err);
  if (st != CAS_OK) return st;
  w->f = cas_outfile_stream(&w->out);
  if (!w->f) {
    st = cas_error_set(err, CAS_ERR_NOMEM, "%s: out of memory", path);
    cas_outfile_abort(&w->out);
    return st;
  }
  w->iobuf = malloc(WRITE_BUFFER);
  if (w->iobuf) setvbuf(w->f, w->iobuf, _IOFBF, WRITE_BUFFER);
  return CAS_OK;
}

cas_status cas_csv_commit(cas_csv_writer *w, cas_error *err) {
  cas_status st = cas_outfile_commit_stream(&w->out, w->f, err);
  free(w->iobuf);
  *w = (cas_csv_writer){0};
  return st;
}

void cas_csv_abandon(cas_csv_writer *w) {
  cas_outfile_abort_stream(&w->out, w->f);
  free(w->iobuf);
  *w = (cas_csv_writer){0};
}
