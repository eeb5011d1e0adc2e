/* outfile.c: files written complete or not at all (outfile.h). */
#define _GNU_SOURCE /* gethostname */
#include "outfile.h"
#include "rng.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

/* The temporaries open now, for the signal handler: written by the thread
 * that writes files, read by a handler that only unlinks. in_use: 0 free,
 * 1 a file, 2 a folder (removed after the files, once empty). */
enum { SLOTS = 32 };
static char registry[SLOTS][CAS_OUTFILE_PATH_MAX];
static volatile sig_atomic_t in_use[SLOTS];

static int enlist_kind(const char *path, int kind) {
  size_t n = strlen(path);
  if (n >= CAS_OUTFILE_PATH_MAX) return -1;
  for (int i = 0; i < SLOTS; i++)
    if (!in_use[i]) {
      memcpy(registry[i], path, n + 1);
      in_use[i] = kind;
      return i;
    }
  return -1;   /* more than SLOTS at once: written, just not removed by a signal */
}

static void delist(cas_outfile *o) {
  if (o->slot >= 0) in_use[o->slot] = 0;
  o->slot = -1;
}

int cas_outfile_remove_on_signal(const char *path, int is_folder) {
  return enlist_kind(path, is_folder ? 2 : 1);
}

void cas_outfile_forget(int slot) {
  if (slot >= 0 && slot < SLOTS) in_use[slot] = 0;
}

void cas_outfile_on_signal(void) {
  for (int i = 0; i < SLOTS; i++)
    if (in_use[i] == 1) unlink(registry[i]);
  for (int i = 0; i < SLOTS; i++)
    if (in_use[i] == 2) rmdir(registry[i]);
}

/* The folder of path ("." if none) and its last component. */
static void split(const char *path, char *dir, size_t size, const char **base) {
  const char *slash = strrchr(path, '/');
  if (!slash) {
    snprintf(dir, size, ".");
    *base = path;
  } else if (slash == path) {
    snprintf(dir, size, "/");
    *base = slash + 1;
  } else {
    snprintf(dir, size, "%.*s", (int)(slash - path), path);
    *base = slash + 1;
  }
}

/* This host's name as it goes into a temporary's name: letters, digits
 * and '-' only, at most 32 of them. */
void cas_outfile_host_tag(char out[40]) {
  char h[256] = "";
  if (gethostname(h, sizeof h - 1) != 0) h[0] = '\0';
  size_t j = 0;
  for (size_t i = 0; h[i] && j < 32; i++) {
    char c = h[i];
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-')
      out[j++] = c;
  }
  if (j == 0) out[j++] = 'h';
  out[j] = '\0';
}

const char *cas_outfile_cause(int e, const char *path, char *buf, size_t size) {
  char dir[CAS_OUTFILE_PATH_MAX];
  const char *base;
  struct stat st;
  split(path, dir, sizeof dir, &base);
  if ((e == ENOENT || e == ESTALE) && stat(dir, &st) != 0)
    snprintf(buf, size, "%s: its folder %s was removed or unmounted while it was written",
             strerror(e), dir);
  else
    snprintf(buf, size, "%s", strerror(e));
  return buf;
}

static const char *kind_of(mode_t m) {
  return S_ISFIFO(m) ? "a FIFO" : S_ISCHR(m) ? "a character device" : S_ISBLK(m) ? "a block device"
       : S_ISSOCK(m) ? "a socket" : "not a regular file";
}

cas_status cas_outfile_check(const char *path, cas_error *err) {
  if (!path || !*path)
    return cas_error_set(err, CAS_ERR_USAGE, "the output file name is empty (expected the name of the file to write)");
  size_t n = strlen(path);
  if (n + 80 >= CAS_OUTFILE_PATH_MAX)
    return cas_error_set(err, CAS_ERR_USAGE, "output path too long (got %zu bytes, expected at most %d)",
                         n, CAS_OUTFILE_PATH_MAX - 80);
  char dir[CAS_OUTFILE_PATH_MAX];
  const char *base;
  split(path, dir, sizeof dir, &base);
  if (!*base || !strcmp(base, ".") || !strcmp(base, ".."))
    return cas_error_at(err, CAS_ERR_IO, path, 0, 0, "cannot create (it names a folder, expected a file name)");
  /* room for ".tmp.HOST.PID.XXXXXX" beside the name */
  if (strlen(base) + 64 > 255)
    return cas_error_at(err, CAS_ERR_USAGE, path, 0, 0,
                        "cannot create (file name too long: got %zu bytes, expected at most %d)",
                        strlen(base), 255 - 64);
  struct stat sb;
  if (stat(path, &sb) == 0) {
    if (S_ISDIR(sb.st_mode))
      return cas_error_at(err, CAS_ERR_IO, path, 0, 0, "cannot create (it is a directory, expected a file)");
    if (!S_ISREG(sb.st_mode))
      return cas_error_at(err, CAS_ERR_IO, path, 0, 0,
                          "cannot create (it is %s, expected a regular file or a new name)",
                          kind_of(sb.st_mode));
  }
  if (stat(dir, &sb) != 0)
    return cas_error_at(err, CAS_ERR_IO, path, 0, 0, "cannot create (folder %s: %s)", dir, strerror(errno));
  if (!S_ISDIR(sb.st_mode))
    return cas_error_at(err, CAS_ERR_IO, path, 0, 0, "cannot create (%s is not a folder)", dir);
  if (access(dir, W_OK | X_OK) != 0)
    return cas_error_at(err, CAS_ERR_IO, path, 0, 0, "cannot create (folder %s: %s)", dir, strerror(errno));
  return CAS_OK;
}

/* 1 if process pid of this host has ended: no such process, or a zombie
 * (ended, not yet reaped by its parent: a process killed a moment ago).
 * A process of another user is alive to kill(); it is judged by its state
 * too. */
static int process_gone(pid_t pid) {
  if (kill(pid, 0) != 0 && errno == ESRCH) return 1;
  char path[64], buf[512];
  snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
  FILE *f = fopen(path, "r");
  if (!f) return 0;   /* not ours to judge */
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = '\0';
  const char *close = strrchr(buf, ')');   /* "pid (comm) state ...": comm may hold spaces */
  return close && close[1] == ' ' && close[2] == 'Z';
}

/* 1 if name is START PID . anything (start: np bytes) and process PID of
 * this host has ended (not this process). */
static int left_by_gone_process(const char *name, const char *start, size_t np) {
  if (strncmp(name, start, np) != 0) return 0;
  char *end;
  long pid = strtol(name + np, &end, 10);
  if (end == name + np || *end != '.' || pid <= 0 || pid == (long)getpid()) return 0;
  return process_gone((pid_t)pid);
}

/* 1 if name is a temporary of this host's: ANY.tmp.HOST.PID.XXXXXX, with
 * six random letters or digits last (sets *pid_at to PID's offset). */
static int temporary_name(const char *name, const char *host, size_t *pid_at) {
  size_t n = strlen(name), nh = strlen(host);
  if (n < 6 + 1) return 0;
  for (size_t i = n - 6; i < n; i++)
    if (!isalnum((unsigned char)name[i])) return 0;
  if (name[n - 7] != '.') return 0;
  /* back over the PID's digits to ".tmp.HOST." */
  size_t k = n - 7;
  while (k > 0 && name[k - 1] >= '0' && name[k - 1] <= '9') k--;
  if (k == n - 7 || k < nh + 6 || name[k - 1] != '.') return 0;
  size_t h = k - 1 - nh;
  if (memcmp(name + h, host, nh) != 0 || h <= 5 || memcmp(name + h - 5, ".tmp.", 5) != 0) return 0;
  *pid_at = k;
  return 1;
}

/* Removes the temporaries ANY.tmp.HOST.PID.XXXXXX in dir left by
 * processes of this host that are gone (killed with SIGKILL, or by a power
 * cut): regular files of this user only, never followed through a link.
 * Those of base (the file about to be written) go at once; those of other
 * names (a run, a report, an export or a manifest written there) once
 * unchanged for CAS_OUTFILE_STALE_SECONDS, so that a process of another
 * machine that shares the folder and the host name is not robbed of the
 * file it is writing. A process whose number a new process has taken
 * keeps its temporary until that one is gone too. */
static void remove_stale(const char *dir, const char *base, const char *host) {
  char stale[CAS_OUTFILE_PATH_MAX + 300];
  size_t nb = strlen(base);
  time_t now = time(NULL);
  DIR *d = opendir(dir);
  if (!d) return;
  struct dirent *de;
  size_t pid_at;
  while ((de = readdir(d)) != NULL) {
    if (!temporary_name(de->d_name, host, &pid_at) ||
        !left_by_gone_process(de->d_name, de->d_name, pid_at))
      continue;
    int mine = strncmp(de->d_name, base, nb) == 0 && strncmp(de->d_name + nb, ".tmp.", 5) == 0 &&
               pid_at == nb + 5 + strlen(host) + 1;
    snprintf(stale, sizeof stale, "%s/%s", dir, de->d_name);
    struct stat st;
    if (lstat(stale, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == geteuid() &&
        (mine || difftime(now, st.st_mtime) >= CAS_OUTFILE_STALE_SECONDS))
      unlink(stale);
  }
  closedir(d);
}

void cas_outfile_remove_stale_folders(const char *dir, const char *prefix) {
  char host[40], start[600], stale[CAS_OUTFILE_PATH_MAX + 300], inner[CAS_OUTFILE_PATH_MAX + 600];
  cas_outfile_host_tag(host);
  int np = snprintf(start, sizeof start, "%s.%s.", prefix, host);
  if (np < 0 || (size_t)np >= sizeof start) return;
  DIR *d = opendir(dir);
  if (!d) return;
  struct dirent *de;
  while ((de = readdir(d)) != NULL) {
    if (!left_by_gone_process(de->d_name, start, (size_t)np)) continue;
    snprintf(stale, sizeof stale, "%s/%s", dir, de->d_name);
    DIR *in = opendir(stale);
    if (!in) continue;
    struct dirent *e;
    while ((e = readdir(in)) != NULL) {
      if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
      snprintf(inner, sizeof inner, "%s/%s", stale, e->d_name);
      unlink(inner);   /* files only: a folder inside stays, and so does this one */
    }
    closedir(in);
    rmdir(stale);
  }
  closedir(d);
}

int cas_outfile_create_unique(char *path, int is_folder, int *slot) {
  static const char alnum[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  size_t n = strlen(path);
  *slot = -1;
  if (n < 6 || strcmp(path + n - 6, "XXXXXX") != 0) {
    errno = EINVAL;
    return -1;
  }
  for (int attempt = 0; attempt < 100; attempt++) {
    unsigned char r[6];
    if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r) {
      /* no entropy source: the clock and a counter, still unique to this
       * process, whose number is in the name */
      static unsigned counter;
      struct timespec ts;
      clock_gettime(CLOCK_MONOTONIC, &ts);
      uint64_t x = cas_rng_mix64((uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 30) ^ ++counter);
      memcpy(r, &x, sizeof r);
    }
    for (int i = 0; i < 6; i++) path[n - 6 + i] = alnum[r[i] % (sizeof alnum - 1)];
    /* registered before it exists: a signal from here on removes it (a
     * name not yet made is nothing to remove); registered after, a signal
     * between the two left it behind */
    *slot = enlist_kind(path, is_folder ? 2 : 1);
    int fd = is_folder ? mkdir(path, 0700)
                       : open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
    if (fd >= 0) return fd;
    int e = errno;
    cas_outfile_forget(*slot);
    *slot = -1;
    errno = e;
    if (e != EEXIST) return -1;
  }
  errno = EEXIST;
  return -1;
}

cas_status cas_outfile_open(cas_outfile *o, const char *path, cas_error *err) {
  o->fd = -1;
  o->slot = -1;
  o->final[0] = o->tmp[0] = '\0';
  cas_status st = cas_outfile_check(path, err);
  if (st != CAS_OK) return st;
  char host[40], dir[CAS_OUTFILE_PATH_MAX];
  const char *base;
  cas_outfile_host_tag(host);
  split(path, dir, sizeof dir, &base);
  remove_stale(dir, base, host);
  snprintf(o->final, sizeof o->final, "%s", path);
  snprintf(o->tmp, sizeof o->tmp, "%s.tmp.%s.%ld.XXXXXX", path, host, (long)getpid());
  /* O_CREAT | O_EXCL: a new file, never a link; as readable as any file
   * made here (0666 less the umask) */
  int fd = cas_outfile_create_unique(o->tmp, 0, &o->slot);
  if (fd < 0) {
    int e = errno;
    o->tmp[0] = '\0';
    return cas_error_at(err, CAS_ERR_IO, path, 0, 0, "cannot create (%s)", strerror(e));
  }
  o->fd = fd;
  return CAS_OK;
}

FILE *cas_outfile_stream(cas_outfile *o) {
  return o->fd >= 0 ? fdopen(o->fd, "wb") : NULL;
}

void cas_outfile_release_fd(cas_outfile *o) {
  if (o->fd >= 0) close(o->fd);
  o->fd = -1;
}

static cas_status finish(cas_outfile *o, int e, int synced, cas_error *err) {
  if (!e && !synced) {
    /* a file reopened by name (HDF5): flushed to disk here */
    int fd = open(o->tmp, O_RDONLY | O_NOFOLLOW);
    if (fd < 0) e = errno;
    else {
      if (fsync(fd) != 0 && errno != EINVAL && errno != EROFS) e = errno;
      close(fd);
    }
  }
  if (!e && rename(o->tmp, o->final) != 0) e = errno;
  if (e) unlink(o->tmp);
  delist(o);
  char cause[CAS_OUTFILE_PATH_MAX + 160];
  if (e)
    return cas_error_at(err, CAS_ERR_IO, o->final, 0, 0, "cannot write (%s)",
                        cas_outfile_cause(e, o->final, cause, sizeof cause));
  return CAS_OK;
}

cas_status cas_outfile_commit(cas_outfile *o, cas_error *err) {
  int e = 0;
  if (o->fd >= 0) {
    if (fsync(o->fd) != 0 && errno != EINVAL && errno != EROFS) e = errno;
    if (close(o->fd) != 0 && !e) e = errno;
    o->fd = -1;
    return finish(o, e, 1, err);
  }
  return finish(o, e, 0, err);
}

cas_status cas_outfile_commit_stream(cas_outfile *o, FILE *f, cas_error *err) {
  int e = 0;
  if (fflush(f) != 0) e = errno;
  if (!e && ferror(f)) e = EIO;
  if (!e && fsync(fileno(f)) != 0 && errno != EINVAL && errno != EROFS) e = errno;
  if (fclose(f) != 0 && !e) e = errno;
  o->fd = -1;
  return finish(o, e, 1, err);
}

void cas_outfile_abort(cas_outfile *o) {
  if (o->fd >= 0) close(o->fd);
  o->fd = -1;
  if (o->tmp[0]) unlink(o->tmp);
  delist(o);
}

void cas_outfile_abort_stream(cas_outfile *o, FILE *f) {
  if (f) fclose(f);
  o->fd = -1;
  cas_outfile_abort(o);
}

cas_status cas_outfile_write_all(const char *path, const void *data, size_t n, cas_error *err) {
  cas_outfile o;
  cas_status st = cas_outfile_open(&o, path, err);
  if (st != CAS_OK) return st;
  const char *p = data;
  size_t done = 0;
  while (done < n) {
    ssize_t k = write(o.fd, p + done, n - done);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) {
      int e = k < 0 ? errno : EIO;
      cas_outfile_abort(&o);
      return cas_error_at(err, CAS_ERR_IO, path, 0, 0, "cannot write (%s)", strerror(e));
    }
    done += (size_t)k;
  }
  return cas_outfile_commit(&o, err);
}

int cas_same_file(const char *a, const char *b) {
  struct stat x, y;
  return a && b && stat(a, &x) == 0 && stat(b, &y) == 0 && x.st_dev == y.st_dev && x.st_ino == y.st_ino;
}
