/*
 * manifest.c: writing and reading a batch manifest (manifest.h), with
 * jansson.
 *
 * Writer: the document is built as a jansson tree, dumped with an indent
 * of 2 and doubles at 17 significant digits (so that they read back
 * exactly), and written through cas_outfile_write_all: a temporary file
 * beside it, flushed to disk and renamed, so that a crash or a kill -9 at
 * any moment leaves the previous manifest or the new one, never a mix.
 *
 * Text: JSON strings are Unicode, while paths and names are bytes. Valid
 * UTF-8 is written as it is. A byte b that is not part of valid UTF-8 (a
 * file name in another encoding) is written as the character U+EF00 + b
 * (U+EF80..U+EFFF, a private-use range), and so are the bytes of any
 * character of that range the text itself holds; the reader turns every
 * such character back into its byte, so every text reads back byte for
 * byte.
 *
 * Counts (paths, seed, loans: up to 2^64 - 1) are JSON integers up to
 * 2^63 - 1, which jansson (and most JSON readers) hold exactly; a larger
 * value, only possible for a seed, is written as a string of its decimal
 * digits. The reader takes both.
 *
 * Reader: jansson parses the whole document (any JSON value at the top,
 * duplicate keys refused), then the fields the batch needs are taken from
 * the tree; unknown fields are ignored (a later version may add some).
 * Nesting deeper than MAX_DEPTH (no manifest comes near it) is refused
 * where it happens.
 */
#include "manifest.h"
#include "outfile.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

enum { MAX_DEPTH = 64 };

/* ---- text: bytes <-> JSON strings -------------------------------------- */

enum { PRIVATE_FIRST = 0xEF80, PRIVATE_LAST = 0xEFFF };

/* Length of the valid UTF-8 character at s (RFC 3629: shortest form, no
 * surrogates, at most U+10FFFF) and its code point; 0 if not valid. */
static size_t utf8_char(const unsigned char *s, uint32_t *cp) {
  unsigned c = s[0];
  size_t n;
  uint32_t v, min;
  if (c < 0x80) {
    *cp = c;
    return 1;
  } else if ((c & 0xE0) == 0xC0) {
    n = 2, v = c & 0x1F, min = 0x80;
  } else if ((c & 0xF0) == 0xE0) {
    n = 3, v = c & 0x0F, min = 0x800;
  } else if ((c & 0xF8) == 0xF0) {
    n = 4, v = c & 0x07, min = 0x10000;
  } else {
    return 0;
  }
  for (size_t i = 1; i < n; i++) {
    if ((s[i] & 0xC0) != 0x80) return 0; /* also stops at the NUL */
    v = v << 6 | (s[i] & 0x3F);
  }
  if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) return 0;
  *cp = v;
  return n;
}

/* A JSON string for s (null for NULL); NULL if out of memory. */
static json_t *text(const char *s) {
  if (!s) return json_null();
  const unsigned char *p = (const unsigned char *)s;
  size_t len = strlen(s);
  int plain = 1;
  uint32_t cp;
  for (size_t i = 0, k; i < len && plain; i += k) {
    k = utf8_char(p + i, &cp);
    plain = k && (cp < PRIVATE_FIRST || cp > PRIVATE_LAST);
  }
  if (plain) return json_stringn(s, len);
  /* Each byte becomes at most one 3-byte character. */
  char *t = malloc(3 * len + 1);
  if (!t) return NULL;
  size_t n = 0;
  for (size_t i = 0, k; i < len; i += k) {
    k = utf8_char(p + i, &cp);
    if (k && (cp < PRIVATE_FIRST || cp > PRIVATE_LAST)) {
      memcpy(t + n, p + i, k);
      n += k;
      continue;
    }
    if (!k) k = 1; /* one stray byte, else each byte of the character */
    for (size_t j = 0; j < k; j++) {
      uint32_t u = 0xEF00 + p[i + j];
      t[n++] = (char)(0xE0 | u >> 12);
      t[n++] = (char)(0x80 | ((u >> 6) & 0x3F));
      t[n++] = (char)(0x80 | (u & 0x3F));
    }
  }
  json_t *v = json_stringn(t, n);
  free(t);
  return v;
}

/* The bytes a JSON string stands for (text() undone), malloc'ed. */
static char *bytes(const json_t *v) {
  const unsigned char *s = (const unsigned char *)json_string_value(v);
  size_t len = json_string_length(v);
  char *t = malloc(len + 1);
  if (!t) return NULL;
  size_t n = 0;
  for (size_t i = 0; i < len;) {
    /* U+EF80..U+EFFF is EE BE 80..EE BF BF */
    if (i + 2 < len && s[i] == 0xEE && (s[i + 1] == 0xBE || s[i + 1] == 0xBF)) {
      t[n++] = (char)(0x80 | (s[i + 1] & 1) << 6 | (s[i + 2] & 0x3F));
      i += 3;
    } else {
      t[n++] = (char)s[i++];
    }
  }
  t[n] = '\0';
  return t;
}

/* ---- writer ------------------------------------------------------------ */

/* A count given on the command line: a JSON integer, a decimal string
 * above 2^63 - 1, null if not given. */
static json_t *count(uint64_t v, int given) {
  if (!given) return json_null();
  if (v <= INT64_MAX) return json_integer((json_int_t)v);
  char digits[24];
  snprintf(digits, sizeof digits, "%llu", (unsigned long long)v);
  return json_string(digits);
}

/* json_object_set_new takes value even on failure (a NULL object or
 * value included), so a tree is built call after call and checked once:
 * bad collects the failures. */
static void set(json_t *obj, const char *key, json_t *value, int *bad) {
  if (json_object_set_new(obj, key, value)) *bad = 1;
}

static json_t *overrides(const cas_manifest_overrides *o, int *bad) {
  json_t *j = json_object();
  set(j, "paths", count(o->paths, o->paths_given), bad);
  set(j, "seed", count(o->seed, o->seed_given), bad);
  set(j, "loans", count(o->loans, o->loans_given), bad);
  set(j, "kernel", text(o->kernel), bad);
  return j;
}

static json_t *entry(const cas_manifest_entry *e, int *bad) {
  json_t *j = json_object();
  set(j, "name", text(e->name), bad);
  set(j, "scenario", text(e->scenario), bad);
  set(j, "status", text(e->status), bad);
  set(j, "error", text(e->error), bad);
  set(j, "output", text(e->output), bad);
  set(j, "digest", text(e->digest[0] ? e->digest : NULL), bad);
  json_t *inputs = json_array();
  for (size_t i = 0; i < e->ninputs; i++) {
    const cas_manifest_input *in = &e->inputs[i];
    json_t *x = json_object();
    set(x, "role", text(in->role), bad);
    set(x, "path", text(in->path), bad);
    set(x, "sha256", text(in->sha256[0] ? in->sha256 : NULL), bad);
    if (json_array_append_new(inputs, x)) *bad = 1;
  }
  set(j, "inputs", inputs, bad);
  set(j, "overrides", overrides(&e->overrides, bad), bad);
  set(j, "cascade_commit", text(e->cascade_commit), bad);
  set(j, "start_utc", text(e->start_utc), bad);
  set(j, "end_utc", text(e->end_utc), bad);
  /* JSON has no NaN or infinity: a time that is neither is unknown. */
  double t = e->elapsed_seconds;
  set(j, "elapsed_seconds", isfinite(t) ? json_real(t) : json_null(), bad);
  return j;
}

static int count_status(const cas_manifest *m, const char *status) {
  int k = 0;
  for (size_t i = 0; i < m->nentries; i++) k += m->entries[i].status && !strcmp(m->entries[i].status, status);
  return k;
}

cas_status cas_manifest_write(const char *path, const cas_manifest *m, cas_error *err) {
  int bad = 0;
  json_t *root = json_object();
  set(root, "format", json_string("cascade batch manifest 1"), &bad);
  set(root, "cascade_version", text(m->cascade_version), &bad);
  set(root, "cascade_commit", text(m->cascade_commit), &bad);
  set(root, "command_line", text(m->command_line), &bad);
  json_t *shard = json_null();
  if (m->shard_count > 0) {
    shard = json_object();
    set(shard, "index", json_integer(m->shard_index), &bad);
    set(shard, "count", json_integer(m->shard_count), &bad);
  }
  set(root, "shard", shard, &bad);
  set(root, "overrides", overrides(&m->overrides, &bad), &bad);
  set(root, "started_utc", text(m->started_utc), &bad);
  set(root, "updated_utc", text(m->updated_utc), &bad);
  json_t *counts = json_object();
  static const char *const statuses[] = {"ok", "reused", "failed", "pending"};
  for (size_t i = 0; i < 4; i++)
    set(counts, statuses[i], json_integer(count_status(m, statuses[i])), &bad);
  set(root, "counts", counts, &bad);
  json_t *list = json_array();
  for (size_t i = 0; i < m->nentries; i++)
    if (json_array_append_new(list, entry(&m->entries[i], &bad))) bad = 1;
  set(root, "scenarios", list, &bad);

  char *doc = bad ? NULL : json_dumps(root, JSON_INDENT(2) | JSON_REAL_PRECISION(17));
  json_decref(root);
  size_t len = doc ? strlen(doc) : 0;
  char *file = doc ? realloc(doc, len + 2) : NULL; /* and a final newline */
  if (!file) {
    free(doc);
    return cas_error_set(err, CAS_ERR_NOMEM, "no memory to write the manifest %s", path);
  }
  file[len++] = '\n';
  file[len] = '\0';
  cas_status st = cas_outfile_write_all(path, file, len, err);
  free(file);
  return st;
}

/* ---- reader ------------------------------------------------------------ */

/* Where the nesting first goes deeper than MAX_DEPTH: its byte offset, line
 * and column (in characters, as jansson counts), or -1. Strings are
 * skipped, so this is right wherever the text is JSON so far, which is all
 * that matters: past the first syntax error jansson's message wins. */
static long too_deep(const char *s, size_t len, long *line, long *col) {
  int depth = 0, in_string = 0, escaped = 0;
  *line = 1;
  *col = 0;
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == '\n') {
      ++*line;
      *col = 0;
    } else if ((c & 0xC0) != 0x80) {
      ++*col; /* a character starts here */
    }
    if (escaped) {
      escaped = 0;
    } else if (in_string) {
      escaped = c == '\\';
      in_string = c != '"';
    } else if (c == '"') {
      in_string = 1;
    } else if (c == '[' || c == '{') {
      if (++depth > MAX_DEPTH) return (long)i;
    } else if (c == ']' || c == '}') {
      depth--;
    }
  }
  return -1;
}

typedef enum { GOT, BAD, NOMEM } got;

/* A text field copied: NULL if absent or null. */
static got get_text(const json_t *obj, const char *key, char **out) {
  const json_t *f = json_object_get(obj, key);
  *out = NULL;
  if (!f || json_is_null(f)) return GOT;
  if (!json_is_string(f)) return BAD;
  *out = bytes(f);
  return *out ? GOT : NOMEM;
}

/* A hash: 64 characters, or "" if absent or null. */
static got get_hex(const json_t *obj, const char *key, char out[CAS_SHA256_HEX]) {
  const json_t *f = json_object_get(obj, key);
  out[0] = '\0';
  if (!f || json_is_null(f)) return GOT;
  const char *s = json_string_value(f);
  if (!s || strlen(s) != CAS_SHA256_HEX - 1) return BAD;
  memcpy(out, s, CAS_SHA256_HEX);
  return GOT;
}

/* A count: a non-negative integer or a string of decimal digits; not given
 * if absent or null. */
static got get_count(const json_t *obj, const char *key, uint64_t *out, int *given) {
  const json_t *f = json_object_get(obj, key);
  *out = 0;
  *given = 0;
  if (!f || json_is_null(f)) return GOT;
  if (json_is_integer(f)) {
    if (json_integer_value(f) < 0) return BAD;
    *out = (uint64_t)json_integer_value(f);
  } else {
    const char *s = json_string_value(f);
    if (!s || s[0] < '0' || s[0] > '9') return BAD;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end) return BAD;
    *out = v;
  }
  *given = 1;
  return GOT;
}

static got get_overrides(const json_t *obj, cas_manifest_overrides *o) {
  memset(o, 0, sizeof *o);
  if (!json_is_object(obj)) return BAD;
  got g;
  if ((g = get_count(obj, "paths", &o->paths, &o->paths_given)) != GOT ||
      (g = get_count(obj, "seed", &o->seed, &o->seed_given)) != GOT ||
      (g = get_count(obj, "loans", &o->loans, &o->loans_given)) != GOT)
    return g;
  const json_t *k = json_object_get(obj, "kernel");
  if (!json_is_string(k)) return BAD;
  char *name = bytes(k);
  if (!name) return NOMEM;
  g = strlen(name) < sizeof o->kernel ? GOT : BAD;
  if (g == GOT) memcpy(o->kernel, name, strlen(name) + 1);
  free(name);
  return g;
}

/* The first failure of a sequence of gets is the one reported. */
#define TRY(call)                   \
  do {                              \
    got g_ = (call);                \
    if (g_ != GOT) return g_;       \
  } while (0)

static got get_entry(const json_t *obj, cas_manifest_entry *e) {
  memset(e, 0, sizeof *e);
  if (!json_is_object(obj)) return BAD;
  TRY(get_text(obj, "name", &e->name));
  TRY(get_text(obj, "scenario", &e->scenario));
  TRY(get_text(obj, "status", &e->status));
  TRY(get_text(obj, "error", &e->error));
  TRY(get_text(obj, "output", &e->output));
  TRY(get_text(obj, "cascade_commit", &e->cascade_commit));
  TRY(get_text(obj, "start_utc", &e->start_utc));
  TRY(get_text(obj, "end_utc", &e->end_utc));
  TRY(get_hex(obj, "digest", e->digest));
  TRY(get_overrides(json_object_get(obj, "overrides"), &e->overrides));
  if (!e->name || !e->status) return BAD;
  const json_t *el = json_object_get(obj, "elapsed_seconds");
  if (json_is_number(el)) e->elapsed_seconds = json_number_value(el);
  const json_t *in = json_object_get(obj, "inputs");
  if (!json_is_array(in)) return BAD;
  size_t n = json_array_size(in);
  if (n) {
    e->inputs = calloc(n, sizeof *e->inputs);
    if (!e->inputs) return NOMEM;
  }
  for (size_t i = 0; i < n; i++) {
    const json_t *x = json_array_get(in, i);
    cas_manifest_input *y = &e->inputs[i];
    e->ninputs++;
    if (!json_is_object(x)) return BAD;
    TRY(get_text(x, "role", &y->role));
    TRY(get_text(x, "path", &y->path));
    TRY(get_hex(x, "sha256", y->sha256));
    if (!y->role || !y->path) return BAD;
  }
  return GOT;
}

/* The whole file, NUL-terminated; NULL with err set on failure. */
/* A manifest is a few hundred bytes a scenario: a file beyond this is not
 * one, and is not read into memory whole. */
enum { MANIFEST_MAX_BYTES = 64 << 20 };

/* The whole of the manifest at path. Opened without blocking and checked
 * before anything is read: a FIFO would hold the batch for ever, a device
 * such as /dev/zero would fill its memory. */
static char *slurp(const char *path, size_t *len, cas_error *err) {
  int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    cas_error_set(err, CAS_ERR_IO, "%s: cannot read: %s", path, strerror(errno));
    return NULL;
  }
  struct stat sb;
  if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_size > MANIFEST_MAX_BYTES) {
    int reg = S_ISREG(sb.st_mode);
    close(fd);
    if (reg)
      cas_error_set(err, CAS_ERR_INPUT, "%s: not a cascade batch manifest (%lld bytes, expected at "
                    "most %d)", path, (long long)sb.st_size, MANIFEST_MAX_BYTES);
    else
      cas_error_set(err, CAS_ERR_INPUT, "%s: cannot read (got %s, expected a manifest file)", path,
                    S_ISDIR(sb.st_mode) ? "a directory" : "a FIFO, device or socket");
    return NULL;
  }
  FILE *f = fdopen(fd, "rb");
  if (!f) {
    cas_error_set(err, CAS_ERR_IO, "%s: cannot read: %s", path, strerror(errno));
    close(fd);
    return NULL;
  }
  size_t cap = 1 << 16, n = 0, k;
  char *text = malloc(cap + 1);
  while (text && n <= MANIFEST_MAX_BYTES && (k = fread(text + n, 1, cap - n, f)) > 0) {
    n += k;
    if (n == cap) {
      char *t = realloc(text, (cap *= 2) + 1);
      if (!t) free(text);
      text = t;
    }
  }
  int bad = ferror(f);
  fclose(f);
  if (!text) {
    cas_error_set(err, CAS_ERR_NOMEM, "no memory to read %s", path);
  } else if (n > MANIFEST_MAX_BYTES) {   /* it grew while being read */
    free(text);
    text = NULL;
    cas_error_set(err, CAS_ERR_INPUT, "%s: not a cascade batch manifest (more than %d bytes)", path,
                  MANIFEST_MAX_BYTES);
  } else if (bad) {
    free(text);
    text = NULL;
    cas_error_set(err, CAS_ERR_IO, "%s: read error", path);
  } else {
    text[n] = '\0';
    *len = n;
  }
  return text;
}

cas_status cas_manifest_read(const char *path, cas_manifest_entry **entries, size_t *n,
                             cas_error *err) {
  *entries = NULL;
  *n = 0;
  size_t len = 0;
  char *text = slurp(path, &len, err);
  if (!text) return err ? err->status : CAS_ERR_IO;
  long line, col;
  long deep = too_deep(text, len, &line, &col);
  json_error_t je;
  json_t *root = json_loadb(text, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &je);
  free(text);
  cas_status st = CAS_OK;
  /* The first error in the text is the one reported; jansson's position is
   * the 1-based offset of the last byte it read. */
  if (deep >= 0 && (root || deep < je.position)) {
    st = cas_error_at(err, CAS_ERR_INPUT, path, line, col, "malformed manifest: nested too deeply");
  } else if (!root && json_error_code(&je) == json_error_out_of_memory) {
    st = cas_error_set(err, CAS_ERR_NOMEM, "no memory to read %s", path);
  } else if (!root) {
    st = cas_error_at(err, CAS_ERR_INPUT, path, je.line, je.column, "malformed manifest: %s", je.text);
  }
  const json_t *list = st == CAS_OK ? json_object_get(root, "scenarios") : NULL;
  if (st == CAS_OK && !json_is_array(list))
    st = cas_error_set(err, CAS_ERR_INPUT, "%s: not a cascade batch manifest (no \"scenarios\" list)", path);
  size_t count = st == CAS_OK ? json_array_size(list) : 0, got_n = 0;
  cas_manifest_entry *es = NULL;
  if (count) {
    es = calloc(count, sizeof *es);
    if (!es) st = cas_error_set(err, CAS_ERR_NOMEM, "no memory to read %s", path);
  }
  for (size_t i = 0; st == CAS_OK && i < count; i++) {
    got_n++;
    got g = get_entry(json_array_get(list, i), &es[i]);
    if (g == NOMEM)
      st = cas_error_set(err, CAS_ERR_NOMEM, "no memory to read %s", path);
    else if (g == BAD)
      st = cas_error_set(err, CAS_ERR_INPUT, "%s: scenario entry %zu is incomplete or has a field of the wrong type", path, i + 1);
  }
  json_decref(root);
  if (st != CAS_OK) {
    cas_manifest_entries_free(es, got_n);
    return st;
  }
  *entries = es;
  *n = got_n;
  return CAS_OK;
}

/* ---- entries ----------------------------------------------------------- */

void cas_manifest_entry_clear(cas_manifest_entry *e) {
  if (!e) return;
  free(e->name);
  free(e->scenario);
  free(e->output);
  free(e->status);
  free(e->error);
  free(e->start_utc);
  free(e->end_utc);
  free(e->cascade_commit);
  for (size_t i = 0; i < e->ninputs; i++) {
    free(e->inputs[i].role);
    free(e->inputs[i].path);
  }
  free(e->inputs);
  memset(e, 0, sizeof *e);
}

void cas_manifest_entries_free(cas_manifest_entry *entries, size_t n) {
  if (!entries) return;
  for (size_t i = 0; i < n; i++) cas_manifest_entry_clear(&entries[i]);
  free(entries);
}

static int dup_or_null(char **dst, const char *src) {
  *dst = src ? strdup(src) : NULL;
  return src && !*dst ? -1 : 0;
}

cas_status cas_manifest_entry_copy(cas_manifest_entry *dst, const cas_manifest_entry *src,
                                   cas_error *err) {
  memset(dst, 0, sizeof *dst);
  dst->elapsed_seconds = src->elapsed_seconds;
  memcpy(dst->digest, src->digest, sizeof dst->digest);
  dst->overrides = src->overrides;
  int bad = dup_or_null(&dst->name, src->name) | dup_or_null(&dst->scenario, src->scenario) |
            dup_or_null(&dst->output, src->output) | dup_or_null(&dst->status, src->status) |
            dup_or_null(&dst->error, src->error) | dup_or_null(&dst->start_utc, src->start_utc) |
            dup_or_null(&dst->end_utc, src->end_utc) |
            dup_or_null(&dst->cascade_commit, src->cascade_commit);
  if (!bad && src->ninputs) {
    dst->inputs = calloc(src->ninputs, sizeof *dst->inputs);
    bad = !dst->inputs;
    for (size_t i = 0; !bad && i < src->ninputs; i++) {
      dst->ninputs++;
      bad = dup_or_null(&dst->inputs[i].role, src->inputs[i].role) |
            dup_or_null(&dst->inputs[i].path, src->inputs[i].path);
      memcpy(dst->inputs[i].sha256, src->inputs[i].sha256, CAS_SHA256_HEX);
    }
  }
  if (bad) {
    cas_manifest_entry_clear(dst);
    return cas_error_set(err, CAS_ERR_NOMEM, "no memory for a manifest entry");
  }
  return CAS_OK;
}

static int same_str(const char *a, const char *b) { return a && b ? !strcmp(a, b) : a == b; }

int cas_manifest_same_overrides(const cas_manifest_overrides *a, const cas_manifest_overrides *b) {
  return a->paths_given == b->paths_given && a->seed_given == b->seed_given &&
         a->loans_given == b->loans_given && (!a->paths_given || a->paths == b->paths) &&
         (!a->seed_given || a->seed == b->seed) && (!a->loans_given || a->loans == b->loans) &&
         !strcmp(a->kernel, b->kernel);
}

int cas_manifest_same_inputs(const cas_manifest_entry *a, const cas_manifest_entry *b) {
  if (a->ninputs != b->ninputs) return 0;
  for (size_t i = 0; i < a->ninputs; i++)
    if (!same_str(a->inputs[i].role, b->inputs[i].role) ||
        !same_str(a->inputs[i].path, b->inputs[i].path) ||
        strcmp(a->inputs[i].sha256, b->inputs[i].sha256))
      return 0;
  return 1;
}
