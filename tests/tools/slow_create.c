/*
 * slow_create.c: a stand-in for open(2) that pauses right after it has
 * created a temporary, for tests/cli/signal_window.sh. Loaded with
 * LD_PRELOAD, it puts its own open and open64 before the C library's: a
 * call with O_CREAT | O_EXCL on a path that contains ".tmp." creates the
 * file as the real call would, then sleeps CAS_TEST_SLOW_CREATE seconds
 * before it returns, so that a signal can be sent while the file exists
 * and the program has not yet got its descriptor back. Every other call
 * goes straight through. Built by the test with the system's cc.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef int (*open_fn)(const char *, int, ...);

static int slow_open(const char *symbol, const char *path, int flags, mode_t mode) {
  open_fn real = (open_fn)dlsym(RTLD_NEXT, symbol);
  if (!real) return -1;
  int fd = real(path, flags, mode);
  const char *pause = getenv("CAS_TEST_SLOW_CREATE");
  if (fd >= 0 && pause && (flags & (O_CREAT | O_EXCL)) == (O_CREAT | O_EXCL) && path &&
      strstr(path, ".tmp.")) {
    double s = atof(pause);
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    while (nanosleep(&ts, &ts) != 0) {
    }
  }
  return fd;
}

int open(const char *path, int flags, ...);
int open64(const char *path, int flags, ...);

/* The mode argument, which open takes only with O_CREAT. */
#define MODE_ARGUMENT(flags, mode)          \
  do {                                      \
    if ((flags) & O_CREAT) {                \
      va_list ap;                           \
      va_start(ap, flags);                  \
      (mode) = (mode_t)va_arg(ap, int);     \
      va_end(ap);                           \
    }                                       \
  } while (0)

int open(const char *path, int flags, ...) {
  mode_t mode = 0;
  MODE_ARGUMENT(flags, mode);
  return slow_open("open", path, flags, mode);
}

int open64(const char *path, int flags, ...) {
  mode_t mode = 0;
  MODE_ARGUMENT(flags, mode);
  return slow_open("open64", path, flags, mode);
}
