/* seal.c: the seal in a result file's user block (seal.h). */
#define _GNU_SOURCE /* O_CLOEXEC */
#include "seal.h"
#include "outfile.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sha256.h"

static const char seal_magic[] = "cascade-result-seal 1\n";
/* HDF5's format signature (HDF5 File Format Specification, "Superblock") */
static const unsigned char hdf5_signature[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};

enum { CHUNK = 1 << 20 };

/* The SHA-256 of the bytes of fd from CAS_SEAL_BYTES to size. 0, or -1 and
 * errno (ENOMEM: no memory for the digest). */
static int hash_content(int fd, off_t size, char hex[CAS_SHA256_HEX]) {
  unsigned char *buf = malloc(CHUNK);
  if (!buf) return errno = ENOMEM, -1;
  cas_sha256 h;
  cas_sha256_init(&h);
  off_t at = CAS_SEAL_BYTES;
  int rc = 0;
  while (at < size) {
    size_t want = size - at < CHUNK ? (size_t)(size - at) : CHUNK;
    ssize_t got = pread(fd, buf, want, at);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) {
      if (got == 0) errno = EIO; /* shorter than fstat said: changed under us */
      rc = -1;
      break;
    }
    cas_sha256_update(&h, buf, (size_t)got);
    at += got;
  }
  free(buf);
  uint8_t d[CAS_SHA256_BYTES];
  int saved = errno;
  if (cas_sha256_final(&h, d) != CAS_OK) return errno = ENOMEM, -1;
  errno = saved;
  if (rc == 0) cas_sha256_to_hex(d, hex);
  return rc;
}

static int read_head(int fd, unsigned char *head, size_t n) {
  size_t have = 0;
  while (have < n) {
    ssize_t got = pread(fd, head + have, n - have, (off_t)have);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) {
      if (got == 0) errno = EIO;
      return -1;
    }
    have += (size_t)got;
  }
  return 0;
}

cas_status cas_seal_write(const char *path, const char *name, cas_error *err) {
  int fd = open(path, O_RDWR | O_CLOEXEC);
  char cause[CAS_OUTFILE_PATH_MAX + 160];
  if (fd < 0)
    return cas_error_at(err, CAS_ERR_IO, name, 0, 0, "cannot seal (%s)",
                        cas_outfile_cause(errno, path, cause, sizeof cause));
  struct stat sb;
  unsigned char head[CAS_SEAL_BYTES];
  char hex[CAS_SHA256_HEX];
  const char *what = "reading it back";
  int ok = fstat(fd, &sb) == 0 && sb.st_size >= CAS_SEAL_BYTES && read_head(fd, head, sizeof head) == 0;
  if (ok) {
    /* the user block HDF5 left (all zero) or an earlier seal, never
     * anything else: this writes over nothing foreign */
    int zero = 1;
    for (size_t i = 0; i < sizeof head && zero; i++) zero = head[i] == 0;
    ok = zero || !memcmp(head, seal_magic, sizeof seal_magic - 1);
    if (!ok) errno = EINVAL;
  }
  if (ok) ok = hash_content(fd, sb.st_size, hex) == 0;
  if (ok) {
    what = "writing the seal";
    memset(head, 0, sizeof head);
    int n = snprintf((char *)head, sizeof head, "%ssha256 %s\nbytes %" PRIu64 "\n", seal_magic, hex,
                     (uint64_t)(sb.st_size - CAS_SEAL_BYTES));
    ok = n > 0 && (size_t)n < sizeof head;
    ssize_t put = ok ? pwrite(fd, head, sizeof head, 0) : -1;
    ok = put == (ssize_t)sizeof head;
    if (put >= 0 && !ok) errno = EIO;
  }
  int e = errno;
  if (close(fd) != 0 && ok) {
    ok = 0;
    e = errno;
  }
  if (!ok)
    return cas_error_at(err, CAS_ERR_IO, name, 0, 0, "cannot seal (%s; %s)",
                        cas_outfile_cause(e, path, cause, sizeof cause), what);
  return CAS_OK;
}

/* The seal's fields, or -1 if head is not a well-formed seal. */
static int parse_seal(const unsigned char *head, char hex[CAS_SHA256_HEX], uint64_t *bytes) {
  const char *s = (const char *)head;
  size_t m = sizeof seal_magic - 1;
  if (memcmp(s, seal_magic, m) != 0) return -1;
  s += m;
  if (strncmp(s, "sha256 ", 7) != 0) return -1;
  s += 7;
  for (int i = 0; i < 64; i++) {
    char c = s[i];
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return -1;
    hex[i] = c;
  }
  hex[64] = '\0';
  s += 64;
  if (strncmp(s, "\nbytes ", 7) != 0) return -1;
  s += 7;
  uint64_t v = 0;
  int digits = 0;
  for (; *s >= '0' && *s <= '9' && digits < 20; s++, digits++) {
    unsigned d = (unsigned)(*s - '0');
    if (v > (UINT64_MAX - d) / 10) return -1;
    v = v * 10 + d;
  }
  if (digits == 0 || *s != '\n') return -1;
  s++;
  /* the rest of the block is NUL: nothing else hides there */
  for (const char *end = (const char *)head + CAS_SEAL_BYTES; s < end; s++)
    if (*s != '\0') return -1;
  *bytes = v;
  return 0;
}

/* The last file found intact, by identity and time of last change: the
 * readers of one command open the same result several times (compare: the
 * headline, then the paths; verify: the record, then the digest), and a
 * large result need not be hashed again while it has not changed. The
 * readers run on one thread. */
static struct {
  int known;
  dev_t dev;
  ino_t ino;
  off_t size;
  struct timespec mtime, ctime;
} last_intact;

static int same_as_last(const struct stat *sb) {
  return last_intact.known && last_intact.dev == sb->st_dev && last_intact.ino == sb->st_ino &&
         last_intact.size == sb->st_size && last_intact.mtime.tv_sec == sb->st_mtim.tv_sec &&
         last_intact.mtime.tv_nsec == sb->st_mtim.tv_nsec &&
         last_intact.ctime.tv_sec == sb->st_ctim.tv_sec && last_intact.ctime.tv_nsec == sb->st_ctim.tv_nsec;
}

cas_status cas_seal_check(const char *path, cas_seal_state *state, cas_error *err) {
  *state = CAS_SEAL_NONE;
  /* non-blocking: a FIFO is refused below without waiting for a writer */
  int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return cas_error_set(err, CAS_ERR_INPUT, "%s: cannot read: %s", path, strerror(errno));
  cas_status st = CAS_OK;
  struct stat sb;
  unsigned char head[CAS_SEAL_BYTES];
  if (fstat(fd, &sb) != 0) {
    st = cas_error_set(err, CAS_ERR_INPUT, "%s: cannot read: %s", path, strerror(errno));
  } else if (!S_ISREG(sb.st_mode)) {
    st = cas_error_set(err, CAS_ERR_INPUT, "%s: %s (expected a result file written by cascade run)",
                       path, S_ISDIR(sb.st_mode) ? "a folder, not a file" : "not a regular file");
  } else if (same_as_last(&sb)) {
    *state = CAS_SEAL_INTACT;
  } else if (sb.st_size < (off_t)sizeof hdf5_signature) {
    st = cas_error_set(err, CAS_ERR_INPUT, "%s: not an HDF5 file (got %lld bytes, too short for "
                       "a result written by cascade run)", path, (long long)sb.st_size);
  } else if (read_head(fd, head, sb.st_size < CAS_SEAL_BYTES ? sizeof hdf5_signature
                                                             : sizeof head) != 0) {
    st = cas_error_set(err, CAS_ERR_INPUT, "%s: cannot read: %s", path, strerror(errno));
  } else if (!memcmp(head, hdf5_signature, sizeof hdf5_signature)) {
    *state = CAS_SEAL_NONE; /* written before the seal */
  } else if (sb.st_size < CAS_SEAL_BYTES || memcmp(head, seal_magic, sizeof seal_magic - 1) != 0) {
    st = cas_error_set(err, CAS_ERR_INPUT, "%s: not an HDF5 file (expected a result written by "
                       "cascade run, which starts with its seal or HDF5's signature)", path);
  } else {
    char want[CAS_SHA256_HEX], got[CAS_SHA256_HEX];
    uint64_t bytes = 0, have = (uint64_t)(sb.st_size - CAS_SEAL_BYTES);
    if (parse_seal(head, want, &bytes) != 0)
      st = cas_error_set(err, CAS_ERR_INPUT, "%s: damaged result file (its seal, the first %d "
                         "bytes, does not parse: expected 'sha256 HEX' and 'bytes N' lines)",
                         path, CAS_SEAL_BYTES);
    else if (bytes != have)
      st = cas_error_set(err, CAS_ERR_INPUT, "%s: damaged or changed since cascade wrote it (got "
                         "%" PRIu64 " bytes after its seal, expected %" PRIu64 ")", path, have, bytes);
    else if (hash_content(fd, sb.st_size, got) != 0)
      st = errno == ENOMEM ? cas_error_set(err, CAS_ERR_NOMEM, "%s: out of memory", path)
                           : cas_error_set(err, CAS_ERR_INPUT, "%s: cannot read: %s", path,
                                           strerror(errno));
    else if (strcmp(got, want) != 0)
      st = cas_error_set(err, CAS_ERR_INPUT, "%s: damaged or changed since cascade wrote it (got "
                         "SHA-256 %.12s... of its content, expected %.12s... from its seal)",
                         path, got, want);
    else {
      *state = CAS_SEAL_INTACT;
      last_intact.known = 1;
      last_intact.dev = sb.st_dev;
      last_intact.ino = sb.st_ino;
      last_intact.size = sb.st_size;
      last_intact.mtime = sb.st_mtim;
      last_intact.ctime = sb.st_ctim;
    }
  }
  close(fd);
  return st;
}
