/*
 * csv.h: the CSV reading shared by the file loaders (portfolio.c,
 * network.c): records, fields, positions, numbers and messages.
 *
 * What a loader gets: one record per non-blank line (spaces and tabs only
 * count as blank), the line terminator (LF or CRLF) removed, a UTF-8
 * byte-order mark removed from line 1. The first record is the header;
 * the ones after it are data rows 0, 1, ..., and cas_csv_row_line maps a
 * row back to its physical line. Fields are split at commas; spaces and
 * tabs around a field are dropped; a field in double quotes keeps commas
 * and spaces and writes a quote inside as "" (a quoted field cannot span
 * lines). What the loader checks and says about the fields is its own.
 *
 * Invariants: lineno is the 1-based physical line of the current record;
 * orig holds the current record as read (before splitting, which writes
 * into the record in place), so that byte offsets of fields, which are
 * relative to the record, can always be turned into columns. Columns are
 * 1-based characters (UTF-8 code points; the byte-order mark is not part
 * of the record, so it is not counted). Errors follow error.h:
 * "path:line:col: reason (got X, expected Y)".
 */
#ifndef CASCADE_CSV_H
#define CASCADE_CSV_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "error.h"
#include "outfile.h"

enum {
  CAS_CSV_QUOTE_MAX = 96,                      /* longest input quoted in a message [bytes] */
  CAS_CSV_QUOTE_SIZE = CAS_CSV_QUOTE_MAX + 8   /* buffer for cas_csv_quote */
};

/* A field of a split record. */
typedef struct cas_csv_field {
  char *text;    /* unquoted, trimmed, NUL-terminated, inside the record */
  size_t start;  /* byte offset in the record where the field starts (after
                    leading blanks; at the opening quote if quoted) */
} cas_csv_field;

/* A file being read record by record. Fields are read-only to callers. */
typedef struct cas_csv_reader {
  const char *path;
  const char *what;   /* what the file holds ("portfolio"), for messages */
  cas_error *err;     /* where read and split errors go; may be NULL */
  FILE *f;
  char *iobuf;        /* f's buffer (cas_csv_open), or NULL */
  const void *mem;    /* the bytes read, when opened from memory (cas_csv_open_mem) */
  size_t mem_size;
  char *line;         /* getline buffer; the current record points into it */
  size_t line_cap;
  char *orig;         /* pristine copy of the current record */
  size_t orig_cap;
  long lineno;        /* physical line of the current record, 1-based */
  long header_line;   /* physical line of the header; 0 until it is read */
  uint64_t rows;      /* data rows returned so far */
  uint64_t *blank;    /* rows returned before each blank line after the header */
  size_t nblank, blank_cap;
} cas_csv_reader;

/* Opens path for reading into *r (zeroed first). what names what the
 * file holds, for messages ("out of memory while reading the <what>").
 * Fails with CAS_ERR_INPUT and "path: cannot open (reason)" or "path:
 * cannot read (got a directory, expected a CSV file)"; r then holds
 * nothing to close. err (may be NULL) is also where every later error of
 * the reader goes. */
cas_status cas_csv_open(cas_csv_reader *r, const char *path, const char *what, cas_error *err);

/* As cas_csv_open, reading the size bytes at data (borrowed: they must
 * outlive the reader) as the contents of the file path, which names it in
 * messages: a file read once and shared between the ranks of a
 * distributed run. */
cas_status cas_csv_open_mem(cas_csv_reader *r, const char *path, const void *data, size_t size,
                            const char *what, cas_error *err);

/* Reports running out of memory while reading r: CAS_ERR_NOMEM, "path:
 * out of memory while reading the <what>". */
cas_status cas_csv_nomem(const cas_csv_reader *r);

/* Closes the file and frees the buffers; a zeroed reader is a no-op. */
void cas_csv_close(cas_csv_reader *r);

/* Reads the next record: the header first, then data rows. On success
 * returns the record's length in bytes and sets *text to it (inside the
 * reader's buffer, NUL-terminated, valid until the next call) and copies
 * it to r->orig. Returns -1 at the end of the file with *st untouched, or
 * -1 with *st set on a read error (CAS_ERR_IO, "path: read error
 * (reason)") or out of memory (cas_csv_nomem). */
long cas_csv_next(cas_csv_reader *r, char **text, cas_status *st);

/* Physical line of data row j (0-based), undoing skipped blank lines. */
long cas_csv_row_line(const cas_csv_reader *r, uint64_t j);

/* 1-based character column of byte offset off of the current record. */
long cas_csv_column(const cas_csv_reader *r, size_t off);

/* Fails with CAS_ERR_INPUT and "path:line:col: message" (message from
 * fmt), col that of byte offset off of the current record. */
cas_status cas_csv_fail(const cas_csv_reader *r, size_t off, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Splits the current record s (n bytes, as returned by cas_csv_next;
 * modified in place) into fields. Stores at most max fields in f but
 * counts them all in *count. Fails with CAS_ERR_INPUT, positioned in the
 * record, on a NUL byte, an unterminated quoted field or text after a
 * closing quote. */
cas_status cas_csv_split(const cas_csv_reader *r, char *s, size_t n, cas_csv_field *f, int max, int *count);

/* A loader's columns, in its own order: the exact names and which are
 * required (the others are optional). Messages list them in this order. */
typedef struct cas_csv_columns {
  const char *const *names;
  const int *required;
  int n;
} cas_csv_columns;

/* Reads the header (the first record, cas_csv_next), splits it and
 * matches its fields to the columns: col_of[c] is the field of column c or
 * -1, kind_of[k] the column of field k (both arrays of cols->n, at most
 * 16), *count the number of fields. Fails as cas_csv_next does, or with
 * CAS_ERR_INPUT on an empty file (no line), a split error, an unknown or
 * repeated column name (at the field) or a missing required column (at the
 * line). */
cas_status cas_csv_header(cas_csv_reader *r, const cas_csv_columns *cols, int *col_of, int *kind_of, int *count);

/* Fails as cas_csv_fail, at field `field` of an earlier data row (0-based,
 * below r->rows) of a record of ncols fields: the file is read again from
 * its start up to that row, for its line and column. Should the file no
 * longer hold that row, the message names its line without a column. */
cas_status cas_csv_fail_row(cas_csv_reader *r, uint64_t row, int field, int ncols, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* Splits a data record s (n bytes, modified in place) into exactly ncols
 * fields, stored in f (room for ncols + 1); fails as cas_csv_split does or
 * with CAS_ERR_INPUT on another number of fields. */
cas_status cas_csv_split_row(const cas_csv_reader *r, char *s, size_t n, cas_csv_field *f, int ncols);

/* Strict number: the whole of s (non-empty) must be a strtod number
 * (so "inf", "nan" and hex pass; the caller checks the range). Returns 1
 * and sets *out, or 0 and leaves *out alone. */
int cas_csv_number(const char *s, double *out);

/* text quoted for a message ("'text'"), cut at a UTF-8 boundary after at
 * most CAS_CSV_QUOTE_MAX bytes and then marked "...'". Writes into buf
 * (size >= CAS_CSV_QUOTE_SIZE to hold every result) and returns it. */
const char *cas_csv_quote(const char *text, char *buf, size_t size);

/* 64-bit hash of n bytes, well mixed in every bit (hash tables may use
 * low bits for the slot and high bits as a tag). Not for security. */
uint64_t cas_csv_hash(const char *s, size_t n);

/* Writing: a CSV file is written under "PATH.tmp.<pid>" (1 MiB buffered)
 * and renamed to PATH by cas_csv_commit only when complete; on any failure
 * the temporary file is removed, so PATH is complete or untouched. */
typedef struct cas_csv_writer {
  FILE *f;
  cas_outfile out;    /* the temporary file, renamed by cas_csv_commit (outfile.h) */
  char *iobuf;
  const char *path;
} cas_csv_writer;

/* Opens the temporary file (outfile.h); CAS_ERR_IO naming PATH and the
 * cause, CAS_ERR_USAGE for an empty name, or NOMEM. */
cas_status cas_csv_create(cas_csv_writer *w, const char *path, cas_error *err);
/* Closes and renames; on a write, close or rename error removes the
 * temporary file and returns CAS_ERR_IO. Frees w's resources either way. */
cas_status cas_csv_commit(cas_csv_writer *w, cas_error *err);
/* Closes and removes the temporary file (an error path). */
void cas_csv_abandon(cas_csv_writer *w);

#endif
