/*
 * cmd_batch.c: `cascade batch`, the overnight run of many scenarios
 * (docs/BATCH.md).
 *
 *   cascade batch SCENARIO... --out DIR [--shard I/N] [--paths N] [--seed N]
 *                 [--loans N] [--threads N] [--kernel NAME] [-q]
 *
 * Design:
 * - The scenarios (files, or the *.yaml of folders) are sorted by file
 *   stem, the name of their result DIR/<stem>.h5; two different files with
 *   one stem are refused before anything runs. --shard I/N keeps those at
 *   0-based positions k with k mod N == I - 1, so the tasks of a job array
 *   given the same arguments split the batch without talking to each other.
 * - Each scenario runs in a child process (fork, then the library's
 *   cas_run): a scenario that crashes, is killed for memory or aborts in a
 *   library cannot take the batch or the other scenarios with it, and every
 *   scenario starts with fresh memory. The child sends its progress and its
 *   outcome (error record, or the digest of the file it wrote) through a
 *   pipe. The parent never starts OpenMP threads, so forking is safe; a
 *   child dies with its parent (PR_SET_PDEATHSIG), so kill -9 of the batch
 *   leaves no run going on behind it.
 * - The manifest (manifest.h) is rewritten, temp + rename, after every
 *   scenario; results are written temp + rename by cas_run. Resuming: a
 *   scenario is reused when its result exists, its manifest entry is ok
 *   (or reused) with the same input hashes, overrides and cascade commit,
 *   and the result's digest still equals the entry's. Anything else runs.
 *   Stale temporary files of this shard are removed at start; a lock file
 *   per manifest keeps two batches from writing the same manifest at once.
 * - batch.log is shared by all shards: one line per event, each line one
 *   write() on a file opened O_APPEND, so lines of parallel tasks never
 *   interleave.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "digest.h"
#include "kernel.h"
#include "manifest.h"
#include "outfile.h"
#include "portfolio.h"
#include "run.h"
#include "sha256.h"
#include "version.h"
#include "watch.h"

/* Exit code when at least one scenario failed (docs/CLI.md). */
enum { EXIT_SOME_FAILED = 7 };

static const char *const usage_batch =
    "usage: cascade batch SCENARIO... --out DIR [OPTIONS]\n"
    "\n"
    "Runs every scenario (a folder means its *.yaml files) and writes\n"
    "DIR/<scenario file stem>.h5 for each, a manifest (DIR/manifest.json: inputs\n"
    "with SHA-256, overrides, status, times, digest of the results) and a log\n"
    "(DIR/batch.log). A failed scenario is reported and skipped. Run the same\n"
    "command again after a crash: finished scenarios are reused, the rest run.\n"
    "\n"
    "options:\n"
    "  --out DIR, -o DIR   folder of the results, manifest and log (created if missing)\n"
    "  --shard I/N         run only the scenarios k (0-based, sorted by stem) with\n"
    "                      k mod N == I-1; manifest DIR/manifest.shard-I-of-N.json\n"
    "  --paths N           Monte Carlo paths (overrides every scenario)\n"
    "  --seed N            simulation seed (overrides every scenario)\n"
    "  --loans N           size of the built-in portfolio (overrides every scenario)\n"
    "  --threads N         OpenMP threads per scenario (default: all cores)\n"
    "  --kernel NAME       simulation kernel (default sparse)\n"
    "  -q, --quiet         no summary table, no progress bar\n"
    "  -h, --help          this text\n"
    "\n"
    "exit codes: 0 every scenario ok or reused, 7 at least one scenario failed,\n"
    "2 usage error, 4 the folder, manifest or log cannot be written.\n";

/* One scenario of the batch. */
typedef struct job {
  char *path;          /* as given, or folder/name.yaml */
  char *name;          /* file stem: DIR/<name>.h5 */
  char *real;          /* canonical path, NULL if it does not resolve */
  double weight;       /* paths x loans, for the progress bar */
} job;

typedef struct batch {
  const char *out_dir;
  int shard_index, shard_count;         /* 0/0: no --shard */
  cas_run_options ropt;                 /* overrides, threads, kernel */
  cas_manifest_overrides ov;
  int quiet, show_progress;
  char command_line[4096];
  char manifest_path[4096], log_path[4096];
  char started_utc[32];
  int log_fd;
  int lock_fd;                          /* holds the manifest's lock (flock) */
  double read_limit;                    /* the reuse check's watchdog (watch.h) */
  job *jobs;                            /* this shard's, sorted */
  size_t njobs;
  cas_manifest_entry *entries;          /* one per job */
  /* progress */
  double total_weight, done_weight, run_weight, run_seconds, t0;
  size_t finished;
  int progress_shown;
  /* The CSV book of the scenario last run, read here once and handed to
   * the scenarios' processes (they inherit it: cas_run_options.book), so
   * that scenarios on one book do not each read it again. */
  cas_portfolio *book;
  char *book_path;
  cas_taxonomy *book_declared;
  char book_sha256[CAS_SHA256_HEX];
} batch;

/* ---- small helpers ----------------------------------------------------- */

static void utc_now(char *buf, size_t size) {
  time_t t = time(NULL);
  struct tm tm;
  gmtime_r(&t, &tm);
  strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static char *xstrdup(const char *s) { return s ? strdup(s) : NULL; }

static char *path_join(const char *dir, const char *name) {
  size_t n = strlen(dir);
  int slash = n > 0 && dir[n - 1] == '/';
  char *p = malloc(n + strlen(name) + 2);
  if (p) sprintf(p, "%s%s%s", dir, slash ? "" : "/", name);
  return p;
}

/* File stem: the base name without a final .yaml or .yml. */
static char *file_stem(const char *path) {
  const char *base = strrchr(path, '/');
  base = base ? base + 1 : path;
  size_t n = strlen(base);
  if (n > 5 && !strcmp(base + n - 5, ".yaml")) n -= 5;
  else if (n > 4 && !strcmp(base + n - 4, ".yml")) n -= 4;
  return strndup(base, n);
}

static void erase_progress(batch *b) {
  if (b->progress_shown) fputs("\r\033[K", stderr);
  b->progress_shown = 0;
}

static void log_line(batch *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void log_line(batch *b, const char *fmt, ...) {
  char line[8192], when[32];
  utc_now(when, sizeof when);
  int n;
  if (b->shard_count) n = snprintf(line, sizeof line, "%s shard %d/%d: ", when, b->shard_index, b->shard_count);
  else n = snprintf(line, sizeof line, "%s ", when);
  va_list ap;
  va_start(ap, fmt);
  if (n >= 0 && (size_t)n < sizeof line) n += vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  size_t len = (size_t)n < sizeof line - 1 ? (size_t)n : sizeof line - 2;
  for (size_t i = 0; i < len; i++)
    if (line[i] == '\n') line[i] = ' ';   /* one event, one line */
  line[len++] = '\n';
  /* One write on an O_APPEND descriptor: lines of parallel shards never mix. */
  ssize_t w = write(b->log_fd, line, len);
  (void)w; /* a lost log line is not worth stopping for: the manifest records everything */
}

static void show_progress(batch *b, const char *name, double frac_current, double weight_current) {
  if (!b->show_progress) return;
  double done = b->done_weight + frac_current * weight_current;
  double frac = b->total_weight > 0 ? done / b->total_weight : 1.0;
  if (frac > 1) frac = 1;
  int width = 30, fill = (int)(frac * width);
  char bar[32];
  for (int i = 0; i < width; i++) bar[i] = i < fill ? '#' : '.';
  bar[width] = '\0';
  /* Rate from the scenarios that actually ran (reused ones cost nothing). */
  double run_done = b->run_weight + frac_current * weight_current;
  double spent = b->run_seconds + (weight_current > 0 ? cas_cli_wall() - b->t0 : 0);
  char eta[32] = "--";
  if (run_done > 0 && frac < 1) {
    double s = spent / run_done * (b->total_weight - done);
    long whole = (long)(s + 0.5);
    if (whole < 120) snprintf(eta, sizeof eta, "%lds", whole);
    else if (whole < 7200) snprintf(eta, sizeof eta, "%ldm%02lds", whole / 60, whole % 60);
    else snprintf(eta, sizeof eta, "%.1fh", s / 3600);
  }
  fprintf(stderr, "\rbatch [%s] %5.1f%% %zu/%zu %-22.22s ETA %-8s", bar, 100 * frac, b->finished,
          b->njobs, name, eta);
  b->progress_shown = 1;
}

/* ---- the list of scenarios --------------------------------------------- */

/* By stem, then by path, so that the order never depends on qsort. */
static int by_name(const void *a, const void *b) {
  const job *x = a, *y = b;
  int c = strcmp(x->name, y->name);
  return c ? c : strcmp(x->path, y->path);
}

/* Same file: same canonical path, or the same (unresolvable) path. */
static int same_file(const job *x, const job *y) {
  if (x->real && y->real) return !strcmp(x->real, y->real);
  return !x->real && !y->real && !strcmp(x->path, y->path);
}

static int by_text(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static int has_yaml_suffix(const char *s) {
  size_t n = strlen(s);
  return n > 5 && !strcmp(s + n - 5, ".yaml");
}

static void free_jobs(job *jobs, size_t n) {
  for (size_t i = 0; i < n; i++) {
    free(jobs[i].path);
    free(jobs[i].name);
    free(jobs[i].real);
  }
  free(jobs);
}

/* Adds a scenario path (not deduplicated yet). */
static int add_job(job **jobs, size_t *n, size_t *cap, const char *path) {
  if (*n == *cap) {
    size_t c = *cap ? 2 * *cap : 16;
    job *j = realloc(*jobs, c * sizeof *j);
    if (!j) return -1;
    *jobs = j;
    *cap = c;
  }
  job *j = &(*jobs)[*n];
  memset(j, 0, sizeof *j);
  j->path = strdup(path);
  j->name = file_stem(path);
  j->real = realpath(path, NULL);
  if (!j->path || !j->name) {
    free(j->path);
    free(j->name);
    free(j->real);
    return -1;
  }
  (*n)++;
  return 0;
}

/* Expands the SCENARIO arguments into jobs sorted by name, without
 * duplicates; returns an exit code (0 ok) after printing the problem. */
static int expand(char **args, int nargs, job **out, size_t *nout) {
  job *jobs = NULL;
  size_t n = 0, cap = 0;
  int rc = 0;
  for (int a = 0; a < nargs && !rc; a++) {
    struct stat sb;
    if (stat(args[a], &sb) == 0 && S_ISDIR(sb.st_mode)) {
      DIR *d = opendir(args[a]);
      if (!d) {
        rc = cas_cli_usage_error("batch", "cannot read folder %s: %s", args[a], strerror(errno));
        break;
      }
      char **names = NULL;
      size_t nn = 0, nc = 0;
      struct dirent *de;
      while ((de = readdir(d)) != NULL && !rc) {
        if (!has_yaml_suffix(de->d_name) || de->d_name[0] == '.') continue;
        if (nn == nc) {
          nc = nc ? 2 * nc : 16;
          char **t = realloc(names, nc * sizeof *t);
          if (!t) {
            rc = cas_status_exit_code(CAS_ERR_NOMEM);
            break;
          }
          names = t;
        }
        if (!(names[nn++] = strdup(de->d_name))) rc = cas_status_exit_code(CAS_ERR_NOMEM);
      }
      closedir(d);
      if (!rc && nn == 0) rc = cas_cli_usage_error("batch", "folder %s has no *.yaml scenario files", args[a]);
      if (!rc) qsort(names, nn, sizeof *names, by_text);
      for (size_t i = 0; i < nn && !rc; i++) {
        char *p = path_join(args[a], names[i]);
        if (!p || add_job(&jobs, &n, &cap, p)) rc = cas_status_exit_code(CAS_ERR_NOMEM);
        free(p);
      }
      for (size_t i = 0; i < nn; i++) free(names[i]);
      free(names);
    } else if (add_job(&jobs, &n, &cap, args[a])) {
      rc = cas_status_exit_code(CAS_ERR_NOMEM);
    }
  }
  if (!rc) {
    qsort(jobs, n, sizeof *jobs, by_name);
    /* Same stem, different files: refuse before anything runs. */
    for (size_t i = 1; i < n && !rc; i++)
      if (!strcmp(jobs[i - 1].name, jobs[i].name) && !same_file(&jobs[i - 1], &jobs[i]))
        rc = cas_cli_usage_error("batch",
                                 "%s and %s would both write %s.h5: rename one of them or run "
                                 "them in separate batches",
                                 jobs[i - 1].path, jobs[i].path, jobs[i].name);
    /* The same file named twice runs once. */
    size_t k = 0;
    for (size_t i = 0; i < n && !rc; i++) {
      if (k > 0 && !strcmp(jobs[k - 1].name, jobs[i].name)) {
        free(jobs[i].path);
        free(jobs[i].name);
        free(jobs[i].real);
        continue;
      }
      jobs[k++] = jobs[i];
    }
    if (!rc) n = k;
  }
  if (rc) {
    free_jobs(jobs, n);
    return rc;
  }
  *out = jobs;
  *nout = n;
  return 0;
}

/* ---- inputs, reuse ----------------------------------------------------- */

/* The SHA-256 of the files hashed so far in this batch, by identity
 * (device, inode, size, modification and change times): the scenarios of a
 * batch share a book of 10^7 loans, 600 MB, which is then hashed once. */
enum { HASHED_MAX = 16 };
static struct hashed {
  dev_t dev;
  ino_t ino;
  off_t size;
  struct timespec mtime, ctime;
  char sha256[CAS_SHA256_HEX];
} hashed[HASHED_MAX];
static size_t nhashed;

static int same_stat(const struct hashed *h, const struct stat *sb) {
  return h->dev == sb->st_dev && h->ino == sb->st_ino && h->size == sb->st_size &&
         h->mtime.tv_sec == sb->st_mtim.tv_sec && h->mtime.tv_nsec == sb->st_mtim.tv_nsec &&
         h->ctime.tv_sec == sb->st_ctim.tv_sec && h->ctime.tv_nsec == sb->st_ctim.tv_nsec;
}

static cas_status sha256_cached(const char *path, char hex[CAS_SHA256_HEX], cas_error *err) {
  struct stat before, after;
  int known = stat(path, &before) == 0 && S_ISREG(before.st_mode);
  for (size_t k = 0; known && k < nhashed; k++)
    if (same_stat(&hashed[k], &before)) {
      memcpy(hex, hashed[k].sha256, CAS_SHA256_HEX);
      return CAS_OK;
    }
  cas_status st = cas_sha256_file(path, hex, NULL, err);
  /* remembered only if the file did not change while it was read */
  if (st == CAS_OK && known && stat(path, &after) == 0) {
    struct hashed h = {before.st_dev, before.st_ino, before.st_size, before.st_mtim, before.st_ctim, ""};
    if (same_stat(&h, &after)) {
      memcpy(h.sha256, hex, CAS_SHA256_HEX);
      hashed[nhashed++ % HASHED_MAX] = h;
    }
  }
  return st;
}

static cas_status add_input(cas_manifest_entry *e, const char *role, const char *path,
                            uint64_t *lines, cas_error *err) {
  cas_manifest_input *in = realloc(e->inputs, (e->ninputs + 1) * sizeof *in);
  if (!in) return cas_error_set(err, CAS_ERR_NOMEM, "no memory for the list of inputs");
  e->inputs = in;
  cas_manifest_input *x = &in[e->ninputs];
  memset(x, 0, sizeof *x);
  x->role = strdup(role);
  x->path = strdup(path);
  e->ninputs++;
  if (!x->role || !x->path) return cas_error_set(err, CAS_ERR_NOMEM, "no memory for the list of inputs");
  return lines ? cas_sha256_file(path, x->sha256, lines, err) : sha256_cached(path, x->sha256, err);
}

/* Every file the scenario reads, hashed now, into e->inputs. */
static cas_status hash_inputs(const cas_scenario *sc, cas_manifest_entry *e, cas_error *err) {
  cas_status st = CAS_OK;
  for (size_t k = 0; k < sc->nfiles && st == CAS_OK; k++)
    st = add_input(e, k ? "base" : "scenario", sc->file_paths[k], NULL, err);
  if (st == CAS_OK && sc->portfolio.source == CAS_PORTFOLIO_FILE)
    st = add_input(e, "portfolio", sc->portfolio.file, NULL, err);
  if (st == CAS_OK && sc->network.source == CAS_NETWORK_FILE)
    st = add_input(e, "links", sc->network.file, NULL, err);
  return st;
}

/* 1 if fd is open on a regular file. */
static int regular_fd(int fd) {
  struct stat sb;
  return fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode);
}

static int is_status(const cas_manifest_entry *e, const char *s) {
  return e->status && !strcmp(e->status, s);
}

/* A child process of the batch with a pipe to it: -1 (errno set, nothing
 * left open) if there is none; in the child 0, with fds[1] to write to;
 * in the batch the child's pid, with fds[0] to read from. The child drops
 * the batch's lock: sharing its open file, it would keep the lock held
 * after the batch died until the child too had gone (killed by the prctl
 * below, but its exit can take a while), and a resumed batch would find
 * it taken. */
static pid_t start_child(int fds[2], int lock_fd) {
  if (pipe(fds) != 0) return -1;
  fflush(NULL);
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) {
    int e = errno;
    close(fds[0]);
    close(fds[1]);
    errno = e;
    return -1;
  }
  if (pid == 0) {
    close(fds[0]);
    if (lock_fd >= 0) close(lock_fd);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(1); /* the batch died before the prctl */
    return 0;
  }
  close(fds[1]);
  return pid;
}

/* The digest of an existing result, computed in a child process: the file
 * is read with HDF5, which a crafted file can crash (docs/CLI.md, "Reading
 * result files"), and the batch must not die of that. 0 and hex, or -1 if
 * the file cannot be digested (unreadable, damaged, or it crashed the
 * child): the scenario is then run again. */
static int digest_in_child(const char *path, int lock_fd, double limit, char hex[CAS_SHA256_HEX]) {
  int fds[2];
  cas_watch *watch = cas_watch_map();
  pid_t pid = start_child(fds, lock_fd);
  if (pid < 0) {
    cas_watch_unmap(watch);
    return -1;
  }
  if (pid == 0) {
    cas_watch_share(watch);
    char out[CAS_SHA256_HEX] = "";
    cas_error err = {0};
    if (cas_digest_file(path, out, NULL, NULL, &err) != CAS_OK) _exit(1);
    _exit(write(fds[1], out, sizeof out) == (ssize_t)sizeof out ? 0 : 1);
  }
  /* a child that reads for the limit without getting on (HDF5 looping on
   * a crafted file, watch.h) is stopped: the scenario then runs again */
  char got[CAS_SHA256_HEX] = "";
  size_t fill = 0;
  int ws = 0;
  int stalled = cas_watch_wait(pid, fds[0], got, sizeof got, &fill, watch, limit, &ws);
  close(fds[0]);
  cas_watch_unmap(watch);
  if (stalled != 0 || !WIFEXITED(ws) || WEXITSTATUS(ws) != 0 || fill != sizeof got ||
      got[CAS_SHA256_HEX - 1])
    return -1;
  memcpy(hex, got, sizeof got);
  return 0;
}

/* The previous entry vouches for the output file: reuse it. */
static int reusable(const cas_manifest_entry *prev, const cas_manifest_entry *now, int lock_fd,
                    double limit) {
  if (!(is_status(prev, "ok") || is_status(prev, "reused"))) return 0;
  if (!prev->cascade_commit || strcmp(prev->cascade_commit, CASCADE_GIT_COMMIT)) return 0;
  if (!prev->output || strcmp(prev->output, now->output)) return 0;
  if (!cas_manifest_same_overrides(&prev->overrides, &now->overrides)) return 0;
  if (!cas_manifest_same_inputs(prev, now)) return 0;
  if (!prev->digest[0] || access(now->output, R_OK) != 0) return 0;
  char hex[CAS_SHA256_HEX];
  if (digest_in_child(now->output, lock_fd, limit, hex) != 0) return 0;
  return !strcmp(hex, prev->digest);
}

/* ---- the book the scenarios share --------------------------------------- */

static void drop_book(batch *b) {
  cas_portfolio_destroy(b->book);
  free(b->book_path);
  cas_taxonomy_destroy(b->book_declared);
  b->book = NULL;
  b->book_path = NULL;
  b->book_declared = NULL;
  b->book_sha256[0] = '\0';
}

/* Reads sc's CSV book here, unless it is the one held (same file, same
 * digest, same declared classification), so that the scenario's process
 * inherits it instead of reading it. Read sequentially: the batch's own
 * process never starts OpenMP threads, which a forked child could not use.
 * A book that does not load is left to the scenario's process, which
 * fails with the loader's message as it would alone. */
static void hold_book(batch *b, const cas_scenario *sc, const cas_manifest_entry *e) {
  if (sc->portfolio.source != CAS_PORTFOLIO_FILE) return;
  const char *sha = NULL;
  for (size_t k = 0; k < e->ninputs; k++)
    if (!strcmp(e->inputs[k].role, "portfolio")) sha = e->inputs[k].sha256;
  if (!sha) return;
  int declared_same = !b->book_declared ? !sc->declared
                      : sc->declared && cas_taxonomy_equal(b->book_declared, sc->declared);
  if (b->book && !strcmp(b->book_sha256, sha) && declared_same &&
      cas_same_file(b->book_path, sc->portfolio.file))
    return;
  drop_book(b);
  cas_error err = {0};
  cas_portfolio *pf = NULL;
  double t = cas_cli_wall();
  if (cas_portfolio_load_csv_as(sc->portfolio.file, sc->declared, &pf, &err) != CAS_OK) return;
  log_line(b, "read the book %s (%zu loans) in %.2f s, for the scenarios on it", sc->portfolio.file,
           pf->n, cas_cli_wall() - t);
  b->book = pf;
  b->book_path = xstrdup(sc->portfolio.file);
  b->book_declared = sc->declared ? cas_taxonomy_copy(sc->declared) : NULL;
  snprintf(b->book_sha256, sizeof b->book_sha256, "%s", sha);
  if (!b->book_path || (sc->declared && !b->book_declared)) drop_book(b);
}

/* ---- running one scenario in a child ------------------------------------ */

/* What the child sends: progress records, then one outcome record. Each is
 * smaller than PIPE_BUF, so each write arrives whole. */
typedef struct child_msg {
  int32_t kind;                 /* 'P' progress, 'R' result */
  int32_t status;               /* cas_status of the run */
  uint64_t done, total;         /* paths */
  char digest[CAS_SHA256_HEX];
  char msg[CAS_ERROR_MSG_MAX + 32];
} child_msg;

static void write_msg(int fd, const child_msg *m) {
  size_t off = 0;
  while (off < sizeof *m) {
    ssize_t k = write(fd, (const char *)m + off, sizeof *m - off);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) return;
    off += (size_t)k;
  }
}

static void child_progress(void *ctx, uint64_t done, uint64_t total) {
  child_msg m = {0};
  m.kind = 'P';
  m.done = done;
  m.total = total;
  write_msg(*(int *)ctx, &m);
}

static void run_child(const batch *b, const job *j, const char *output, int fd) {
  cas_run_options opt = b->ropt;
  opt.scenario_path = j->path;
  opt.output_path = output;
  opt.command_line = b->command_line;
  opt.book = b->book;
  opt.book_path = b->book_path;
  opt.book_declared = b->book_declared;
  opt.book_sha256 = b->book ? b->book_sha256 : NULL;
  if (b->show_progress) {
    opt.progress = child_progress;
    opt.progress_ctx = &fd;
  }
  cas_run_report rep;
  cas_error err = {0};
  child_msg m = {0};
  m.kind = 'R';
  m.status = cas_run(&opt, &rep, &err);
  if (m.status == CAS_OK) m.status = cas_digest_file(output, m.digest, NULL, NULL, &err);
  if (m.status != CAS_OK) snprintf(m.msg, sizeof m.msg, "%s: %s", cas_status_name(err.status), err.msg);
  write_msg(fd, &m);
  _exit(0);
}

/* Runs job j in a child; fills e's status, error, digest. */
static void run_job(batch *b, const job *j, cas_manifest_entry *e) {
  int fds[2];
  pid_t pid = start_child(fds, b->lock_fd);
  if (pid < 0) {
    char msg[256];
    snprintf(msg, sizeof msg, "cannot start a process for the scenario: %s", strerror(errno));
    e->error = xstrdup(msg);
    return;
  }
  if (pid == 0) run_child(b, j, e->output, fds[1]);
  child_msg m, result = {0};
  size_t fill = 0;
  for (;;) {
    ssize_t k = read(fds[0], (char *)&m + fill, sizeof m - fill);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) break;
    fill += (size_t)k;
    if (fill < sizeof m) continue;
    fill = 0;
    if (m.kind == 'P') show_progress(b, j->name, m.total ? (double)m.done / (double)m.total : 0, j->weight);
    else if (m.kind == 'R') result = m;
  }
  close(fds[0]);
  int ws = 0;
  while (waitpid(pid, &ws, 0) < 0 && errno == EINTR) {}
  char msg[CAS_ERROR_MSG_MAX + 64];
  if (result.kind == 'R' && result.status == CAS_OK) {
    memcpy(e->digest, result.digest, sizeof e->digest);
    free(e->status);
    e->status = xstrdup("ok");
    return;
  }
  if (result.kind == 'R') {
    snprintf(msg, sizeof msg, "%s", result.msg);
  } else if (WIFSIGNALED(ws)) {
    snprintf(msg, sizeof msg, "the scenario's process was killed by signal %d (%s)%s", WTERMSIG(ws),
             strsignal(WTERMSIG(ws)), WTERMSIG(ws) == SIGKILL ? "; out of memory?" : "");
  } else {
    snprintf(msg, sizeof msg, "the scenario's process ended without a result (exit code %d)",
             WIFEXITED(ws) ? WEXITSTATUS(ws) : -1);
  }
  e->error = xstrdup(msg);
}

/* ---- the batch ---------------------------------------------------------- */

static int write_manifest(batch *b) {
  char now[32];
  utc_now(now, sizeof now);
  cas_manifest m = {
    .cascade_version = CASCADE_VERSION,
    .cascade_commit = CASCADE_GIT_COMMIT,
    .command_line = b->command_line,
    .shard_index = b->shard_index,
    .shard_count = b->shard_count,
    .overrides = b->ov,
    .started_utc = b->started_utc,
    .updated_utc = now,
    .entries = b->entries,
    .nentries = b->njobs,
  };
  cas_error err = {0};
  if (cas_manifest_write(b->manifest_path, &m, &err) != CAS_OK) {
    erase_progress(b);
    return cas_cli_report_error(&err);
  }
  return 0;
}

/* Removes what a killed run of this shard left: DIR/<name>.h5.tmp.* of its
 * scenarios and the manifest's own temporary files. */
static void remove_stale(batch *b) {
  DIR *d = opendir(b->out_dir);
  if (!d) return;
  const char *mbase = strrchr(b->manifest_path, '/') + 1;
  size_t mlen = strlen(mbase);
  struct dirent *de;
  while ((de = readdir(d)) != NULL) {
    const char *s = de->d_name;
    int stale = !strncmp(s, mbase, mlen) && !strncmp(s + mlen, ".tmp.", 5);
    for (size_t i = 0; i < b->njobs && !stale; i++) {
      size_t n = strlen(b->jobs[i].name);
      stale = !strncmp(s, b->jobs[i].name, n) && !strncmp(s + n, ".h5.tmp.", 8);
    }
    if (!stale) continue;
    char *p = path_join(b->out_dir, s);
    if (p && unlink(p) == 0) log_line(b, "removed stale temporary file %s", p);
    free(p);
  }
  closedir(d);
}

/* Weight of a scenario for the progress bar: paths x loans, x 4 with
 * contagion (a CSV portfolio counts one loan per 64 bytes of file, a cheap
 * estimate). */
static double job_weight(const batch *b, const job *j) {
  cas_run_options opt = b->ropt;
  opt.scenario_path = j->path;
  cas_scenario *sc = NULL;
  if (cas_run_load_scenario(&opt, &sc, NULL) != CAS_OK) return 0;
  double loans = (double)sc->portfolio.loans;
  struct stat st;
  if (sc->portfolio.source == CAS_PORTFOLIO_FILE)
    loans = stat(sc->portfolio.file, &st) == 0 ? (double)st.st_size / 64.0 : 1.0;
  double w = (double)sc->paths * (loans > 1 ? loans : 1);
  /* A cascade costs about four times the factor draws on the built-in book
   * (README timings: baseline 1.1 s, baseline_contagion 4.9 s). */
  const cas_contagion_model *cm = cas_contagion_model_lookup(sc->contagion.model);
  if (cm && cm->spreads) w *= 4;
  cas_scenario_destroy(sc);
  return w;
}

static cas_status new_entry(const batch *b, const job *j, cas_manifest_entry *e, cas_error *err) {
  memset(e, 0, sizeof *e);
  char file[4096];
  snprintf(file, sizeof file, "%s.h5", j->name);
  e->name = xstrdup(j->name);
  e->scenario = xstrdup(j->path);
  e->output = path_join(b->out_dir, file);
  e->status = xstrdup("pending");
  e->overrides = b->ov;
  if (!e->name || !e->scenario || !e->output || !e->status) {
    cas_manifest_entry_clear(e);
    return cas_error_set(err, CAS_ERR_NOMEM, "no memory for a manifest entry");
  }
  return CAS_OK;
}

/* One scenario: hash its inputs, reuse or run it, record the outcome. */
static int process(batch *b, size_t i) {
  job *j = &b->jobs[i];
  cas_manifest_entry now, *prev = &b->entries[i];
  cas_error err = {0};
  if (new_entry(b, j, &now, &err) != CAS_OK) return cas_cli_report_error(&err);
  char start[32];
  utc_now(start, sizeof start);
  double t = cas_cli_wall();
  b->t0 = t;
  show_progress(b, j->name, 0, j->weight);

  cas_run_options opt = b->ropt;
  opt.scenario_path = j->path;
  cas_scenario *sc = NULL;
  cas_status st = cas_run_load_scenario(&opt, &sc, &err);
  if (st == CAS_OK) st = hash_inputs(sc, &now, &err);
  if (st != CAS_OK) {
    char msg[CAS_ERROR_MSG_MAX + 32];
    snprintf(msg, sizeof msg, "%s: %s", cas_status_name(err.status), err.msg);
    now.error = xstrdup(msg);
  } else if (reusable(prev, &now, b->lock_fd, b->read_limit)) {
    /* Keep the record of the run that made the file. */
    free(now.status);
    now.status = xstrdup("reused");
    memcpy(now.digest, prev->digest, sizeof now.digest);
    now.start_utc = xstrdup(prev->start_utc);
    now.end_utc = xstrdup(prev->end_utc);
    now.elapsed_seconds = prev->elapsed_seconds;
    now.cascade_commit = xstrdup(prev->cascade_commit);
    log_line(b, "reused %s (%s): %s unchanged, digest %.16s", j->name, j->path, now.output, now.digest);
  } else {
    hold_book(b, sc, &now);
    log_line(b, "started %s (%s)", j->name, j->path);
    run_job(b, j, &now);
  }
  cas_scenario_destroy(sc);

  int ran = !is_status(&now, "reused");
  if (ran) {
    char end[32];
    utc_now(end, sizeof end);
    now.start_utc = xstrdup(start);
    now.end_utc = xstrdup(end);
    now.elapsed_seconds = cas_cli_wall() - t;
    now.cascade_commit = xstrdup(CASCADE_GIT_COMMIT);
  }
  if (now.error) {
    free(now.status);
    now.status = xstrdup("failed");
    /* DIR holds only results the manifest vouches for. */
    if (unlink(now.output) == 0) log_line(b, "removed %s, the result of an earlier run", now.output);
    erase_progress(b);
    fprintf(stderr, "cascade batch: %s failed: %s\n", j->path, now.error);
    log_line(b, "failed %s (%s) after %.1f s: %s", j->name, j->path, now.elapsed_seconds, now.error);
  } else if (ran) {
    log_line(b, "finished %s (%s) in %.1f s: %s, digest %.16s", j->name, j->path,
             now.elapsed_seconds, now.output, now.digest);
  }
  if (ran && !now.error) {
    b->run_weight += j->weight;
    b->run_seconds += now.elapsed_seconds;
  }
  b->done_weight += j->weight;
  b->finished++;
  cas_manifest_entry_clear(prev);
  *prev = now;
  return write_manifest(b);
}

static int parse_shard(const char *v, int *index, int *count) {
  if (!v) return -1;
  const char *slash = strchr(v, '/');
  if (!slash) return -1;
  char left[32];
  size_t n = (size_t)(slash - v);
  if (n == 0 || n >= sizeof left) return -1;
  memcpy(left, v, n);
  left[n] = '\0';
  uint64_t i, c;
  if (cas_cli_parse_count(left, 1, &i) || cas_cli_parse_count(slash + 1, 1, &c) || c > 100000 || i > c)
    return -1;
  *index = (int)i;
  *count = (int)c;
  return 0;
}

int cas_cmd_batch(int argc, char **argv) {
  batch b = {0};
  b.lock_fd = -1;
  b.log_fd = -1;
  char **args = calloc((size_t)argc, sizeof *args);
  if (!args) return cas_status_exit_code(CAS_ERR_NOMEM);
  int nargs = 0, rc = 0;
  for (int i = 1; i < argc && !rc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
      fputs(usage_batch, stdout);
      free(args);
      return 0;
    } else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
      b.quiet = 1;
    } else if (!strcmp(a, "--out") || !strcmp(a, "-o")) {
      if (!v || !*v) rc = cas_cli_usage_error("batch", "%s needs a folder", a);
      b.out_dir = v;
      i++;
    } else if (!strcmp(a, "--shard")) {
      if (parse_shard(v, &b.shard_index, &b.shard_count))
        rc = cas_cli_usage_error("batch", "--shard: got '%s', expected I/N with 1 <= I <= N <= 100000", v ? v : "");
      i++;
    } else if (!strcmp(a, "--paths")) {
      if (cas_cli_parse_count(v, 100, &b.ropt.paths)) rc = cas_cli_usage_error("batch", "--paths: got '%s', expected an integer >= 100", v ? v : "");
      b.ov.paths = b.ropt.paths;
      b.ov.paths_given = 1;
      i++;
    } else if (!strcmp(a, "--seed")) {
      if (cas_cli_parse_count(v, 0, &b.ropt.seed)) rc = cas_cli_usage_error("batch", "--seed: got '%s', expected a non-negative integer", v ? v : "");
      b.ropt.seed_given = 1;
      b.ov.seed = b.ropt.seed;
      b.ov.seed_given = 1;
      i++;
    } else if (!strcmp(a, "--loans")) {
      if (cas_cli_parse_count(v, 1, &b.ropt.loans) || b.ropt.loans > 100000000ULL) rc = cas_cli_usage_error("batch", "--loans: got '%s', expected an integer from 1 to 100000000", v ? v : "");
      b.ov.loans = b.ropt.loans;
      b.ov.loans_given = 1;
      i++;
    } else if (!strcmp(a, "--threads")) {
      uint64_t t;
      if (cas_cli_parse_count(v, 1, &t) || t > CAS_THREADS_MAX) rc = cas_cli_usage_error("batch", "--threads: got '%s', expected an integer from 1 to %d", v ? v : "", CAS_THREADS_MAX);
      else b.ropt.threads = (int)t;
      i++;
    } else if (!strcmp(a, "--kernel")) {
      if (!v) rc = cas_cli_usage_error("batch", "%s needs a kernel name", a);
      else if (!cas_kernel_lookup(v)) {
        char names[256];
        cas_kernel_list(names, sizeof names);
        rc = cas_cli_usage_error("batch", "--kernel: unknown kernel '%s' (expected one of: %s)", v, names);
      }
      b.ropt.kernel = v;
      i++;
    } else if (a[0] == '-' && a[1] != '\0') {
      rc = cas_cli_usage_error("batch", "unknown option '%s'", a);
    } else {
      args[nargs++] = argv[i];
    }
  }
  if (!rc && nargs == 0) rc = cas_cli_usage_error("batch", "%s", "no SCENARIO files or folders given");
  if (!rc && !b.out_dir) rc = cas_cli_usage_error("batch", "%s", "--out DIR is required");
  if (rc) {
    free(args);
    return rc;
  }
  snprintf(b.ov.kernel, sizeof b.ov.kernel, "%s", b.ropt.kernel ? b.ropt.kernel : CAS_KERNEL_DEFAULT);
  b.ropt.kernel = b.ov.kernel;
  cas_cli_join_argv(argc + 1, argv - 1, b.command_line, sizeof b.command_line);
  utc_now(b.started_utc, sizeof b.started_utc);

  job *all = NULL;
  size_t nall = 0;
  rc = expand(args, nargs, &all, &nall);
  free(args);
  if (rc) return rc;
  /* This shard's jobs: positions k with k mod N == I - 1. */
  b.jobs = calloc(nall ? nall : 1, sizeof *b.jobs);
  if (!b.jobs) {
    free_jobs(all, nall);
    return cas_status_exit_code(CAS_ERR_NOMEM);
  }
  for (size_t k = 0; k < nall; k++) {
    if (!b.shard_count || (int)(k % (size_t)b.shard_count) == b.shard_index - 1) b.jobs[b.njobs++] = all[k];
    else {
      free(all[k].path);
      free(all[k].name);
      free(all[k].real);
    }
  }
  free(all);

  /* The folder, the lock, the log. */
  cas_error err = {0};
  int lock_fd = -1;
  if (cas_watch_limit(&b.read_limit, &err) != CAS_OK) {
    rc = cas_cli_report_error(&err);
    goto done;
  }
  if (mkdir(b.out_dir, 0777) != 0 && errno != EEXIST) {
    cas_error_set(&err, CAS_ERR_IO, "cannot create folder %s: %s", b.out_dir, strerror(errno));
    rc = cas_cli_report_error(&err);
    goto done;
  }
  char mname[64] = "manifest.json", lname[80];
  if (b.shard_count) snprintf(mname, sizeof mname, "manifest.shard-%d-of-%d.json", b.shard_index, b.shard_count);
  snprintf(lname, sizeof lname, ".%s.lock", mname);
  char *mp = path_join(b.out_dir, mname), *lp = path_join(b.out_dir, "batch.log"),
       *kp = path_join(b.out_dir, lname);
  if (!mp || !lp || !kp || strlen(mp) >= sizeof b.manifest_path || strlen(lp) >= sizeof b.log_path) {
    free(mp);
    free(lp);
    free(kp);
    rc = cas_cli_usage_error("batch", "folder name too long: %s", b.out_dir);
    goto done;
  }
  snprintf(b.manifest_path, sizeof b.manifest_path, "%s", mp);
  snprintf(b.log_path, sizeof b.log_path, "%s", lp);
  /* the lock and the log are opened without blocking and must be regular
   * files: a FIFO in their place held the batch for ever, a device took
   * what was written (ENODEV for the lock's check below) */
  lock_fd = open(kp, O_RDWR | O_CREAT | O_NONBLOCK | O_CLOEXEC, 0666);
  b.lock_fd = lock_fd;
  if (lock_fd >= 0 && !regular_fd(lock_fd)) {
    close(lock_fd);
    lock_fd = b.lock_fd = -1;
    errno = ENODEV;
  }
  if (lock_fd < 0 || flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
    int e = errno;
    if (lock_fd >= 0 && (e == EWOULDBLOCK || e == EAGAIN))
      cas_error_set(&err, CAS_ERR_USAGE, "another cascade batch is writing %s (it holds %s); "
                    "wait for it to end, or use another --out or --shard", mp, kp);
    else
      cas_error_set(&err, CAS_ERR_IO, "cannot lock %s: %s", kp,
                    e == ENODEV ? "not a regular file (a FIFO, device or socket)" : strerror(e));
    free(mp);
    free(lp);
    free(kp);
    rc = cas_cli_report_error(&err);
    goto done;
  }
  free(mp);
  free(lp);
  free(kp);
  b.log_fd = open(b.log_path, O_WRONLY | O_CREAT | O_APPEND | O_NONBLOCK | O_CLOEXEC, 0666);
  if (b.log_fd >= 0 && !regular_fd(b.log_fd)) {
    close(b.log_fd);
    b.log_fd = -1;
    errno = ENODEV;
  }
  if (b.log_fd < 0) {
    cas_error_set(&err, CAS_ERR_IO, "cannot open the log %s: %s", b.log_path,
                  errno == ENODEV || errno == ENXIO ? "not a regular file (a FIFO, device or socket)"
                                                      : strerror(errno));
    rc = cas_cli_report_error(&err);
    goto done;
  }
  log_line(&b, "batch started: %zu scenarios, manifest %s (%s)", b.njobs, b.manifest_path, b.command_line);
  remove_stale(&b);

  /* Entries: the previous manifest's where it has one, else pending. */
  cas_manifest_entry *prev = NULL;
  size_t nprev = 0;
  if (access(b.manifest_path, F_OK) == 0 && cas_manifest_read(b.manifest_path, &prev, &nprev, &err) != CAS_OK) {
    fprintf(stderr, "cascade batch: warning: %s; every scenario will run again\n", err.msg);
    log_line(&b, "warning: %s; every scenario will run again", err.msg);
  }
  b.entries = calloc(b.njobs ? b.njobs : 1, sizeof *b.entries);
  for (size_t i = 0; b.entries && i < b.njobs && !rc; i++) {
    const cas_manifest_entry *old = NULL;
    for (size_t k = 0; k < nprev && !old; k++)
      if (!strcmp(prev[k].name, b.jobs[i].name)) old = &prev[k];
    cas_status st = old ? cas_manifest_entry_copy(&b.entries[i], old, &err) : new_entry(&b, &b.jobs[i], &b.entries[i], &err);
    if (st != CAS_OK) rc = cas_cli_report_error(&err);
  }
  cas_manifest_entries_free(prev, nprev);
  if (!b.entries) rc = cas_status_exit_code(CAS_ERR_NOMEM);
  if (!rc) rc = write_manifest(&b);

  b.show_progress = !b.quiet && isatty(STDERR_FILENO);
  if (b.show_progress)
    for (size_t i = 0; i < b.njobs; i++) b.total_weight += b.jobs[i].weight = job_weight(&b, &b.jobs[i]);
  for (size_t i = 0; i < b.njobs && !rc; i++) rc = process(&b, i);
  erase_progress(&b);
  if (rc) goto done;

  int failed = 0, reused = 0, ok = 0;
  for (size_t i = 0; i < b.njobs; i++) {
    failed += is_status(&b.entries[i], "failed");
    reused += is_status(&b.entries[i], "reused");
    ok += is_status(&b.entries[i], "ok");
  }
  log_line(&b, "batch ended: %d ok, %d reused, %d failed", ok, reused, failed);
  if (!b.quiet) {
    for (size_t i = 0; i < b.njobs; i++) {
      const cas_manifest_entry *e = &b.entries[i];
      printf("%-7s %-28s %8.1f s  %s\n", e->status, e->name, e->elapsed_seconds,
             e->error ? e->error : e->output);
    }
    printf("%d ok, %d reused, %d failed; manifest %s\n", ok, reused, failed, b.manifest_path);
  }
  if (failed) {
    fprintf(stderr, "cascade batch: %d of %zu scenarios failed (see %s)\n", failed, b.njobs, b.log_path);
    rc = EXIT_SOME_FAILED;
  }
done:
  if (b.log_fd >= 0) close(b.log_fd);
  if (lock_fd >= 0) close(lock_fd);
  if (b.entries) cas_manifest_entries_free(b.entries, b.njobs);
  drop_book(&b);
  free_jobs(b.jobs, b.njobs);
  return rc;
}
