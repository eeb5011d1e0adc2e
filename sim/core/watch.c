/* watch.c: the watchdog of the processes that read result files (watch.h). */
#define _GNU_SOURCE
#include "watch.h"
#include "decimal.h"

#include <errno.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

cas_status cas_watch_limit(double *limit, cas_error *err) {
  *limit = CAS_WATCH_DEFAULT_LIMIT;
  const char *v = getenv(CAS_WATCH_LIMIT_VARIABLE);
  if (!v || !*v) return CAS_OK;
  double x;
  if (!cas_decimal_parse(v, &x) || x < 0.0 || x > 1e6)
    return cas_error_set(err, CAS_ERR_USAGE, "%s=%s: expected a number of seconds from 0 (no "
                         "limit) to 1000000", CAS_WATCH_LIMIT_VARIABLE, v);
  *limit = x;
  return CAS_OK;
}

cas_watch *cas_watch_map(void) {
  void *p = mmap(NULL, sizeof(cas_watch), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  return p == MAP_FAILED ? NULL : (cas_watch *)p;   /* fresh anonymous pages are zero */
}

void cas_watch_unmap(cas_watch *w) {
  if (w) munmap(w, sizeof *w);
}

static cas_watch *shared;

void cas_watch_share(cas_watch *w) { shared = w; }

void cas_watch_begin(void) {
  if (!shared) return;
  __atomic_fetch_add(&shared->depth, 1, __ATOMIC_RELAXED);
  __atomic_fetch_add(&shared->ticks, 1, __ATOMIC_RELEASE);
}

void cas_watch_end(void) {
  if (!shared) return;
  __atomic_fetch_add(&shared->ticks, 1, __ATOMIC_RELEASE);
  __atomic_fetch_sub(&shared->depth, 1, __ATOMIC_RELAXED);
}

void cas_watch_tick(void) {
  if (shared) __atomic_fetch_add(&shared->ticks, 1, __ATOMIC_RELEASE);
}

static double now_seconds(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Waits up to `seconds` for pid to end; 1 when it did (*status set). */
static int reaped_within(pid_t pid, double seconds, int *status) {
  double until = now_seconds() + seconds;
  for (;;) {
    pid_t r = waitpid(pid, status, WNOHANG);
    if (r == pid) return 1;
    if (r < 0 && errno != EINTR) return 1;
    if (now_seconds() >= until) return 0;
    struct timespec nap = {0, 10 * 1000 * 1000};
    nanosleep(&nap, NULL);
  }
}

int cas_watch_wait(pid_t pid, int fd, void *buf, size_t size, size_t *got, const cas_watch *w,
                   double limit, int *status) {
  size_t fill = 0;
  int open = fd >= 0, rc = 0;
  long nap_ms = 1;
  uint64_t seen = w ? __atomic_load_n(&w->ticks, __ATOMIC_ACQUIRE) : 0;
  double since = now_seconds();
  /* The pipe is read until the child's end closes it (the child ended, or
   * is ending), waking at least every quarter second (a tenth of the limit
   * when that is shorter) to look at the counters; then the child is
   * reaped, looked at after 1, 2, 4 ... ms (it is exiting). */
  int wake_ms = 250;
  if (limit > 0.0 && limit * 100.0 < (double)wake_ms) wake_ms = limit * 100.0 < 1.0 ? 1 : (int)(limit * 100.0);
  for (;;) {
    if (open) {
      struct pollfd p = {.fd = fd, .events = POLLIN};
      int r = poll(&p, 1, wake_ms);
      if (r < 0 && errno != EINTR) open = 0;
      if (r > 0) {
        char scrap[256];
        char *to = fill < size ? (char *)buf + fill : scrap;
        size_t room = fill < size ? size - fill : sizeof scrap;
        ssize_t k = read(fd, to, room);
        if (k == 0 || (k < 0 && errno != EINTR && errno != EAGAIN)) open = 0;
        if (k > 0 && fill < size) fill += (size_t)k;
      }
    } else {
      pid_t r = waitpid(pid, status, WNOHANG);
      if (r == pid) break;
      if (r < 0 && errno != EINTR) {
        rc = -1;
        break;
      }
      struct timespec nap = {nap_ms / 1000, (nap_ms % 1000) * 1000 * 1000};
      nanosleep(&nap, NULL);
      if (nap_ms < wake_ms) nap_ms *= 2;
    }
    if (!w || !(limit > 0.0)) continue;
    uint64_t t = __atomic_load_n(&w->ticks, __ATOMIC_ACQUIRE);
    double now = now_seconds();
    if (t != seen || __atomic_load_n(&w->depth, __ATOMIC_RELAXED) <= 0) {
      seen = t;
      since = now;
      continue;
    }
    if (now - since < limit) continue;
    /* reading for the limit without a tick: stopped */
    kill(pid, SIGTERM);
    if (!reaped_within(pid, 2.0, status)) {
      kill(pid, SIGKILL);
      while (waitpid(pid, status, 0) < 0 && errno == EINTR) {
      }
    }
    rc = 1;
    break;
  }
  if (got) *got = fill;
  return rc;
}
