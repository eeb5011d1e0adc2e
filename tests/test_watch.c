/*
 * test_watch.c: the watchdog of the processes that read result files
 * (watch.h), on children that stand for them:
 * - a child that reads (cas_watch_begin) and then spins without a tick is
 *   stopped after the limit, not before, and not much after;
 * - a child that reads for several limits but ticks more often than the
 *   limit runs to its end, and so does one that spends several limits
 *   outside reading (depth 0): neither is stopped, their exit codes and
 *   what they wrote into the pipe reach the parent;
 * - with a limit of 0 nothing is stopped;
 * - the limit's variable: unset and empty give the default; numbers in
 *   [0, 10^6] are taken; words, negative numbers, trailing text, NaN and
 *   larger numbers are usage errors naming the variable.
 * Times are measured with the monotonic clock; the bounds leave seconds of
 * room for a loaded machine (a stop after 0.3 s must come within 3 s).
 */
#include <criterion/criterion.h>

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "watch.h"

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void nap(double seconds) {
  struct timespec t = {(time_t)seconds, (long)((seconds - (double)(time_t)seconds) * 1e9)};
  while (nanosleep(&t, &t) != 0) {
  }
}

typedef enum { SPIN_READING, TICKING, IDLE_OUTSIDE } behaviour;

/* Forks a child that behaves as asked for `seconds`, then writes "done"
 * into the pipe and exits 7; waits for it under the limit. */
static int watch_child(behaviour b, double seconds, double limit, int *status, char *got,
                       size_t *fill, double *took) {
  cas_watch *w = cas_watch_map();
  cr_assert_not_null(w);
  int fds[2];
  cr_assert_eq(pipe(fds), 0);
  /* the clock starts before the fork: the child's `seconds` start after
   * it, so a child that runs them all takes at least that long, however
   * the two processes are scheduled (t0 taken after the fork was later
   * than the child's start once, on a loaded machine: 0.99 s for 1 s) */
  double t0 = now();
  pid_t pid = fork();
  cr_assert_geq(pid, 0);
  if (pid == 0) {
    close(fds[0]);
    cas_watch_share(w);
    double until = now() + seconds;
    if (b == SPIN_READING) {
      cas_watch_begin();
      volatile unsigned long spin = 0;
      while (now() < until) spin++;
      cas_watch_end();
    } else if (b == TICKING) {
      cas_watch_begin();
      while (now() < until) {
        nap(limit / 4.0);
        cas_watch_tick();
      }
      cas_watch_end();
    } else {
      cas_watch_begin();
      cas_watch_end();
      nap(seconds);
    }
    _exit(write(fds[1], "done", 4) == 4 ? 7 : 1);
  }
  close(fds[1]);
  int rc = cas_watch_wait(pid, fds[0], got, 16, fill, w, limit, status);
  *took = now() - t0;
  close(fds[0]);
  cas_watch_unmap(w);
  return rc;
}

Test(watch, stops_a_reader_that_makes_no_progress) {
  int status = 0;
  char got[16] = "";
  size_t fill = 0;
  double took;
  int rc = watch_child(SPIN_READING, 30.0, 0.3, &status, got, &fill, &took);
  cr_assert_eq(rc, 1, "the spinning reader was not stopped (rc %d)", rc);
  cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM, "stopped by SIGTERM");
  cr_assert_geq(took, 0.3, "stopped before the limit: %g s", took);
  cr_assert_leq(took, 3.0, "stopped %g s after the start, limit 0.3 s", took);
  cr_assert_eq(fill, 0);
}

Test(watch, leaves_readers_that_get_on_and_time_outside_reading) {
  behaviour bs[] = {TICKING, IDLE_OUTSIDE};
  for (size_t i = 0; i < 2; i++) {
    int status = 0;
    char got[16] = "";
    size_t fill = 0;
    double took;
    int rc = watch_child(bs[i], 1.0, 0.2, &status, got, &fill, &took);
    cr_assert_eq(rc, 0, "child %zu stopped (rc %d)", i, rc);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 7, "child %zu's exit code", i);
    cr_assert_eq(fill, 4);
    cr_assert_eq(memcmp(got, "done", 4), 0);
    cr_assert_geq(took, 1.0);
  }
}

Test(watch, no_limit_stops_nothing) {
  int status = 0;
  char got[16] = "";
  size_t fill = 0;
  double took;
  int rc = watch_child(SPIN_READING, 0.5, 0.0, &status, got, &fill, &took);
  cr_assert_eq(rc, 0);
  cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 7);
}

Test(watch, limit_variable) {
  double limit = -1.0;
  cas_error err = {0};
  unsetenv(CAS_WATCH_LIMIT_VARIABLE);
  cr_assert_eq(cas_watch_limit(&limit, &err), CAS_OK);
  cr_assert_eq(limit, CAS_WATCH_DEFAULT_LIMIT);
  setenv(CAS_WATCH_LIMIT_VARIABLE, "", 1);
  cr_assert_eq(cas_watch_limit(&limit, &err), CAS_OK);
  cr_assert_eq(limit, CAS_WATCH_DEFAULT_LIMIT);
  const char *good[] = {"0", "0.05", "90", "120.", "1e6"};
  double want[] = {0.0, 0.05, 90.0, 120.0, 1e6};
  for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
    setenv(CAS_WATCH_LIMIT_VARIABLE, good[i], 1);
    cr_assert_eq(cas_watch_limit(&limit, &err), CAS_OK, "'%s' refused", good[i]);
    cr_assert_eq(limit, want[i], "'%s' read as %g", good[i], limit);
  }
  const char *bad[] = {"soon", "-1", "10s", "nan", "inf", "1e7", "0x", "1,5", "0x10", " 120 "};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    setenv(CAS_WATCH_LIMIT_VARIABLE, bad[i], 1);
    memset(&err, 0, sizeof err);
    cr_assert_eq(cas_watch_limit(&limit, &err), CAS_ERR_USAGE, "'%s' taken", bad[i]);
    cr_assert(strstr(err.msg, CAS_WATCH_LIMIT_VARIABLE), "%s", err.msg);
    cr_assert(strstr(err.msg, bad[i]), "%s", err.msg);
  }
  unsetenv(CAS_WATCH_LIMIT_VARIABLE);
}
