/*
 * manifest.c: writing and reading a batch manifest (manifest.h).
 *
 * Writer: the document is built in memory (a growing buffer), written to
 * "PATH.tmp.<pid>", flushed with fsync and renamed, so that a crash or a
 * kill -9 at any moment leaves the previous manifest or the new one, never
 * a mix. Strings are escaped per RFC 8259: quote, backslash and control
 * characters; bytes that are not valid UTF-8 are written as \u00XX.
 * Integers (seeds up to 2^64 - 1) are written as JSON numbers and read
 * back from their text, so no precision is lost.
 *
 * Reader: a small recursive-descent JSON parser (RFC 8259) into a tree,
 * with a depth limit so that no input can exhaust the stack, then the
 * fields the batch needs are taken from the tree; unknown fields are
 * ignored (a later version may add some).
 */
#include "manifest.h"
#include "outfile.h"
#include "textbuf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- writer ------------------------------------------------------------ */


/* Length of the valid UTF-8 sequence at s (0 if invalid). */
static size_t utf8_len(const unsigned char *s) {
  unsigned c = s[0];
  size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
  if (n == 0 || (n == 2 && c < 0xC2)) return 0;
  for (size_t i = 1; i < n; i++)
    if ((s[i] & 0xC0) != 0x80) return 0;
  return n;
}

static void put_string(cas_buf *b, const char *s) {
  if (!s) {
    cas_buf_put(b, "null");
    return;
  }
  cas_buf_put(b, "\"");
  const unsigned char *p = (const unsigned char *)s;
  while (*p) {
    size_t n = utf8_len(p);
    if (*p == '"' || *p == '\\') {
      char e[3] = {'\\', (char)*p, 0};
      cas_buf_put(b, e);
      p++;
    } else if (*p == '\n') {
      cas_buf_put(b, "\\n");
      p++;
    } else if (*p == '\t') {
      cas_buf_put(b, "\\t");
      p++;
    } else if (*p < 0x20 || n == 0) {
      cas_buf_printf(b, "\\u%04x", *p);
      p++;
    } else {
      cas_buf_putn(b, (const char *)p, n);
      p += n;
    }
  }
  cas_buf_put(b, "\"");
}

static void put_overrides(cas_buf *b, const cas_manifest_overrides *o, const char *indent) {
  cas_buf_printf(b, "{\n%s  \"paths\": ", indent);
  if (o->paths_given) cas_buf_printf(b, "%llu", (unsigned long long)o->paths);
  else cas_buf_put(b, "null");
  cas_buf_printf(b, ",\n%s  \"seed\": ", indent);
  if (o->seed_given) cas_buf_printf(b, "%llu", (unsigned long long)o->seed);
  else cas_buf_put(b, "null");
  cas_buf_printf(b, ",\n%s  \"loans\": ", indent);
  if (o->loans_given) cas_buf_printf(b, "%llu", (unsigned long long)o->loans);
  else cas_buf_put(b, "null");
  cas_buf_printf(b, ",\n%s  \"kernel\": ", indent);
  put_string(b, o->kernel);
  cas_buf_printf(b, "\n%s}", indent);
}

static void put_entry(cas_buf *b, const cas_manifest_entry *e) {
  cas_buf_put(b, "    {\n      \"name\": ");
  put_string(b, e->name);
  cas_buf_put(b, ",\n      \"scenario\": ");
  put_string(b, e->scenario);
  cas_buf_put(b, ",\n      \"status\": ");
  put_string(b, e->status);
  cas_buf_put(b, ",\n      \"error\": ");
  put_string(b, e->error);
  cas_buf_put(b, ",\n      \"output\": ");
  put_string(b, e->output);
  cas_buf_put(b, ",\n      \"digest\": ");
  put_string(b, e->digest[0] ? e->digest : NULL);
  cas_buf_put(b, ",\n      \"inputs\": [");
  for (size_t i = 0; i < e->ninputs; i++) {
    cas_buf_put(b, i ? ",\n        {\"role\": " : "\n        {\"role\": ");
    put_string(b, e->inputs[i].role);
    cas_buf_put(b, ", \"path\": ");
    put_string(b, e->inputs[i].path);
    cas_buf_put(b, ", \"sha256\": ");
    put_string(b, e->inputs[i].sha256);
    cas_buf_put(b, "}");
  }
  cas_buf_put(b, e->ninputs ? "\n      ],\n      \"overrides\": " : "],\n      \"overrides\": ");
  put_overrides(b, &e->overrides, "      ");
  cas_buf_put(b, ",\n      \"cascade_commit\": ");
  put_string(b, e->cascade_commit);
  cas_buf_put(b, ",\n      \"start_utc\": ");
  put_string(b, e->start_utc);
  cas_buf_put(b, ",\n      \"end_utc\": ");
  put_string(b, e->end_utc);
  cas_buf_printf(b, ",\n      \"elapsed_seconds\": %.3f\n    }", e->elapsed_seconds);
}

static int count_status(const cas_manifest *m, const char *status) {
  int k = 0;
  for (size_t i = 0; i < m->nentries; i++) k += m->entries[i].status && !strcmp(m->entries[i].status, status);
  return k;
}

cas_status cas_manifest_write(const char *path, const cas_manifest *m, cas_error *err) {
  cas_buf b = {0};
  cas_buf_put(&b, "{\n  \"format\": \"cascade batch manifest 1\",\n  \"cascade_version\": ");
  put_string(&b, m->cascade_version);
  cas_buf_put(&b, ",\n  \"cascade_commit\": ");
  put_string(&b, m->cascade_commit);
  cas_buf_put(&b, ",\n  \"command_line\": ");
  put_string(&b, m->command_line);
  if (m->shard_count > 0) cas_buf_printf(&b, ",\n  \"shard\": {\"index\": %d, \"count\": %d}", m->shard_index, m->shard_count);
  else cas_buf_put(&b, ",\n  \"shard\": null");
  cas_buf_put(&b, ",\n  \"overrides\": ");
  put_overrides(&b, &m->overrides, "  ");
  cas_buf_put(&b, ",\n  \"started_utc\": ");
  put_string(&b, m->started_utc);
  cas_buf_put(&b, ",\n  \"updated_utc\": ");
  put_string(&b, m->updated_utc);
  cas_buf_printf(&b, ",\n  \"counts\": {\"ok\": %d, \"reused\": %d, \"failed\": %d, \"pending\": %d}",
          count_status(m, "ok"), count_status(m, "reused"), count_status(m, "failed"),
          count_status(m, "pending"));
  cas_buf_put(&b, ",\n  \"scenarios\": [\n");
  for (size_t i = 0; i < m->nentries; i++) {
    if (i) cas_buf_put(&b, ",\n");
    put_entry(&b, &m->entries[i]);
  }
  cas_buf_put(&b, "\n  ]\n}\n");
  if (b.failed) {
    cas_buf_free(&b);
    return cas_error_set(err, CAS_ERR_NOMEM, "no memory to write the manifest %s", path);
  }

  cas_status st = cas_outfile_write_all(path, b.data, b.len, err);
  cas_buf_free(&b);
  return st;
}

/* ---- reader ------------------------------------------------------------ */

enum { J_NULL, J_BOOL, J_NUMBER, J_STRING, J_ARRAY, J_OBJECT };
enum { MAX_DEPTH = 64 };

typedef struct jv {
  int type;
  char *text;          /* string value, or the number's text */
  struct jv *items;    /* array items or object values */
  char **keys;         /* object keys */
  size_t n;
} jv;

typedef struct parser {
  const char *s, *end, *path;
  const char *line_start;
  long line;
  cas_error *err;
  int failed;
} parser;

static void jv_free(jv *v) {
  if (!v) return;
  for (size_t i = 0; i < v->n; i++) {
    jv_free(&v->items[i]);
    if (v->keys) free(v->keys[i]);
  }
  free(v->items);
  free(v->keys);
  free(v->text);
}

static int perr(parser *p, const char *what) {
  if (!p->failed)
    cas_error_at(p->err, CAS_ERR_INPUT, p->path, p->line, (long)(p->s - p->line_start) + 1,
                 "malformed manifest: %s", what);
  p->failed = 1;
  return -1;
}

static void skip_ws(parser *p) {
  while (p->s < p->end && (*p->s == ' ' || *p->s == '\t' || *p->s == '\n' || *p->s == '\r')) {
    if (*p->s == '\n') {
      p->line++;
      p->line_start = p->s + 1;
    }
    p->s++;
  }
}

static int hexval(char c) {
  return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

static int read_hex4(parser *p, unsigned *out) {
  if (p->end - p->s < 4) return perr(p, "short \\u escape");
  unsigned v = 0;
  for (int i = 0; i < 4; i++) {
    int h = hexval(p->s[i]);
    if (h < 0) return perr(p, "bad \\u escape");
    v = v * 16 + (unsigned)h;
  }
  p->s += 4;
  *out = v;
  return 0;
}

/* A string at p->s (on the opening quote) into a malloc'ed UTF-8 text. */
static int parse_string(parser *p, char **out) {
  p->s++;
  size_t cap = 32, n = 0;
  char *t = malloc(cap);
  if (!t) return perr(p, "out of memory");
  for (;;) {
    if (p->s >= p->end) {
      free(t);
      return perr(p, "unterminated string");
    }
    if (n + 5 > cap) {
      char *u = realloc(t, cap *= 2);
      if (!u) {
        free(t);
        return perr(p, "out of memory");
      }
      t = u;
    }
    unsigned char c = (unsigned char)*p->s;
    if (c == '"') {
      p->s++;
      break;
    }
    if (c < 0x20) {
      free(t);
      return perr(p, "control character in string");
    }
    if (c != '\\') {
      t[n++] = (char)c;
      p->s++;
      continue;
    }
    p->s++;
    if (p->s >= p->end) {
      free(t);
      return perr(p, "unterminated string");
    }
    char e = *p->s++;
    const char *simple = strchr("\"\\/bfnrt", e);
    if (simple && e) {
      static const char rep[] = "\"\\/\b\f\n\r\t";
      t[n++] = rep[simple - "\"\\/bfnrt"];
      continue;
    }
    if (e != 'u') {
      free(t);
      return perr(p, "unknown escape in string");
    }
    unsigned cp;
    if (read_hex4(p, &cp)) {
      free(t);
      return -1;
    }
    if (cp >= 0xD800 && cp < 0xDC00) {
      unsigned lo;
      if (p->end - p->s < 2 || p->s[0] != '\\' || p->s[1] != 'u') {
        free(t);
        return perr(p, "lone surrogate in \\u escape");
      }
      p->s += 2;
      if (read_hex4(p, &lo)) {
        free(t);
        return -1;
      }
      if (lo < 0xDC00 || lo > 0xDFFF) {
        free(t);
        return perr(p, "bad surrogate pair in \\u escape");
      }
      cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
    } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
      free(t);
      return perr(p, "lone surrogate in \\u escape");
    }
    if (cp == 0) {
      free(t);
      return perr(p, "\\u0000 in string");
    }
    /* \u00XX below 0x100 stands for the raw byte the writer escaped. */
    if (cp < 0x100) {
      t[n++] = (char)cp;
    } else if (cp < 0x800) {
      t[n++] = (char)(0xC0 | cp >> 6);
      t[n++] = (char)(0x80 | (cp & 63));
    } else if (cp < 0x10000) {
      t[n++] = (char)(0xE0 | cp >> 12);
      t[n++] = (char)(0x80 | ((cp >> 6) & 63));
      t[n++] = (char)(0x80 | (cp & 63));
    } else {
      t[n++] = (char)(0xF0 | cp >> 18);
      t[n++] = (char)(0x80 | ((cp >> 12) & 63));
      t[n++] = (char)(0x80 | ((cp >> 6) & 63));
      t[n++] = (char)(0x80 | (cp & 63));
    }
  }
  t[n] = '\0';
  *out = t;
  return 0;
}

static int parse_value(parser *p, jv *v, int depth);

static int push(parser *p, jv *v, char *key, jv *item) {
  if ((v->n & (v->n - 1)) == 0) { /* grow at powers of two */
    size_t cap = v->n ? 2 * v->n : 1;
    jv *items = realloc(v->items, cap * sizeof *items);
    if (!items) return perr(p, "out of memory");
    v->items = items;
    if (v->type == J_OBJECT) {
      char **keys = realloc(v->keys, cap * sizeof *keys);
      if (!keys) return perr(p, "out of memory");
      v->keys = keys;
    }
  }
  v->items[v->n] = *item;
  if (v->type == J_OBJECT) v->keys[v->n] = key;
  v->n++;
  return 0;
}

static int parse_container(parser *p, jv *v, int depth) {
  int object = *p->s == '{';
  char close = object ? '}' : ']';
  v->type = object ? J_OBJECT : J_ARRAY;
  p->s++;
  skip_ws(p);
  if (p->s < p->end && *p->s == close) {
    p->s++;
    return 0;
  }
  for (;;) {
    char *key = NULL;
    if (object) {
      skip_ws(p);
      if (p->s >= p->end || *p->s != '"') return perr(p, "expected a quoted key");
      if (parse_string(p, &key)) return -1;
      skip_ws(p);
      if (p->s >= p->end || *p->s != ':') {
        free(key);
        return perr(p, "expected ':' after a key");
      }
      p->s++;
    }
    jv item = {0};
    if (parse_value(p, &item, depth + 1) || push(p, v, key, &item)) {
      free(key);
      jv_free(&item);
      return -1;
    }
    skip_ws(p);
    if (p->s < p->end && *p->s == ',') {
      p->s++;
      continue;
    }
    if (p->s < p->end && *p->s == close) {
      p->s++;
      return 0;
    }
    return perr(p, object ? "expected ',' or '}'" : "expected ',' or ']'");
  }
}

static int parse_value(parser *p, jv *v, int depth) {
  if (depth > MAX_DEPTH) return perr(p, "nested too deeply");
  skip_ws(p);
  if (p->s >= p->end) return perr(p, "unexpected end of file");
  char c = *p->s;
  if (c == '{' || c == '[') return parse_container(p, v, depth);
  if (c == '"') {
    v->type = J_STRING;
    return parse_string(p, &v->text);
  }
  static const struct { const char *word; int type; } words[] = {
      {"null", J_NULL}, {"true", J_BOOL}, {"false", J_BOOL}};
  for (size_t i = 0; i < 3; i++) {
    size_t n = strlen(words[i].word);
    if ((size_t)(p->end - p->s) >= n && !memcmp(p->s, words[i].word, n)) {
      v->type = words[i].type;
      v->text = strdup(words[i].word);
      p->s += n;
      return v->text ? 0 : perr(p, "out of memory");
    }
  }
  const char *start = p->s;
  if (*p->s == '-') p->s++;
  while (p->s < p->end && strchr("0123456789.eE+-", *p->s) && *p->s) p->s++;
  if (p->s == start || (p->s == start + 1 && *start == '-')) return perr(p, "expected a value");
  v->type = J_NUMBER;
  v->text = strndup(start, (size_t)(p->s - start));
  return v->text ? 0 : perr(p, "out of memory");
}

static const jv *field(const jv *obj, const char *key) {
  if (!obj || obj->type != J_OBJECT) return NULL;
  for (size_t i = 0; i < obj->n; i++)
    if (!strcmp(obj->keys[i], key)) return &obj->items[i];
  return NULL;
}

/* A string field copied (NULL if absent or null); -1 on a wrong type or no memory. */
static int get_string(const jv *obj, const char *key, char **out) {
  const jv *f = field(obj, key);
  *out = NULL;
  if (!f || f->type == J_NULL) return 0;
  if (f->type != J_STRING) return -1;
  *out = strdup(f->text);
  return *out ? 0 : -1;
}

static int get_hex(const jv *obj, const char *key, char out[CAS_SHA256_HEX]) {
  const jv *f = field(obj, key);
  out[0] = '\0';
  if (!f || f->type == J_NULL) return 0;
  if (f->type != J_STRING || strlen(f->text) != CAS_SHA256_HEX - 1) return -1;
  memcpy(out, f->text, CAS_SHA256_HEX);
  return 0;
}

static int get_count(const jv *obj, const char *key, uint64_t *out, int *given) {
  const jv *f = field(obj, key);
  *out = 0;
  *given = 0;
  if (!f || f->type == J_NULL) return 0;
  if (f->type != J_NUMBER || f->text[0] < '0' || f->text[0] > '9') return -1;
  errno = 0;
  char *end;
  unsigned long long v = strtoull(f->text, &end, 10);
  if (errno || *end) return -1;
  *out = v;
  *given = 1;
  return 0;
}

static int get_overrides(const jv *obj, cas_manifest_overrides *o) {
  memset(o, 0, sizeof *o);
  if (!obj || obj->type != J_OBJECT) return -1;
  if (get_count(obj, "paths", &o->paths, &o->paths_given) ||
      get_count(obj, "seed", &o->seed, &o->seed_given) ||
      get_count(obj, "loans", &o->loans, &o->loans_given))
    return -1;
  const jv *k = field(obj, "kernel");
  if (!k || k->type != J_STRING || strlen(k->text) >= sizeof o->kernel) return -1;
  snprintf(o->kernel, sizeof o->kernel, "%s", k->text);
  return 0;
}

static int get_entry(const jv *obj, cas_manifest_entry *e) {
  memset(e, 0, sizeof *e);
  if (obj->type != J_OBJECT) return -1;
  if (get_string(obj, "name", &e->name) || get_string(obj, "scenario", &e->scenario) ||
      get_string(obj, "status", &e->status) || get_string(obj, "error", &e->error) ||
      get_string(obj, "output", &e->output) || get_string(obj, "cascade_commit", &e->cascade_commit) ||
      get_string(obj, "start_utc", &e->start_utc) || get_string(obj, "end_utc", &e->end_utc) ||
      get_hex(obj, "digest", e->digest) || get_overrides(field(obj, "overrides"), &e->overrides))
    return -1;
  if (!e->name || !e->status) return -1;
  const jv *el = field(obj, "elapsed_seconds");
  if (el && el->type == J_NUMBER) e->elapsed_seconds = strtod(el->text, NULL);
  const jv *in = field(obj, "inputs");
  if (!in || in->type != J_ARRAY) return -1;
  if (in->n) {
    e->inputs = calloc(in->n, sizeof *e->inputs);
    if (!e->inputs) return -1;
  }
  for (size_t i = 0; i < in->n; i++) {
    e->ninputs++;
    if (get_string(&in->items[i], "role", &e->inputs[i].role) ||
        get_string(&in->items[i], "path", &e->inputs[i].path) ||
        get_hex(&in->items[i], "sha256", e->inputs[i].sha256) || !e->inputs[i].role ||
        !e->inputs[i].path)
      return -1;
  }
  return 0;
}

cas_status cas_manifest_read(const char *path, cas_manifest_entry **entries, size_t *n,
                             cas_error *err) {
  *entries = NULL;
  *n = 0;
  FILE *f = fopen(path, "rb");
  if (!f) return cas_error_set(err, CAS_ERR_IO, "%s: cannot read: %s", path, strerror(errno));
  size_t cap = 1 << 16, len = 0;
  char *text = malloc(cap);
  size_t k;
  while (text && (k = fread(text + len, 1, cap - len, f)) > 0) {
    len += k;
    if (len == cap) {
      char *t = realloc(text, cap *= 2);
      if (!t) free(text);
      text = t;
    }
  }
  fclose(f);
  if (!text) return cas_error_set(err, CAS_ERR_NOMEM, "no memory to read %s", path);
  parser p = {text, text + len, path, text, 1, err, 0};
  jv root = {0};
  cas_status st = CAS_OK;
  if (parse_value(&p, &root, 0) == 0) {
    skip_ws(&p);
    if (p.s != p.end) perr(&p, "text after the document");
  }
  if (p.failed) st = err ? err->status : CAS_ERR_INPUT;
  const jv *list = st == CAS_OK ? field(&root, "scenarios") : NULL;
  if (st == CAS_OK && (!list || list->type != J_ARRAY))
    st = cas_error_set(err, CAS_ERR_INPUT, "%s: not a cascade batch manifest (no \"scenarios\" list)", path);
  cas_manifest_entry *es = NULL;
  if (st == CAS_OK && list->n) {
    es = calloc(list->n, sizeof *es);
    if (!es) st = cas_error_set(err, CAS_ERR_NOMEM, "no memory to read %s", path);
  }
  size_t got = 0;
  for (size_t i = 0; st == CAS_OK && i < list->n; i++) {
    got++;
    if (get_entry(&list->items[i], &es[i]))
      st = cas_error_set(err, CAS_ERR_INPUT, "%s: scenario entry %zu is incomplete or has a field of the wrong type", path, i + 1);
  }
  jv_free(&root);
  free(text);
  if (st != CAS_OK) {
    cas_manifest_entries_free(es, got);
    return st;
  }
  *entries = es;
  *n = got;
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
