/*
 * outfile.h: a file written complete or not at all.
 *
 * Every file cascade writes (results, reports, exports, manifests,
 * scenarios) is written under a temporary name in the final file's folder
 * and renamed onto the final name only once complete and flushed. The
 * temporary name is FINAL.tmp.HOST.PID.XXXXXX (cas_outfile_create_unique):
 * never an existing name, never followed through a symbolic link planted
 * there, and not guessable in advance. It is registered from before it
 * is created until it is renamed, so that a signal that ends the program
 * (cas_outfile_on_signal, installed by the command line for SIGINT,
 * SIGTERM, SIGHUP) removes it whenever it comes; a temporary that
 * survives (kill -9, a power cut) is removed by the next write on the same
 * host, once its process is gone: by a write of the same file at once, by
 * a write of any other file into the same folder once it has not changed
 * for CAS_OUTFILE_STALE_SECONDS.
 */
#ifndef CASCADE_OUTFILE_H
#define CASCADE_OUTFILE_H

#include <stdio.h>

#include "error.h"

enum { CAS_OUTFILE_PATH_MAX = 4096 };
/* How long a temporary of another final name must have been left
 * unchanged before a write into its folder removes it (10 minutes). */
enum { CAS_OUTFILE_STALE_SECONDS = 600 };

typedef struct cas_outfile {
  char final[CAS_OUTFILE_PATH_MAX];
  char tmp[CAS_OUTFILE_PATH_MAX];
  int fd;        /* the temporary file, open for writing; -1 once closed */
  int slot;      /* its entry in the registry of temporaries, or -1 */
} cas_outfile;

/* Whether a file can be written at path, before any work is done:
 * CAS_ERR_USAGE for an empty path or one too long; CAS_ERR_IO naming path
 * and the cause for a folder that does not exist or cannot be written, or a
 * path that is a folder or another non-regular file (a FIFO, a device).
 * Creates nothing. */
cas_status cas_outfile_check(const char *path, cas_error *err);

/* Creates the temporary file for path (checked as above; stale temporaries
 * in its folder from dead processes of this host are removed first: those
 * of path, and those of other names unchanged for
 * CAS_OUTFILE_STALE_SECONDS; regular files of this user only). *o then
 * holds it open (o->fd) until cas_outfile_commit or cas_outfile_abort. */
cas_status cas_outfile_open(cas_outfile *o, const char *path, cas_error *err);

/* A stdio stream on o->fd (the outfile keeps owning the file: close it with
 * cas_outfile_commit_stream or cas_outfile_abort_stream). NULL and errno if
 * it cannot be made. */
FILE *cas_outfile_stream(cas_outfile *o);

/* Flushes the file to disk (fsync), closes it and renames it onto the
 * final name; on any failure removes the temporary and returns CAS_ERR_IO
 * naming the final file and the cause (e.g. "No space left on device"). */
cas_status cas_outfile_commit(cas_outfile *o, cas_error *err);
/* The same for a file written through cas_outfile_stream (fclose checked). */
cas_status cas_outfile_commit_stream(cas_outfile *o, FILE *f, cas_error *err);

/* Removes the temporary (closing it or the stream first). */
void cas_outfile_abort(cas_outfile *o);
void cas_outfile_abort_stream(cas_outfile *o, FILE *f);

/* Closes o->fd without renaming, for writers that reopen the temporary by
 * name (HDF5); then cas_outfile_commit renames it (after fsync by name). */
void cas_outfile_release_fd(cas_outfile *o);

/* The n bytes at data as the whole file path, through a temporary (open,
 * write, commit). */
cas_status cas_outfile_write_all(const char *path, const void *data, size_t n, cas_error *err);

/* Creates path, whose last six characters are XXXXXX, replaced by random
 * letters and digits (like mkstemp and mkdtemp): a file opened read-write,
 * new (O_EXCL), never through a link, mode 0666 less the umask, its
 * descriptor returned; or (is_folder) a folder, mode 0700, 0 returned. The
 * name is registered for cas_outfile_on_signal before it is created (a
 * signal between mkstemp and the registration left the file behind: seen
 * when a loaded machine preempted the process there); *slot is its entry,
 * for cas_outfile_forget, or -1. -1 and errno on failure, nothing left. */
int cas_outfile_create_unique(char *path, int is_folder, int *slot);

/* For a signal handler: removes every registered temporary (unlink and
 * rmdir only: async-signal-safe), files first, then folders. */
void cas_outfile_on_signal(void);

/* Registers another file (is_folder 0) or an empty-by-then folder
 * (is_folder 1) for removal by cas_outfile_on_signal, such as a private
 * temporary folder; the slot to pass to cas_outfile_forget once it is
 * removed, or -1 if there is no room (it is then just not removed by a
 * signal). */
int cas_outfile_remove_on_signal(const char *path, int is_folder);

/* strerror(e), and for ENOENT or ESTALE when the folder of path is gone,
 * that it was removed (or unmounted) while the file was written: the
 * cause of an I/O error on path, for its message. Written into buf. */
const char *cas_outfile_cause(int e, const char *path, char *buf, size_t size);

/* This host's name as it appears in temporaries' names (letters, digits
 * and '-', at most 32; "h" when it has none). */
void cas_outfile_host_tag(char out[40]);

/* Removes the folders DIR/PREFIX.HOST.PID.* (and the files in them) left
 * by processes of this host that are gone (SIGKILL, a power cut): the
 * private folders of verify's re-runs. */
void cas_outfile_remove_stale_folders(const char *dir, const char *prefix);
void cas_outfile_forget(int slot);

/* 1 if a and b name the same existing file (device and inode). */
int cas_same_file(const char *a, const char *b);

#endif
