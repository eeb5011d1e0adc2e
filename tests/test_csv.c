/*
 * test_csv.c: the shared CSV reader (csv.h), on small files written here.
 *
 * - Records: BOM, CRLF, blank lines skipped and mapped back to lines.
 * - Fields: quotes, "" escapes, spaces around, positions; the split errors.
 * - Header: columns matched in any order; unknown, repeated and missing
 *   columns, and the messages made from the column table.
 * - Helpers: columns in characters, strict numbers, quoting for messages
 *   (cut at a UTF-8 boundary), the hash (deterministic, length-sensitive).
 * The loaders' own corpora (test_portfolio.c, test_network.c) pin the
 * messages end to end.
 */
#include <criterion/criterion.h>

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "csv.h"

static const char *const names[] = {"a", "b", "c"};
static const int required[] = {1, 1, 0};
static const cas_csv_columns cols = {names, required, 3};

/* Writes text to a fresh temporary file; returns its path (static buffer). */
static const char *write_temp(const char *text, size_t n) {
  static char path[64];
  snprintf(path, sizeof path, "/tmp/test_csv_XXXXXX");
  int fd = mkstemp(path);
  cr_assert(fd >= 0);
  cr_assert(write(fd, text, n) == (ssize_t)n);
  close(fd);
  return path;
}

#define WRITE(lit) write_temp(lit, sizeof(lit) - 1)

Test(csv, records_bom_crlf_blank_lines) {
  const char *path = WRITE("\xEF\xBB\xBF\r\n a,b \r\n1,2\r\n\r\n \t\n3,4\n\n5,6");
  cas_csv_reader r;
  cas_error err = {0};
  cr_assert_eq(cas_csv_open(&r, path, "things", &err), CAS_OK);
  int col_of[3], kind_of[3], count;
  cr_assert_eq(cas_csv_header(&r, &cols, col_of, kind_of, &count), CAS_OK, "%s", err.msg);
  cr_assert_eq(r.header_line, 2);
  cr_assert_eq(count, 2);
  cr_assert_eq(col_of[0], 0);
  cr_assert_eq(col_of[1], 1);
  cr_assert_eq(col_of[2], -1);
  cas_status st = CAS_OK;
  char *s;
  const char *want[] = {"1,2", "3,4", "5,6"};
  const long line[] = {3, 6, 8};
  for (int j = 0; j < 3; j++) {
    long n = cas_csv_next(&r, &s, &st);
    cr_assert_eq(n, (long)strlen(want[j]));
    cr_assert_str_eq(s, want[j]);
    cr_assert_str_eq(r.orig, want[j]);
    cr_assert_eq(r.lineno, line[j]);
    cr_assert_eq(cas_csv_row_line(&r, (uint64_t)j), line[j]);
  }
  cr_assert_eq(cas_csv_next(&r, &s, &st), -1);
  cr_assert_eq(st, CAS_OK);
  cas_csv_close(&r);
  cas_csv_close(&r); /* a zeroed reader: no-op */
  unlink(path);
}

Test(csv, fields_quotes_and_positions) {
  const char *path = WRITE("a,b,c\n x ,\"p, \"\"q\"\"\" ,\t\xC3\xA9,\n");
  cas_csv_reader r;
  cr_assert_eq(cas_csv_open(&r, path, "things", NULL), CAS_OK);
  int col_of[3], kind_of[3], count;
  cr_assert_eq(cas_csv_header(&r, &cols, col_of, kind_of, &count), CAS_OK);
  char *s;
  cas_status st = CAS_OK;
  long n = cas_csv_next(&r, &s, &st);
  cr_assert_gt(n, 0);
  cas_csv_field f[5];
  int k;
  cr_assert_eq(cas_csv_split(&r, s, (size_t)n, f, 5, &k), CAS_OK);
  cr_assert_eq(k, 4);
  cr_assert_str_eq(f[0].text, "x");
  cr_assert_eq(f[0].start, 1);
  cr_assert_str_eq(f[1].text, "p, \"q\"");
  cr_assert_eq(f[1].start, 4);
  cr_assert_str_eq(f[2].text, "\xC3\xA9");
  cr_assert_eq(f[2].start, 17);
  cr_assert_eq(cas_csv_column(&r, f[2].start), 18);
  cr_assert_str_eq(f[3].text, "");
  cr_assert_eq(f[3].start, 20);
  cr_assert_eq(cas_csv_column(&r, f[3].start), 20); /* after a 2-byte character */
  cas_csv_close(&r);
  unlink(path);
}

/* The message of the first failing call on a one-header file. */
static void header_message(const char *text, char *msg, size_t size) {
  const char *path = write_temp(text, strlen(text));
  cas_csv_reader r;
  cas_error err = {0};
  cr_assert_eq(cas_csv_open(&r, path, "things", &err), CAS_OK);
  int col_of[3], kind_of[3], count;
  cr_assert_eq(cas_csv_header(&r, &cols, col_of, kind_of, &count), CAS_ERR_INPUT);
  /* Without the path: "line:col: ..." or, for the whole file, "...". */
  const char *m = err.msg + strlen(path);
  if (*m == ':') m++;
  if (*m == ' ') m++;
  snprintf(msg, size, "%s", m);
  cas_csv_close(&r);
  unlink(path);
}

Test(csv, header_errors) {
  char msg[CAS_ERROR_MSG_MAX];
  header_message("", msg, sizeof msg);
  cr_assert_str_eq(msg, "empty file (expected a header row such as a,b,c)");
  header_message("a,x\n", msg, sizeof msg);
  cr_assert_str_eq(msg, "1:3: unknown column 'x' (expected one of: a, b, c)");
  header_message("a, b,\xC3\xA9 b\n", msg, sizeof msg);
  cr_assert_str_eq(msg, "1:6: unknown column '\xC3\xA9 b' (expected one of: a, b, c)");
  header_message("b,a,  b\n", msg, sizeof msg);
  cr_assert_str_eq(msg, "1:7: duplicate column 'b' (first seen at column 1)");
  header_message("a,b,c,a,d\n", msg, sizeof msg);
  cr_assert_str_eq(msg, "1:7: duplicate column 'a' (first seen at column 1)");
  header_message("\n\nc,a\n", msg, sizeof msg);
  cr_assert_str_eq(msg, "3: missing required column 'b' (expected columns a, b and optionally c)");
  header_message("a,\"b\"x\n", msg, sizeof msg);
  cr_assert_str_eq(msg, "1:6: unexpected text after a closing quote (got 'x', expected ',' or end of line)");
  header_message("a,\"b\n", msg, sizeof msg);
  cr_assert_str_eq(msg, "1:3: unterminated quoted field (got end of line, expected a closing '\"')");
  static const char nul[] = "a,b\0\n";
  const char *path = write_temp(nul, sizeof nul - 1);
  cas_csv_reader r;
  cas_error err = {0};
  cr_assert_eq(cas_csv_open(&r, path, "things", &err), CAS_OK);
  int col_of[3], kind_of[3], count;
  cr_assert_eq(cas_csv_header(&r, &cols, col_of, kind_of, &count), CAS_ERR_INPUT);
  cr_assert(strstr(err.msg, ":1:4: unexpected NUL byte (got byte 0x00, expected text)"), "%s", err.msg);
  cas_csv_close(&r);
  unlink(path);
}

Test(csv, row_field_count) {
  const char *path = WRITE("a,b\n1,2,3\n");
  cas_csv_reader r;
  cas_error err = {0};
  cr_assert_eq(cas_csv_open(&r, path, "things", &err), CAS_OK);
  int col_of[3], kind_of[3], count;
  cr_assert_eq(cas_csv_header(&r, &cols, col_of, kind_of, &count), CAS_OK);
  char *s;
  cas_status st = CAS_OK;
  long n = cas_csv_next(&r, &s, &st);
  cas_csv_field f[3];
  cr_assert_eq(cas_csv_split_row(&r, s, (size_t)n, f, count), CAS_ERR_INPUT);
  cr_assert(strstr(err.msg, ":2:5: wrong number of fields (got 3, expected 2 as in the header)"), "%s", err.msg);
  cas_csv_close(&r);
  unlink(path);
}

Test(csv, open_errors) {
  cas_csv_reader r;
  cas_error err = {0};
  cr_assert_eq(cas_csv_open(&r, "/tmp", "things", &err), CAS_ERR_INPUT);
  cr_assert_str_eq(err.msg, "/tmp: cannot read (got a directory, expected a CSV file)");
  cr_assert_eq(cas_csv_open(&r, "/nonexistent/x.csv", "things", &err), CAS_ERR_INPUT);
  cr_assert_str_eq(err.msg, "/nonexistent/x.csv: cannot open (No such file or directory)");
  cas_csv_close(&r);
}

Test(csv, numbers_are_strict) {
  double v = -7.0;
  cr_assert(cas_csv_number("1.5e3", &v) && v == 1500.0);
  cr_assert(cas_csv_number("-0", &v) && v == 0.0);
  cr_assert(cas_csv_number("1e999", &v) && isinf(v));   /* the range check names it */
  v = -7.0;
  /* decimal only (decimal.h): strtod would take every one of these */
  static const char *not_decimal[] = {"inf", "-Infinity", "nan", "0x10", "0X1P3", "0x.8",
                                      " 1", "\t2", "1e", ".", "+"};
  for (size_t i = 0; i < sizeof not_decimal / sizeof *not_decimal; i++)
    cr_assert(!cas_csv_number(not_decimal[i], &v), "'%s' read as %g", not_decimal[i], v);
  cr_assert(!cas_csv_number("", &v));
  cr_assert(!cas_csv_number("1.5x", &v));
  cr_assert(!cas_csv_number("x", &v));
  cr_assert(!cas_csv_number("1 ", &v));
  cr_assert_eq(v, -7.0);
}

/* The fast path for plain decimals (Clinger's) gives strtod's double bit
 * for bit: 200,000 random decimals of up to 19 digits with and without a
 * point and an exponent, signs, leading zeros, and the edges of the fast
 * path (2^53, 10^22), which go to strtod. */
Test(csv, numbers_equal_strtod_bit_for_bit) {
  static const char *edge[] = {"9007199254740991", "9007199254740992", "9007199254740993",
                               "1e22", "1e23", "1e-22", "1e-23", "0.1", "-0.0", "+.5", "5.",
                               "123456789012345678", "1234567890123456789", "0000000000000000001",
                               "4.9e-324", "1.7976931348623157e308", "2.2250738585072014e-308",
                               "0x1p3", "1e", "1e+", ".", "-", "1.2.3", "1e5.5", "00.000e-0"};
  char buf[64];
  uint64_t x = 0x9E3779B97F4A7C15ULL;
  for (int i = 0; i < 200000 + (int)(sizeof edge / sizeof *edge); i++) {
    const char *s = buf;
    if (i >= 200000) {
      s = edge[i - 200000];
    } else {
      x ^= x << 13, x ^= x >> 7, x ^= x << 17;
      int digits = 1 + (int)(x % 19), point = (int)((x >> 8) % (unsigned)(digits + 2)) - 1;
      int n = 0;
      if ((x >> 16) & 1) buf[n++] = (x >> 17) & 1 ? '-' : '+';
      uint64_t y = x * 0x2545F4914F6CDD1DULL;
      for (int d = 0; d < digits; d++, y = y * 6364136223846793005ULL + 1442695040888963407ULL) {
        if (d == point) buf[n++] = '.';
        buf[n++] = (char)('0' + (y >> 60) % 10);
      }
      if ((x >> 20) % 3 == 0) n += snprintf(buf + n, sizeof buf - (size_t)n, "e%d", (int)((x >> 24) % 61) - 30);
      buf[n] = '\0';
    }
    char *end;
    double want = strtod(s, &end), got = -7.0;
    int ok = *s != '\0' && end != s && *end == '\0' && !strpbrk(s, "xX");   /* no hexadecimal */
    cr_assert_eq(cas_csv_number(s, &got), ok, "'%s'", s);
    if (ok) cr_assert_eq(memcmp(&got, &want, sizeof got), 0, "'%s': %.17g, strtod %.17g", s, got, want);
  }
}

Test(csv, quote_cuts_at_utf8_boundary) {
  char buf[CAS_CSV_QUOTE_SIZE];
  cr_assert_str_eq(cas_csv_quote("abc", buf, sizeof buf), "'abc'");
  cr_assert_str_eq(cas_csv_quote("", buf, sizeof buf), "''");
  char text[200];
  memset(text, 'x', 95);
  memcpy(text + 95, "\xC3\xA9yz", 5); /* the 2-byte character straddles byte 96 */
  cas_csv_quote(text, buf, sizeof buf);
  cr_assert_eq(strlen(buf), 1 + 95 + 3 + 1);
  cr_assert_str_eq(buf + 96, "...'");
  memset(text, 'y', 96);
  text[96] = '\0';
  cas_csv_quote(text, buf, sizeof buf);
  cr_assert_eq(strlen(buf), 98); /* exactly 96 bytes: not cut */
}

Test(csv, hash_is_deterministic_and_length_sensitive) {
  cr_assert_eq(cas_csv_hash("abc", 3), cas_csv_hash("abcd", 3));
  cr_assert_neq(cas_csv_hash("abc", 3), cas_csv_hash("abd", 3));
  cr_assert_neq(cas_csv_hash("", 0), cas_csv_hash("\0", 1));
  cr_assert_neq(cas_csv_hash("12345678", 8), cas_csv_hash("123456789", 9));
}
