/*
 * watch.h: a watchdog for the processes that read result files.
 *
 * compare, report and verify read result files with HDF5 in a child
 * process (the crash guard, docs/CLI.md), as does a batch checking whether
 * an earlier result can be reused. A crash of the library in the child
 * becomes a message; a loop does not crash. HDF5 1.10 can loop forever on
 * some crafted files (docs/FUZZING.md: five of the fuzzer's inputs ran for
 * more than 10 s inside the library), and an overnight batch or a reviewer's
 * `report` would wait for it forever.
 *
 * So the child tells its parent, through memory they share, when it is
 * reading a result file (between cas_watch_begin and cas_watch_end: inside
 * cas_output_open_result, cas_output_close_result and every reader of
 * results; not between them) and that it is still getting on
 * (cas_watch_tick, after each block of rows or dataset). The
 * parent (cas_watch_wait) stops a child that has been reading for the
 * limit without a tick: no legitimate step of a read takes that long (a
 * block of rows, a dataset's metadata). Time spent outside reading (verify
 * running the scenario again, writing the report) is never limited.
 *
 * The counters are updated with atomic operations on a page both processes
 * map; a process that set no page (cas_watch_share not called: run, or an
 * MPI launch) counts nowhere, at the cost of a test of a pointer.
 */
#ifndef CASCADE_WATCH_H
#define CASCADE_WATCH_H

#include <stdint.h>
#include <sys/types.h>

#include "error.h"

typedef struct cas_watch {
  uint64_t ticks;   /* grows with every begin, end and tick */
  int32_t depth;    /* reads under way (they nest: a reader opens its file) */
} cas_watch;

/* The default limit in seconds, and the environment variable that sets
 * another (a number of seconds > 0, or 0 for none). */
#define CAS_WATCH_DEFAULT_LIMIT 20.0
#define CAS_WATCH_LIMIT_VARIABLE "CASCADE_READ_TIMEOUT"

/* The limit from CASCADE_READ_TIMEOUT (unset or empty: the default).
 * CAS_ERR_USAGE naming the variable and what was expected when it is not
 * a number of seconds in [0, 10^6]. 0: no limit. */
cas_status cas_watch_limit(double *limit, cas_error *err);

/* A zeroed cas_watch on a page shared with the children forked after it
 * (MAP_SHARED | MAP_ANONYMOUS), or NULL when none can be mapped; freed by
 * cas_watch_unmap. */
cas_watch *cas_watch_map(void);
void cas_watch_unmap(cas_watch *w);

/* In the child: count into w from now on (NULL: nowhere). */
void cas_watch_share(cas_watch *w);

/* In the child: a read begins, ends, or gets on. */
void cas_watch_begin(void);
void cas_watch_end(void);
void cas_watch_tick(void);

/* In the parent: waits for the child pid to end, copying what it writes
 * into the pipe whose read end is fd (the child holds the only write end:
 * its end closes the pipe) into buf, up to size bytes (buf NULL, size 0:
 * nothing expected; anything beyond size is discarded), *got the count.
 * When w is not NULL and limit > 0 and the child has been reading (depth >
 * 0) for limit seconds without a tick, it is stopped: SIGTERM (its
 * handlers remove its temporaries), SIGKILL 2 s later if it is still
 * there. *status: waitpid's. Returns 1 when the child was stopped for
 * that, 0 when it ended by itself, -1 when waitpid failed. Signals that
 * interrupt the wait are handled by their handlers and the wait goes on. */
int cas_watch_wait(pid_t pid, int fd, void *buf, size_t size, size_t *got, const cas_watch *w,
                   double limit, int *status);

#endif
