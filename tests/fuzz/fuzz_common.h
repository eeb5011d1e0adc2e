/*
 * fuzz_common.h: helpers shared by the fuzz targets (tests/fuzz/fuzz_*.c).
 *
 * The loaders read files by path, so each input is written to an anonymous
 * in-memory file (memfd) and handed over as /proc/self/fd/N: no disk I/O,
 * nothing left behind. A property that does not hold aborts, which the
 * fuzzer reports as a crash with the input that caused it.
 */
#ifndef CASCADE_FUZZ_COMMON_H
#define CASCADE_FUZZ_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "error.h"

/* Aborts with a message if cond is false. */
#define FUZZ_CHECK(cond, ...)                                          \
  do {                                                                 \
    if (!(cond)) {                                                     \
      fprintf(stderr, "fuzz property failed: %s: ", #cond);            \
      fprintf(stderr, __VA_ARGS__);                                    \
      fputc('\n', stderr);                                             \
      abort();                                                         \
    }                                                                  \
  } while (0)

/* One memfd per process, rewritten for each input. */
static int fuzz_fd = -1;
static char fuzz_path[64];

static inline const char *fuzz_file(const uint8_t *data, size_t size) {
  if (fuzz_fd < 0) {
    fuzz_fd = memfd_create("cascade-fuzz", 0);
    if (fuzz_fd < 0) {
      perror("memfd_create");
      abort();
    }
    snprintf(fuzz_path, sizeof fuzz_path, "/proc/self/fd/%d", fuzz_fd);
  }
  if (ftruncate(fuzz_fd, 0) != 0 || pwrite(fuzz_fd, data, size, 0) != (ssize_t)size) {
    perror("memfd write");
    abort();
  }
  return fuzz_path;
}

/* A failed load of user input: bad input (or out of memory), with a
 * message that names the file it is about. */
static inline void fuzz_check_error(cas_status st, const cas_error *err, const char *path) {
  FUZZ_CHECK(st == CAS_ERR_INPUT || st == CAS_ERR_NOMEM, "status %d: %s", (int)st, err->msg);
  FUZZ_CHECK(err->msg[0] != '\0', "empty error message");
  if (st == CAS_ERR_INPUT)
    FUZZ_CHECK(strstr(err->msg, path) != NULL, "message does not name '%s': %s", path, err->msg);
}

#endif
