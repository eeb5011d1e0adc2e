/*
 * error.h: status codes and the error record every fallible function fills.
 *
 * Functions that can fail return a cas_status and, on failure, write one
 * human-readable message into the caller's cas_error. Messages about user
 * input carry their source position, "file:line:col: what is wrong (got X,
 * expected Y)", so that a user can go straight to the offending spot. Nothing
 * in the library exits the process or prints: the driver (main.c) decides.
 */
#ifndef CASCADE_ERROR_H
#define CASCADE_ERROR_H

#include <stddef.h>

typedef enum cas_status {
  CAS_OK = 0,
  CAS_ERR_USAGE,    /* bad command line */
  CAS_ERR_INPUT,    /* bad scenario, portfolio or other user file */
  CAS_ERR_IO,       /* a file could not be read or written */
  CAS_ERR_NOMEM,    /* out of memory */
  CAS_ERR_INTERNAL  /* a bug or a library failure: please report */
} cas_status;

/* Room for a message naming a path as long as the system allows (PATH_MAX,
 * 4096 bytes) with what was expected: at 1024 bytes a long path pushed the
 * reason out. A longer message ends with "...". */
enum { CAS_ERROR_MSG_MAX = 8192 };

typedef struct cas_error {
  cas_status status;
  char msg[CAS_ERROR_MSG_MAX];
} cas_error;

/* Sets err (if not NULL) and returns st. */
cas_status cas_error_set(cas_error *err, cas_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* As cas_error_set, prefixed "file:line:col: " (line and col 1-based; a
 * col of 0 omits the column, a line of 0 omits both). */
cas_status cas_error_at(cas_error *err, cas_status st, const char *file,
                        long line, long col, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

/* Process exit code for a status (documented in docs/CLI.md):
 * 0 ok, 1 internal, 2 usage, 3 bad input, 4 I/O, 5 out of memory. */
int cas_status_exit_code(cas_status st);

const char *cas_status_name(cas_status st);

#endif
