/*
 * scenario.c: reading, resolving, checking and writing stress scenarios
 * (see scenario.h; every key is documented in scenarios/reference.yaml).
 *
 * Loading runs in three stages:
 *
 *  1. Each file is read byte-exact (the texts are kept for the result
 *     files), parsed with libyaml's document API and converted into a small
 *     tree of `node`s. Every node remembers its file and its 1-based line
 *     and column, so any later error, even one found after merging, points
 *     at the file that holds the offending text. Duplicate keys are caught
 *     here (libyaml accepts them).
 *  2. `extends: BASE` is followed (relative to the file's folder) before the
 *     child is merged over its base: mappings merge key by key, scalars and
 *     sequences given in the child replace the base's. Three keys are not
 *     inherited: `name` and `description` describe one file, and a child
 *     that names a portfolio source (`builtin` or `file`) replaces the
 *     base's source instead of adding a second one. A chain is identified
 *     by (device, inode), so a cycle is caught whatever the spelling of the
 *     paths.
 *  3. The merged tree is decoded against the schema: one function per
 *     level, the valid keys of each level in a constant table (the same
 *     table lists them in "unknown key" messages). Checks that need the
 *     whole scenario come last: the factor correlation matrix must be
 *     positive definite and every loan's systematic variance a'Ca below 1.
 *
 * Only the merged tree is checked: a value in a base that the child
 * replaces is never looked at. All tree memory lives in one arena, freed
 * when loading ends, so error paths need no clean-up of their own.
 */
#include "scenario.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <yaml.h>

#include "copula/copula.h"
#include "lgd/lgd.h"
#include "linalg.h"
#include "portfolio.h"
#include "textbuf.h"

/* ------------------------------------------------------------------------ */
/* Defaults                                                                  */
/* ------------------------------------------------------------------------ */

/*
 * Default factor loadings {global, region, sector} by sector; every
 * scenario may override them (reference.yaml). A loan's systematic
 * variance, its asset correlation with any loan of its own segment, is
 * a'Ca = global^2 + region^2 + sector^2: the three factors it loads on are
 * uncorrelated in every shipped scenario (baseline.yaml correlates region
 * factors with each other and sector factors with each other, which
 * raises the correlation between loans of different segments, not a'Ca).
 *
 * Targets: the Basel IRB asset correlation at the sector's mean PD
 * (Basel Framework CRE31.5-31.10; docs/CALIBRATION.md): corporate
 * 0.12-0.24, falling with PD, down to 0.08 for small firms (CRE31.6);
 * residential mortgages 0.15; other retail 0.03-0.16.
 *   tech_startup      small-firm corporate at PD 3%: 0.107-0.147   -> 0.14
 *   green             corporate at 0.8%: 0.200                     -> 0.19
 *   inclusive_micro   other retail at 2%: 0.095                    -> 0.10
 *   manufacturing     corporate at 1.1%: 0.189                     -> 0.18
 *   wholesale_retail  corporate at 1.5%: 0.177, many small firms   -> 0.16
 *   real_estate       corporate at 3.5%: 0.141 (0.151 as ADC)      -> 0.15
 *   construction      corporate at 1.5%: 0.177                     -> 0.17
 *   infrastructure    corporate at 0.5%: 0.213                     -> 0.21
 *   household         2/3 mortgages 0.15, 1/3 other retail 0.107   -> 0.13
 * The split of a'Ca between the global, region and sector factors
 * (shares on the right) is an ASSUMPTION: the sector cycle dominates
 * start-ups, property and construction; the national cycle manufacturing
 * and infrastructure; the local economy small firms and households.
 */
static const double default_loading[CAS_NSECTORS][CAS_NLOADINGS] = {
  /*                              global region sector     a'Ca   split */
  [CAS_SECTOR_TECH_STARTUP]    = {0.205, 0.145, 0.277}, /* 0.1398 30/15/55 */
  [CAS_SECTOR_GREEN]           = {0.276, 0.195, 0.276}, /* 0.1904 40/20/40 */
  [CAS_SECTOR_INCLUSIVE_MICRO] = {0.200, 0.200, 0.141}, /* 0.0999 40/40/20 */
  [CAS_SECTOR_MANUFACTURING]   = {0.315, 0.164, 0.232}, /* 0.1799 55/15/30 */
  [CAS_SECTOR_WHOLESALE_RETAIL]= {0.283, 0.200, 0.200}, /* 0.1601 50/25/25 */
  [CAS_SECTOR_REAL_ESTATE]     = {0.212, 0.173, 0.274}, /* 0.1499 30/20/50 */
  [CAS_SECTOR_CONSTRUCTION]    = {0.244, 0.184, 0.277}, /* 0.1701 35/20/45 */
  [CAS_SECTOR_INFRASTRUCTURE]  = {0.324, 0.251, 0.205}, /* 0.2100 50/30/20 */
  [CAS_SECTOR_HOUSEHOLD]       = {0.213, 0.228, 0.180}, /* 0.1298 35/40/25 */
};

enum {
  DEFAULT_SEED = 1,
  DEFAULT_PATHS = 10000,
  MIN_PATHS = 100,
  MAX_PATHS = 1000000000,
  MAX_LOANS = 100000000,
  DEFAULT_PORTFOLIO_SEED = 1,
  DEFAULT_NETWORK_SEED = 1,
  DEFAULT_MAX_ROUNDS = 50,
  MAX_MAX_ROUNDS = 1000,
  DEFAULT_CALIBRATION_ITERATIONS = 8,
  MAX_CALIBRATION_ITERATIONS = 50,
};
/* Limits on what one load may build: aliases can nest (or recurse) and
 * expand a short text into a huge tree. */
enum { MAX_DEPTH = 64, MAX_NODES = 200000 };

/* The schema: valid keys by level, in the order reference.yaml gives them. */
static const char *const top_keys[] = {
  "name", "description", "extends", "seed", "paths", "portfolio", "network", "model",
  "factor_shift_mode", "shocks", "contagion", NULL};
static const char *const portfolio_keys[] = {"builtin", "file", "loans", "seed", NULL};
static const char *const builtin_names[] = {"yrd", NULL};
static const char *const network_builtin_names[] = {"yrd", "none", NULL};
static const char *const model_keys[] = {
  "copula", "lgd", "loadings", "region_correlation", "sector_correlation", "correlations", NULL};
static const char *const loading_keys[] = {"global", "region", "sector", NULL};
static const char *const correlation_keys[] = {"factors", "value", NULL};
static const char *const shock_keys[] = {
  "region", "sector", "pd_multiplier", "lgd_add", "ead_multiplier", "factor_shift", NULL};
static const char *const contagion_keys[] = {
  "enabled", "supply_chain_scale", "guarantee_scale", "max_rounds", "spillover", "calibration",
  NULL};
static const char *const calibration_keys[] = {"mode", "paths", "iterations", NULL};
static const char *const network_keys[] = {"builtin", "file", "seed", NULL};
static const char *const spillover_keys[] = {"region", "sector", "factor", "beta", NULL};

/* ------------------------------------------------------------------------ */
/* Memory: an arena for the trees, a growing string for messages and output */
/* ------------------------------------------------------------------------ */

typedef struct arena {
  void **ptr;
  size_t n, cap;
} arena;

static void *arena_alloc(arena *a, size_t size) {
  if (a->n == a->cap) {
    size_t cap = a->cap ? 2 * a->cap : 64;
    void **p = realloc(a->ptr, cap * sizeof *p);
    if (p == NULL) return NULL;
    a->ptr = p;
    a->cap = cap;
  }
  void *p = calloc(1, size ? size : 1);
  if (p != NULL) a->ptr[a->n++] = p;
  return p;
}

static char *arena_strndup(arena *a, const char *s, size_t n) {
  char *p = arena_alloc(a, n + 1);
  if (p != NULL) memcpy(p, s, n);
  return p;
}

static void arena_free(arena *a) {
  for (size_t i = 0; i < a->n; i++) free(a->ptr[i]);
  free(a->ptr);
  a->ptr = NULL;
  a->n = a->cap = 0;
}

/* ------------------------------------------------------------------------ */
/* The tree                                                                  */
/* ------------------------------------------------------------------------ */

typedef enum node_kind { NODE_SCALAR, NODE_MAP, NODE_SEQ } node_kind;

typedef struct node node;
struct node {
  node_kind kind;
  int null;          /* scalar: empty, ~ or null written plain */
  const char *text;  /* scalar: the value, NUL-terminated */
  const char *file;  /* points into the loader's file paths */
  long line, col;    /* 1-based */
  size_t n;          /* map: pairs; seq: items */
  node **key;        /* map: key scalars */
  node **val;        /* map: values; seq: items */
};

/* One load: the error record, the arena and the files read so far (the
 * extends chain, scenario first). */
typedef struct loader {
  cas_error *err;
  arena mem;
  char **paths;
  char **texts;
  size_t nfiles, cap;
  struct { dev_t dev; ino_t ino; int known; } *ids;
  size_t nodes;
} loader;

__attribute__((format(printf, 5, 6)))
static cas_status fail_at(loader *ld, const char *file, long line, long col,
                          const char *fmt, ...) {
  char msg[CAS_ERROR_MSG_MAX];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  return cas_error_at(ld->err, CAS_ERR_INPUT, file, line, col, "%s", msg);
}

__attribute__((format(printf, 3, 4)))
static cas_status fail(loader *ld, const node *at, const char *fmt, ...) {
  char msg[CAS_ERROR_MSG_MAX];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  return cas_error_at(ld->err, CAS_ERR_INPUT, at->file, at->line, at->col, "%s", msg);
}

static cas_status nomem(loader *ld) {
  return cas_error_set(ld->err, CAS_ERR_NOMEM, "out of memory while loading a scenario");
}

/* What a node is, for "got X" in messages: the scalar quoted (shortened
 * on a UTF-8 boundary), or the kind of a collection. */
static const char *describe(const node *nd, char *buf, size_t size) {
  if (nd->kind == NODE_MAP) return "a mapping";
  if (nd->kind == NODE_SEQ) return "a sequence";
  if (nd->null) return "an empty value";
  size_t n = strlen(nd->text), max = 60;
  if (n <= max) {
    snprintf(buf, size, "'%s'", nd->text);
  } else {
    while (max > 0 && ((unsigned char)nd->text[max] & 0xC0) == 0x80) max--;
    snprintf(buf, size, "'%.*s...'", (int)max, nd->text);
  }
  return buf;
}

static void join_names(const char *const *names, char *buf, size_t size) {
  size_t used = 0;
  if (size) buf[0] = '\0';
  for (size_t i = 0; names[i] != NULL && used < size; i++) {
    int k = snprintf(buf + used, size - used, "%s%s", i ? ", " : "", names[i]);
    if (k < 0) break;
    used += (size_t)k;
  }
}

static int in_list(const char *const *names, const char *s) {
  for (size_t i = 0; names[i] != NULL; i++)
    if (strcmp(names[i], s) == 0) return 1;
  return 0;
}

static const node *map_find(const node *map, const char *key, size_t *at) {
  for (size_t i = 0; i < map->n; i++)
    if (strcmp(map->key[i]->text, key) == 0) {
      if (at) *at = i;
      return map->val[i];
    }
  return NULL;
}

static const node *map_key(const node *map, const char *key) {
  size_t i;
  return map_find(map, key, &i) ? map->key[i] : NULL;
}

/* ------------------------------------------------------------------------ */
/* Stage 1: text -> tree                                                     */
/* ------------------------------------------------------------------------ */

static int is_null_scalar(const yaml_node_t *yn) {
  if (yn->data.scalar.style != YAML_PLAIN_SCALAR_STYLE) return 0;
  const char *v = (const char *)yn->data.scalar.value;
  return v[0] == '\0' || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 ||
         strcmp(v, "Null") == 0 || strcmp(v, "NULL") == 0;
}

static cas_status convert(loader *ld, yaml_document_t *doc, yaml_node_t *yn,
                          const char *file, int depth, node **out) {
  node *nd = arena_alloc(&ld->mem, sizeof *nd);
  if (nd == NULL) return nomem(ld);
  nd->file = file;
  nd->line = (long)yn->start_mark.line + 1;
  nd->col = (long)yn->start_mark.column + 1;
  if (depth > MAX_DEPTH)
    return fail(ld, nd, "nesting deeper than %d levels (a recursive alias?)", MAX_DEPTH);
  if (++ld->nodes > MAX_NODES)
    return fail(ld, nd, "document too large: more than %d values after expanding aliases",
                MAX_NODES);

  switch (yn->type) {
  case YAML_SCALAR_NODE: {
    const char *v = (const char *)yn->data.scalar.value;
    nd->kind = NODE_SCALAR;
    if (strlen(v) != yn->data.scalar.length)
      return fail(ld, nd, "a NUL character is not allowed in a value");
    nd->null = is_null_scalar(yn);
    nd->text = arena_strndup(&ld->mem, v, yn->data.scalar.length);
    if (nd->text == NULL) return nomem(ld);
    break;
  }
  case YAML_SEQUENCE_NODE: {
    nd->kind = NODE_SEQ;
    nd->n = (size_t)(yn->data.sequence.items.top - yn->data.sequence.items.start);
    nd->val = arena_alloc(&ld->mem, nd->n * sizeof *nd->val);
    if (nd->val == NULL) return nomem(ld);
    for (size_t i = 0; i < nd->n; i++) {
      yaml_node_t *item = yaml_document_get_node(doc, yn->data.sequence.items.start[i]);
      cas_status st = convert(ld, doc, item, file, depth + 1, &nd->val[i]);
      if (st != CAS_OK) return st;
    }
    break;
  }
  case YAML_MAPPING_NODE: {
    nd->kind = NODE_MAP;
    nd->n = (size_t)(yn->data.mapping.pairs.top - yn->data.mapping.pairs.start);
    nd->key = arena_alloc(&ld->mem, nd->n * sizeof *nd->key);
    nd->val = arena_alloc(&ld->mem, nd->n * sizeof *nd->val);
    if (nd->key == NULL || nd->val == NULL) return nomem(ld);
    for (size_t i = 0; i < nd->n; i++) {
      yaml_node_pair_t *pair = &yn->data.mapping.pairs.start[i];
      cas_status st = convert(ld, doc, yaml_document_get_node(doc, pair->key), file,
                              depth + 1, &nd->key[i]);
      if (st != CAS_OK) return st;
      node *k = nd->key[i];
      if (k->kind != NODE_SCALAR) {
        char got[96];
        return fail(ld, k, "a key must be a plain name (got %s)", describe(k, got, sizeof got));
      }
      for (size_t j = 0; j < i; j++)
        if (strcmp(nd->key[j]->text, k->text) == 0)
          return fail(ld, k, "duplicate key '%s' (first given at line %ld, column %ld)",
                      k->text, nd->key[j]->line, nd->key[j]->col);
      st = convert(ld, doc, yaml_document_get_node(doc, pair->value), file, depth + 1,
                   &nd->val[i]);
      if (st != CAS_OK) return st;
    }
    break;
  }
  default:
    return cas_error_set(ld->err, CAS_ERR_INTERNAL, "%s: libyaml returned an empty node", file);
  }
  *out = nd;
  return CAS_OK;
}

/* A libyaml failure as "file:line:col: YAML syntax error: ...". Reader
 * errors (bad UTF-8, control characters) carry a byte offset instead of a
 * mark: count lines and characters up to it as libyaml's marks do. */
static cas_status syntax_error(loader *ld, const char *file, const char *text, size_t len,
                               const yaml_parser_t *parser) {
  if (parser->error == YAML_MEMORY_ERROR) return nomem(ld);
  const char *problem = parser->problem ? parser->problem : "unknown error";
  if (parser->error == YAML_READER_ERROR) {
    long line = 1, col = 1;
    for (size_t i = 0; i < parser->problem_offset && i < len; i++) {
      if (text[i] == '\n') {
        line++;
        col = 1;
      } else if (((unsigned char)text[i] & 0xC0) != 0x80) {
        col++;
      }
    }
    if (strstr(problem, "UTF-8") != NULL)
      return parser->problem_value >= 0
                 ? fail_at(ld, file, line, col, "invalid YAML text: %s 0x%02X (a scenario file must be UTF-8)",
                           problem, (unsigned)parser->problem_value)
                 : fail_at(ld, file, line, col, "invalid YAML text: %s (a scenario file must be UTF-8)",
                           problem);
    if (parser->problem_value >= 0)
      return fail_at(ld, file, line, col, "invalid YAML text: %s (character U+%04X)", problem,
                     (unsigned)parser->problem_value);
    return fail_at(ld, file, line, col, "invalid YAML text: %s", problem);
  }
  long line = (long)parser->problem_mark.line + 1, col = (long)parser->problem_mark.column + 1;
  if (parser->context != NULL)
    return fail_at(ld, file, line, col,
                   "YAML syntax error: %s (%s that starts at line %ld, column %ld)", problem,
                   parser->context, (long)parser->context_mark.line + 1,
                   (long)parser->context_mark.column + 1);
  return fail_at(ld, file, line, col, "YAML syntax error: %s", problem);
}

/* Parses one file's text into a tree; an empty file is an empty mapping. */
static cas_status parse_text(loader *ld, const char *file, const char *text, size_t len,
                             node **root) {
  yaml_parser_t parser;
  yaml_document_t doc, extra;
  cas_status st = CAS_OK;

  if (!yaml_parser_initialize(&parser)) return nomem(ld);
  yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
  if (!yaml_parser_load(&parser, &doc)) {
    st = syntax_error(ld, file, text, len, &parser);
    yaml_parser_delete(&parser);
    return st;
  }
  yaml_node_t *top = yaml_document_get_root_node(&doc);
  if (top == NULL) {
    node *nd = arena_alloc(&ld->mem, sizeof *nd);
    if (nd == NULL) {
      st = nomem(ld);
    } else {
      nd->kind = NODE_MAP;
      nd->file = file;
      nd->line = nd->col = 1;
      *root = nd;
    }
  } else {
    st = convert(ld, &doc, top, file, 0, root);
  }
  yaml_document_delete(&doc);

  if (st == CAS_OK && top != NULL) {
    if (!yaml_parser_load(&parser, &extra)) {
      st = syntax_error(ld, file, text, len, &parser);
    } else {
      if (yaml_document_get_root_node(&extra) != NULL)
        st = fail_at(ld, file, (long)extra.start_mark.line + 1,
                     (long)extra.start_mark.column + 1,
                     "a second YAML document: a scenario file holds exactly one");
      yaml_document_delete(&extra);
    }
  }
  yaml_parser_delete(&parser);
  return st;
}

/* ------------------------------------------------------------------------ */
/* Stage 2: files, extends and merging                                       */
/* ------------------------------------------------------------------------ */

/* Reads a whole file; returns 0 or an errno value. */
static int read_all(const char *path, char **text, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) return errno;
  size_t cap = 4096, n = 0;
  char *buf = malloc(cap);
  if (buf == NULL) {
    fclose(f);
    return ENOMEM;
  }
  for (;;) {
    if (n + 1 >= cap) {
      char *p = realloc(buf, cap * 2);
      if (p == NULL) {
        free(buf);
        fclose(f);
        return ENOMEM;
      }
      buf = p;
      cap *= 2;
    }
    size_t k = fread(buf + n, 1, cap - n - 1, f);
    n += k;
    if (k == 0) break;
  }
  int e = ferror(f) ? (errno ? errno : EIO) : 0;
  fclose(f);
  if (e) {
    free(buf);
    return e;
  }
  buf[n] = '\0';
  *text = buf;
  *len = n;
  return 0;
}

/* Appends a file to the chain; takes ownership of text. */
static cas_status add_file(loader *ld, const char *path, char *text, size_t *index) {
  if (ld->nfiles == ld->cap) {
    size_t cap = ld->cap ? 2 * ld->cap : 4;
    char **p = realloc(ld->paths, cap * sizeof *p);
    if (p != NULL) ld->paths = p;
    char **t = realloc(ld->texts, cap * sizeof *t);
    if (t != NULL) ld->texts = t;
    void *d = realloc(ld->ids, cap * sizeof *ld->ids);
    if (d != NULL) ld->ids = d;
    if (p == NULL || t == NULL || d == NULL) {
      free(text);
      return nomem(ld);
    }
    ld->cap = cap;
  }
  char *copy = strdup(path);
  if (copy == NULL) {
    free(text);
    return nomem(ld);
  }
  struct stat sb;
  size_t i = ld->nfiles++;
  ld->paths[i] = copy;
  ld->texts[i] = text;
  ld->ids[i].known = stat(path, &sb) == 0;
  ld->ids[i].dev = ld->ids[i].known ? sb.st_dev : 0;
  ld->ids[i].ino = ld->ids[i].known ? sb.st_ino : 0;
  *index = i;
  return CAS_OK;
}

/* path of `rel` against the folder of `file` (rel itself if absolute). */
static char *resolve_against(const char *file, const char *rel) {
  const char *slash = strrchr(file, '/');
  size_t dir = (rel[0] == '/' || slash == NULL) ? 0 : (size_t)(slash - file) + 1;
  size_t n = strlen(rel);
  char *p = malloc(dir + n + 1);
  if (p == NULL) return NULL;
  memcpy(p, file, dir);
  memcpy(p + dir, rel, n + 1);
  return p;
}

static node *new_map(loader *ld, const node *like, size_t cap) {
  node *m = arena_alloc(&ld->mem, sizeof *m);
  if (m == NULL) return NULL;
  *m = *like;
  m->n = 0;
  m->key = arena_alloc(&ld->mem, cap * sizeof *m->key);
  m->val = arena_alloc(&ld->mem, cap * sizeof *m->val);
  return m->key && m->val ? m : NULL;
}

/* MERGE_SOURCE: a mapping naming a source (portfolio, network) whose
 * builtin/file given in the child replaces the base's. */
enum merge_level { MERGE_TOP, MERGE_SOURCE, MERGE_OTHER };

/* child over base (both mappings): a new mapping in the child's place. */
static node *merge(loader *ld, const node *base, const node *child, enum merge_level level) {
  node *m = new_map(ld, child, base->n + child->n);
  if (m == NULL) return NULL;
  int child_source = level == MERGE_SOURCE &&
                     (map_find(child, "builtin", NULL) || map_find(child, "file", NULL));
  for (size_t i = 0; i < base->n; i++) {
    const char *k = base->key[i]->text;
    if (level == MERGE_TOP && (strcmp(k, "name") == 0 || strcmp(k, "description") == 0 ||
                               strcmp(k, "extends") == 0))
      continue;
    if (child_source && (strcmp(k, "builtin") == 0 || strcmp(k, "file") == 0)) continue;
    m->key[m->n] = base->key[i];
    m->val[m->n++] = base->val[i];
  }
  for (size_t i = 0; i < child->n; i++) {
    size_t at;
    node *v = child->val[i];
    const node *old = map_find(m, child->key[i]->text, &at);
    if (old == NULL) {
      m->key[m->n] = child->key[i];
      m->val[m->n++] = v;
      continue;
    }
    if (old->kind == NODE_MAP && v->kind == NODE_MAP) {
      const char *k = child->key[i]->text;
      enum merge_level sub = MERGE_OTHER;
      if (level == MERGE_TOP && (strcmp(k, "portfolio") == 0 || strcmp(k, "network") == 0))
        sub = MERGE_SOURCE;
      v = merge(ld, old, v, sub);
      if (v == NULL) return NULL;
    }
    m->key[at] = child->key[i];
    m->val[at] = v;
  }
  return m;
}

static void remove_key(node *map, const char *key) {
  size_t at;
  if (map_find(map, key, &at) == NULL) return;
  memmove(&map->key[at], &map->key[at + 1], (map->n - at - 1) * sizeof *map->key);
  memmove(&map->val[at], &map->val[at + 1], (map->n - at - 1) * sizeof *map->val);
  map->n--;
}

/* Parses file ld->paths[index] and its bases; *out is the merged tree. */
static cas_status load_chain(loader *ld, size_t index, size_t len, node **out) {
  const char *file = ld->paths[index];
  node *root = NULL;
  cas_status st = parse_text(ld, file, ld->texts[index], len, &root);
  if (st != CAS_OK) return st;
  if (root->kind != NODE_MAP) {
    char got[96];
    return fail(ld, root, "scenario: got %s, expected a mapping of scenario keys (name, paths, ...)",
                describe(root, got, sizeof got));
  }
  const node *ext = map_find(root, "extends", NULL);
  if (ext == NULL) {
    *out = root;
    return CAS_OK;
  }
  if (ext->kind != NODE_SCALAR || ext->null || ext->text[0] == '\0') {
    char got[96];
    return fail(ld, ext, "extends: got %s, expected the path of a base scenario file",
                describe(ext, got, sizeof got));
  }

  char *base_path = resolve_against(file, ext->text);
  if (base_path == NULL) return nomem(ld);
  struct stat sb;
  if (stat(base_path, &sb) != 0) {
    int e = errno;
    st = fail(ld, ext, "extends: cannot read base scenario '%s': %s", base_path, strerror(e));
    free(base_path);
    return st;
  }
  /* A base is read whole: a device or a pipe (/dev/zero, a FIFO) would
   * never end, so only regular files qualify, as for input files. */
  if (!S_ISREG(sb.st_mode)) {
    st = fail(ld, ext, "extends: base scenario '%s' is not a regular file (got a %s)", base_path,
              S_ISDIR(sb.st_mode) ? "directory" : S_ISFIFO(sb.st_mode) ? "pipe" : "device or socket");
    free(base_path);
    return st;
  }
  for (size_t i = 0; i < ld->nfiles; i++) {
    if (!ld->ids[i].known || ld->ids[i].dev != sb.st_dev || ld->ids[i].ino != sb.st_ino)
      continue;
    char chain[CAS_ERROR_MSG_MAX];
    size_t used = 0;
    chain[0] = '\0';
    for (size_t j = i; j < ld->nfiles && used < sizeof chain; j++) {
      int k = snprintf(chain + used, sizeof chain - used, "%s -> ", ld->paths[j]);
      if (k < 0) break;
      used += (size_t)k;
    }
    st = fail(ld, ext, "extends cycle: %s%s", chain, base_path);
    free(base_path);
    return st;
  }
  char *text;
  size_t base_len;
  int e = read_all(base_path, &text, &base_len);
  if (e == ENOMEM) {
    free(base_path);
    return nomem(ld);
  }
  if (e != 0) {
    st = fail(ld, ext, "extends: cannot read base scenario '%s': %s", base_path, strerror(e));
    free(base_path);
    return st;
  }
  size_t base_index;
  st = add_file(ld, base_path, text, &base_index);
  free(base_path);
  if (st != CAS_OK) return st;
  node *base;
  st = load_chain(ld, base_index, base_len, &base);
  if (st != CAS_OK) return st;
  remove_key(root, "extends");
  *out = merge(ld, base, root, MERGE_TOP);
  return *out ? CAS_OK : nomem(ld);
}

/* ------------------------------------------------------------------------ */
/* Stage 3: tree -> cas_scenario                                             */
/* ------------------------------------------------------------------------ */

/* Every key of map must be in keys; `where` names the level. */
static cas_status check_keys(loader *ld, const node *map, const char *where,
                             const char *const *keys) {
  for (size_t i = 0; i < map->n; i++) {
    if (in_list(keys, map->key[i]->text)) continue;
    char list[512];
    join_names(keys, list, sizeof list);
    return fail(ld, map->key[i], "unknown key '%s' in %s (expected one of: %s)",
                map->key[i]->text, where, list);
  }
  return CAS_OK;
}

static cas_status want_map(loader *ld, const node *nd, const char *what, const char *expected) {
  if (nd->kind == NODE_MAP) return CAS_OK;
  char got[96];
  return fail(ld, nd, "%s: got %s, expected %s", what, describe(nd, got, sizeof got), expected);
}

static cas_status want_seq(loader *ld, const node *nd, const char *what, const char *expected) {
  if (nd->kind == NODE_SEQ) return CAS_OK;
  char got[96];
  return fail(ld, nd, "%s: got %s, expected %s", what, describe(nd, got, sizeof got), expected);
}

/* A non-empty scalar, else an error naming what was expected. */
static cas_status want_text(loader *ld, const node *nd, const char *what, const char *expected) {
  if (nd->kind == NODE_SCALAR && !nd->null) return CAS_OK;
  char got[96];
  return fail(ld, nd, "%s: got %s, expected %s", what, describe(nd, got, sizeof got), expected);
}

static cas_status get_uint(loader *ld, const node *nd, const char *what, uint64_t min,
                           uint64_t max, uint64_t *out) {
  char expected[96];
  if (max == UINT64_MAX)
    snprintf(expected, sizeof expected, "an integer >= %" PRIu64, min);
  else
    snprintf(expected, sizeof expected, "an integer in [%" PRIu64 ", %" PRIu64 "]", min, max);
  cas_status st = want_text(ld, nd, what, expected);
  if (st != CAS_OK) return st;
  const char *s = nd->text;
  int ok = s[0] != '\0';
  for (const char *c = s; *c; c++)
    if (*c < '0' || *c > '9') ok = 0;
  unsigned long long v = 0;
  if (ok) {
    errno = 0;
    v = strtoull(s, NULL, 10);
    if (errno == ERANGE) ok = 0;
  }
  if (!ok || v < min || v > max) {
    char got[96];
    return fail(ld, nd, "%s: got %s, expected %s", what, describe(nd, got, sizeof got), expected);
  }
  *out = (uint64_t)v;
  return CAS_OK;
}

/* A finite number; bounds lo/hi, open if the flag says so. */
typedef struct range {
  double lo, hi;
  int lo_open, hi_open;
  const char *expected;
} range;

static const range R_LOADING = {-1, 1, 0, 0, "a number in [-1, 1]"};
static const range R_CORRELATION = {-1, 1, 1, 1, "a number in (-1, 1)"};
static const range R_POSITIVE = {0, INFINITY, 1, 1, "a number > 0"};
static const range R_PD_MULTIPLIER = {CAS_PD_MULTIPLIER_MIN, CAS_PD_MULTIPLIER_MAX, 0, 0,
                                      "a number in [0.001, 1000] (multiplies the odds PD/(1-PD))"};
static const range R_LGD_ADD = {-1, 1, 0, 0, "a number in [-1, 1] (fraction of EAD)"};
static const range R_SHIFT = {-10, 10, 0, 0,
                              "a number in [-10, 10] (standard deviations)"};

static cas_status get_number(loader *ld, const node *nd, const char *what, const range *r,
                             double *out) {
  cas_status st = want_text(ld, nd, what, r->expected);
  if (st != CAS_OK) return st;
  const char *s = nd->text;
  char *end;
  /* strtod reports ERANGE both on overflow (then v is infinite, rejected
   * below) and on underflow, where v is the correctly rounded tiny value:
   * that one is kept, or an exact subnormal such as 0x1p-1030 would load
   * but its resolved text (put_number) would not. */
  double v = strtod(s, &end);
  int ok = s[0] != '\0' && !isspace((unsigned char)s[0]) && *end == '\0' && isfinite(v);
  if (ok) {
    ok = (r->lo_open ? v > r->lo : v >= r->lo) && (r->hi_open ? v < r->hi : v <= r->hi);
  }
  if (!ok) {
    char got[96];
    return fail(ld, nd, "%s: got %s, expected %s", what, describe(nd, got, sizeof got),
                r->expected);
  }
  *out = v;
  return CAS_OK;
}

static int is_identifier(const char *s) {
  if (s[0] == '\0') return 0;
  for (const char *c = s; *c; c++)
    if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
          *c == '_' || *c == '.' || *c == '-'))
      return 0;
  return 1;
}

/* The default name: the scenario's file name without folder and .yaml. */
static char *file_stem(const char *path) {
  const char *slash = strrchr(path, '/');
  const char *b = slash ? slash + 1 : path;
  size_t n = strlen(b);
  if (n > 5 && strcmp(b + n - 5, ".yaml") == 0)
    n -= 5;
  else if (n > 4 && strcmp(b + n - 4, ".yml") == 0)
    n -= 4;
  return strndup(b, n);
}

static cas_status decode_header(loader *ld, const node *top, cas_scenario *sc) {
  const node *v;
  cas_status st;
  if ((v = map_find(top, "name", NULL)) != NULL) {
    st = want_text(ld, v, "name", "an identifier of letters, digits, '_', '.' and '-'");
    if (st != CAS_OK) return st;
    if (!is_identifier(v->text)) {
      char got[96];
      return fail(ld, v, "name: got %s, expected an identifier of letters, digits, '_', '.' and '-'",
                  describe(v, got, sizeof got));
    }
    sc->name = strdup(v->text);
  } else {
    sc->name = file_stem(sc->file_paths[0]);
    if (sc->name != NULL && !is_identifier(sc->name))
      return fail_at(ld, sc->file_paths[0], 0, 0,
                     "the scenario name defaults to the file name '%s', which is not an "
                     "identifier of letters, digits, '_', '.' and '-': set name or rename the file",
                     sc->name);
  }
  if (sc->name == NULL) return nomem(ld);

  if ((v = map_find(top, "description", NULL)) != NULL) {
    if (v->kind != NODE_SCALAR) {
      char got[96];
      return fail(ld, v, "description: got %s, expected a text", describe(v, got, sizeof got));
    }
    sc->description = strdup(v->null ? "" : v->text);
  } else {
    sc->description = strdup("");
  }
  if (sc->description == NULL) return nomem(ld);

  sc->seed = DEFAULT_SEED;
  if ((v = map_find(top, "seed", NULL)) != NULL &&
      (st = get_uint(ld, v, "seed", 0, UINT64_MAX, &sc->seed)) != CAS_OK)
    return st;
  sc->paths = DEFAULT_PATHS;
  if ((v = map_find(top, "paths", NULL)) != NULL &&
      (st = get_uint(ld, v, "paths", MIN_PATHS, MAX_PATHS, &sc->paths)) != CAS_OK)
    return st;
  return CAS_OK;
}

/* An input file named by a scenario: resolved against the folder of the
 * file that names it, made absolute (symbolic links resolved) and checked
 * to be a readable regular file now, so that the error points at the key. */
static cas_status input_file(loader *ld, const node *nd, const char *what, const char *expected,
                             char **out) {
  cas_status st = want_text(ld, nd, what, expected);
  if (st != CAS_OK) return st;
  char *joined = resolve_against(nd->file, nd->text);
  if (joined == NULL) return nomem(ld);
  char *real = realpath(joined, NULL);
  if (real == NULL) {
    int e = errno;
    st = fail(ld, nd, "%s: cannot read '%s': %s", what, joined, strerror(e));
    free(joined);
    return st;
  }
  free(joined);
  struct stat sb;
  if (stat(real, &sb) != 0 || !S_ISREG(sb.st_mode)) {
    st = fail(ld, nd, "%s: '%s' is not a regular file", what, real);
    free(real);
    return st;
  }
  *out = real;
  return CAS_OK;
}

/* At most one of builtin (one of names) or file in a source mapping.
 * *builtin_index is the index of the builtin name given (-1: none given);
 * *file_out the resolved file (NULL: none given). */
static cas_status decode_source(loader *ld, const node *p, const char *where, const char *noun,
                                const char *const *names, const char *file_expected,
                                int *builtin_index, char **file_out) {
  const node *builtin = map_find(p, "builtin", NULL), *file = map_find(p, "file", NULL);
  char what[64];
  cas_status st;
  if (builtin && file) {
    const node *kb = map_key(p, "builtin"), *kf = map_key(p, "file");
    const node *later = (kf->line > kb->line || (kf->line == kb->line && kf->col > kb->col))
                            ? kf : kb;
    return fail(ld, later, "%s: give either builtin or file, not both", where);
  }
  *builtin_index = -1;
  if (builtin) {
    char list[64];
    join_names(names, list, sizeof list);
    snprintf(what, sizeof what, "%s.builtin", where);
    char expected[64];
    snprintf(expected, sizeof expected, "the name of a built-in %s", noun);
    if ((st = want_text(ld, builtin, what, expected)) != CAS_OK) return st;
    for (int i = 0; names[i] != NULL; i++)
      if (strcmp(names[i], builtin->text) == 0) *builtin_index = i;
    if (*builtin_index < 0)
      return fail(ld, builtin, "%s: unknown built-in %s '%s' (expected one of: %s)", what, noun,
                  builtin->text, list);
  }
  if (file) {
    snprintf(what, sizeof what, "%s.file", where);
    if ((st = input_file(ld, file, what, file_expected, file_out)) != CAS_OK) return st;
  }
  return CAS_OK;
}

static cas_status decode_portfolio(loader *ld, const node *top, cas_scenario *sc) {
  sc->portfolio.source = CAS_PORTFOLIO_BUILTIN;
  sc->portfolio.loans = CAS_PORTFOLIO_DEFAULT_LOANS;
  sc->portfolio.seed = DEFAULT_PORTFOLIO_SEED;
  const node *p = map_find(top, "portfolio", NULL);
  if (p == NULL) return CAS_OK;
  cas_status st = want_map(ld, p, "portfolio", "a mapping (builtin or file, loans, seed)");
  if (st != CAS_OK) return st;
  if ((st = check_keys(ld, p, "portfolio", portfolio_keys)) != CAS_OK) return st;

  int builtin;
  if ((st = decode_source(ld, p, "portfolio", "portfolio", builtin_names,
                          "the path of a portfolio CSV file", &builtin, &sc->portfolio.file)) !=
      CAS_OK)
    return st;
  if (sc->portfolio.file != NULL) sc->portfolio.source = CAS_PORTFOLIO_FILE;
  const node *v;
  if ((v = map_find(p, "loans", NULL)) != NULL &&
      (st = get_uint(ld, v, "portfolio.loans", 1, MAX_LOANS, &sc->portfolio.loans)) != CAS_OK)
    return st;
  if ((v = map_find(p, "seed", NULL)) != NULL &&
      (st = get_uint(ld, v, "portfolio.seed", 0, UINT64_MAX, &sc->portfolio.seed)) != CAS_OK)
    return st;
  return CAS_OK;
}

static cas_status decode_network(loader *ld, const node *top, cas_scenario *sc) {
  sc->network.source = CAS_NETWORK_NONE;
  sc->network.seed = DEFAULT_NETWORK_SEED;
  const node *v = map_find(top, "network", NULL);
  if (v == NULL) return CAS_OK;
  cas_status st;
  int builtin;
  if ((st = want_map(ld, v, "network", "a mapping (builtin or file, seed)")) != CAS_OK ||
      (st = check_keys(ld, v, "network", network_keys)) != CAS_OK ||
      (st = decode_source(ld, v, "network", "network", network_builtin_names,
                          "the path of a links CSV file", &builtin, &sc->network.file)) != CAS_OK)
    return st;
  if (sc->network.file != NULL) sc->network.source = CAS_NETWORK_FILE;
  else if (builtin >= 0 && strcmp(network_builtin_names[builtin], "yrd") == 0)
    sc->network.source = CAS_NETWORK_BUILTIN;
  else if (builtin < 0)
    return fail(ld, v, "network: got a mapping without builtin or file, expected builtin: yrd, "
                       "builtin: none or file: LINKS.csv");
  const node *seed = map_find(v, "seed", NULL);
  if (seed && (st = get_uint(ld, seed, "network.seed", 0, UINT64_MAX, &sc->network.seed)) != CAS_OK)
    return st;
  return CAS_OK;
}

/* Where the checks on the whole model point when no single value is to
 * blame: the first of these keys present, else the model mapping, else the
 * top of the scenario file. */
static const node *blame(const node *top, const node *model, const char *const *keys) {
  if (model != NULL) {
    for (size_t i = 0; keys[i] != NULL; i++) {
      const node *k = map_key(model, keys[i]);
      if (k != NULL) return k;
    }
    return map_key(top, "model");
  }
  return top;
}

static cas_status decode_loadings(loader *ld, const node *loadings, cas_scenario *sc) {
  cas_status st = want_map(ld, loadings, "model.loadings",
                           "a mapping of sector names to {global, region, sector}");
  if (st != CAS_OK) return st;
  for (size_t i = 0; i < loadings->n; i++) {
    const char *name = loadings->key[i]->text;
    int s = cas_sector_index(name);
    if (s < 0) {
      char list[512];
      cas_sector_list(list, sizeof list);
      return fail(ld, loadings->key[i],
                  "unknown sector '%s' in model.loadings (expected one of: %s)", name, list);
    }
    char where[96];
    snprintf(where, sizeof where, "model.loadings.%s", name);
    const node *a = loadings->val[i];
    if ((st = want_map(ld, a, where, "a mapping with keys global, region, sector")) != CAS_OK)
      return st;
    if ((st = check_keys(ld, a, where, loading_keys)) != CAS_OK) return st;
    for (int k = 0; k < CAS_NLOADINGS; k++) {
      const node *v = map_find(a, loading_keys[k], NULL);
      if (v == NULL) continue;
      char what[128];
      snprintf(what, sizeof what, "%s.%s", where, loading_keys[k]);
      if ((st = get_number(ld, v, what, &R_LOADING, &sc->loading[s][k])) != CAS_OK) return st;
    }
  }
  return CAS_OK;
}

static cas_status factor_name(loader *ld, const node *nd, const char *what, int *out) {
  cas_status st = want_text(ld, nd, what, "a factor name");
  if (st != CAS_OK) return st;
  int f = cas_factor_index(nd->text);
  if (f < 0) {
    char list[1024];
    cas_factor_list(list, sizeof list);
    return fail(ld, nd, "%s: unknown factor '%s' (expected one of: %s)", what, nd->text, list);
  }
  *out = f;
  return CAS_OK;
}

static cas_status decode_correlations(loader *ld, const node *model, cas_scenario *sc) {
  double *c = &sc->factor_corr[0][0];
  for (int i = 0; i < CAS_NFACTORS; i++)
    for (int j = 0; j < CAS_NFACTORS; j++) c[i * CAS_NFACTORS + j] = i == j ? 1.0 : 0.0;
  if (model == NULL) return CAS_OK;

  const node *v;
  cas_status st;
  double rho;
  if ((v = map_find(model, "region_correlation", NULL)) != NULL) {
    if ((st = get_number(ld, v, "model.region_correlation", &R_CORRELATION, &rho)) != CAS_OK)
      return st;
    for (int i = 0; i < CAS_NREGIONS; i++)
      for (int j = 0; j < CAS_NREGIONS; j++)
        if (i != j) sc->factor_corr[CAS_FACTOR_REGION0 + i][CAS_FACTOR_REGION0 + j] = rho;
  }
  if ((v = map_find(model, "sector_correlation", NULL)) != NULL) {
    if ((st = get_number(ld, v, "model.sector_correlation", &R_CORRELATION, &rho)) != CAS_OK)
      return st;
    for (int i = 0; i < CAS_NSECTORS; i++)
      for (int j = 0; j < CAS_NSECTORS; j++)
        if (i != j) sc->factor_corr[CAS_FACTOR_SECTOR0 + i][CAS_FACTOR_SECTOR0 + j] = rho;
  }
  const node *list = map_find(model, "correlations", NULL);
  if (list == NULL) return CAS_OK;
  if ((st = want_seq(ld, list, "model.correlations",
                     "a sequence of {factors: [F1, F2], value: rho}")) != CAS_OK)
    return st;
  const node *seen[CAS_NFACTORS][CAS_NFACTORS] = {{NULL}};
  for (size_t i = 0; i < list->n; i++) {
    const node *item = list->val[i];
    char where[64], what[96];
    snprintf(where, sizeof where, "model.correlations[%zu]", i);
    if ((st = want_map(ld, item, where, "a mapping {factors: [F1, F2], value: rho}")) != CAS_OK)
      return st;
    if ((st = check_keys(ld, item, where, correlation_keys)) != CAS_OK) return st;
    const node *factors = map_find(item, "factors", NULL), *value = map_find(item, "value", NULL);
    if (factors == NULL || value == NULL)
      return fail(ld, item, "%s: missing key '%s' (a correlation needs factors and value)", where,
                  factors == NULL ? "factors" : "value");
    snprintf(what, sizeof what, "%s.factors", where);
    if (factors->kind != NODE_SEQ || factors->n != 2) {
      char got[96];
      if (factors->kind == NODE_SEQ) snprintf(got, sizeof got, "%zu names", factors->n);
      return fail(ld, factors, "%s: got %s, expected a pair of factor names [F1, F2]", what,
                  factors->kind == NODE_SEQ ? got : describe(factors, got, sizeof got));
    }
    int f[2];
    for (int k = 0; k < 2; k++)
      if ((st = factor_name(ld, factors->val[k], what, &f[k])) != CAS_OK) return st;
    if (f[0] == f[1])
      return fail(ld, factors->val[1],
                  "%s: a factor's correlation with itself is always 1 (got '%s' twice)", what,
                  factors->val[1]->text);
    if (seen[f[0]][f[1]] != NULL)
      return fail(ld, factors, "%s: the correlation of %s and %s is already given at line %ld, column %ld",
                  what, factors->val[0]->text, factors->val[1]->text, seen[f[0]][f[1]]->line,
                  seen[f[0]][f[1]]->col);
    seen[f[0]][f[1]] = seen[f[1]][f[0]] = factors;
    snprintf(what, sizeof what, "%s.value", where);
    if ((st = get_number(ld, value, what, &R_CORRELATION, &rho)) != CAS_OK) return st;
    sc->factor_corr[f[0]][f[1]] = sc->factor_corr[f[1]][f[0]] = rho;
  }
  return CAS_OK;
}

static cas_status decode_model(loader *ld, const node *top, cas_scenario *sc) {
  memcpy(sc->loading, default_loading, sizeof sc->loading);
  snprintf(sc->copula, sizeof sc->copula, "%s", cas_copula_gaussian.info.name);
  snprintf(sc->lgd_model, sizeof sc->lgd_model, "%s", cas_lgd_fixed.info.name);

  const node *model = map_find(top, "model", NULL), *v;
  cas_status st;
  if (model != NULL) {
    if ((st = want_map(ld, model, "model", "a mapping (copula, lgd, loadings, correlations)")) !=
        CAS_OK)
      return st;
    if ((st = check_keys(ld, model, "model", model_keys)) != CAS_OK) return st;
    if ((v = map_find(model, "copula", NULL)) != NULL) {
      if ((st = want_text(ld, v, "model.copula", "a copula model name")) != CAS_OK) return st;
      if (cas_copula_lookup(v->text) == NULL) {
        char list[512];
        cas_copula_list(list, sizeof list);
        return fail(ld, v, "model.copula: unknown copula model '%s' (expected one of: %s)",
                    v->text, list);
      }
      snprintf(sc->copula, sizeof sc->copula, "%s", v->text);
    }
    if ((v = map_find(model, "lgd", NULL)) != NULL) {
      if ((st = want_text(ld, v, "model.lgd", "an LGD model name")) != CAS_OK) return st;
      if (cas_lgd_lookup(v->text) == NULL) {
        char list[512];
        cas_lgd_list(list, sizeof list);
        return fail(ld, v, "model.lgd: unknown LGD model '%s' (expected one of: %s)", v->text,
                    list);
      }
      snprintf(sc->lgd_model, sizeof sc->lgd_model, "%s", v->text);
    }
    if ((v = map_find(model, "loadings", NULL)) != NULL &&
        (st = decode_loadings(ld, v, sc)) != CAS_OK)
      return st;
  }
  if ((st = decode_correlations(ld, model, sc)) != CAS_OK) return st;

  /* The whole model: C positive definite, then a'Ca < 1 for every loan. */
  double chol[CAS_NFACTORS * CAS_NFACTORS];
  int pivot = cas_cholesky(CAS_NFACTORS, &sc->factor_corr[0][0], chol);
  if (pivot != 0) {
    static const char *const corr_keys[] = {"correlations", "sector_correlation",
                                            "region_correlation", NULL};
    char name[CAS_FACTOR_NAME_MAX];
    cas_factor_name(pivot - 1, name, sizeof name);
    return fail(ld, blame(top, model, corr_keys),
                "the factor correlation matrix is not positive definite: factor '%s' is "
                "(nearly) determined by the factors before it; lower model.region_correlation, "
                "model.sector_correlation or the pairs in model.correlations",
                name);
  }
  static const char *const loading_blame[] = {"loadings", "correlations", NULL};
  for (int s = 0; s < CAS_NSECTORS; s++)
    for (int r = 0; r < CAS_NREGIONS; r++) {
      double var = cas_scenario_systematic_variance(sc, r, s);
      if (var < 1.0) continue;
      const node *at = blame(top, model, loading_blame);
      const node *loadings = model ? map_find(model, "loadings", NULL) : NULL;
      if (loadings != NULL && loadings->kind == NODE_MAP && map_key(loadings, cas_sector_names[s]))
        at = map_key(loadings, cas_sector_names[s]);
      char seg[CAS_SEGMENT_NAME_MAX];
      cas_segment_name(cas_segment(r, s), seg, sizeof seg);
      return fail(ld, at,
                  "model.loadings.%s: the systematic variance a'Ca of %s is %.6g; it must be "
                  "< 1 (the idiosyncratic weight is sqrt(1 - a'Ca))",
                  cas_sector_names[s], seg, var);
    }
  return CAS_OK;
}

int cas_shock_applies(const cas_shock *sh, int segment) {
  return (sh->region < 0 || sh->region == cas_segment_region(segment)) &&
         (sh->sector < 0 || sh->sector == cas_segment_sector(segment));
}

/* The PD multipliers that apply to a segment multiply (the odds). Their
 * running product, in shock order as the plan folds them, must stay in the
 * range of one multiplier: the folded odds multiplier is then a sane finite
 * number for every segment, whatever the number of shocks. */
static cas_status check_pd_products(loader *ld, const node *list, const cas_scenario *sc) {
  double product[CAS_NSEGMENTS];
  for (int s = 0; s < CAS_NSEGMENTS; s++) product[s] = 1.0;
  for (size_t i = 0; i < sc->nshocks; i++) {
    const cas_shock *sh = &sc->shocks[i];
    for (int s = 0; s < CAS_NSEGMENTS; s++) {
      if (!cas_shock_applies(sh, s)) continue;
      product[s] *= sh->pd_multiplier;
      if (product[s] >= CAS_PD_MULTIPLIER_MIN && product[s] <= CAS_PD_MULTIPLIER_MAX) continue;
      const node *v = map_find(list->val[i], "pd_multiplier", NULL);
      char seg[CAS_SEGMENT_NAME_MAX];
      cas_segment_name(s, seg, sizeof seg);
      return fail(ld, v,
                  "shocks[%zu].pd_multiplier: with the shocks before it, the PD multipliers "
                  "that apply to %s multiply to %.6g (got '%s', expected a product in "
                  "[0.001, 1000])",
                  i, seg, product[s], v->text);
    }
  }
  return CAS_OK;
}

const char *const cas_shift_mode_names[] = {
  [CAS_SHIFT_CONDITIONAL] = "conditional",
  [CAS_SHIFT_ISOLATED] = "isolated",
  NULL};

static cas_status decode_shift_mode(loader *ld, const node *top, cas_scenario *sc) {
  sc->factor_shift_mode = CAS_SHIFT_CONDITIONAL;
  const node *v = map_find(top, "factor_shift_mode", NULL);
  if (v == NULL) return CAS_OK;
  char list[64];
  join_names(cas_shift_mode_names, list, sizeof list);
  char expected[96];
  snprintf(expected, sizeof expected, "one of: %s", list);
  cas_status st = want_text(ld, v, "factor_shift_mode", expected);
  if (st != CAS_OK) return st;
  for (int m = 0; cas_shift_mode_names[m] != NULL; m++)
    if (strcmp(v->text, cas_shift_mode_names[m]) == 0) {
      sc->factor_shift_mode = (cas_shift_mode)m;
      return CAS_OK;
    }
  return fail(ld, v, "factor_shift_mode: unknown mode '%s' (expected one of: %s)", v->text, list);
}

static cas_status decode_shocks(loader *ld, const node *top, cas_scenario *sc) {
  cas_status st = decode_shift_mode(ld, top, sc);
  if (st != CAS_OK) return st;
  const node *list = map_find(top, "shocks", NULL);
  if (list == NULL) return CAS_OK;
  st = want_seq(ld, list, "shocks", "a sequence of shocks ([] for none)");
  if (st != CAS_OK) return st;
  if (list->n == 0) return CAS_OK;
  sc->shocks = calloc(list->n, sizeof *sc->shocks);
  if (sc->shocks == NULL) return nomem(ld);

  for (size_t i = 0; i < list->n; i++) {
    const node *item = list->val[i], *v;
    cas_shock *sh = &sc->shocks[i];
    char where[48], what[96];
    snprintf(where, sizeof where, "shocks[%zu]", i);
    if ((st = want_map(ld, item, where, "a mapping (a shock)")) != CAS_OK) return st;
    if ((st = check_keys(ld, item, where, shock_keys)) != CAS_OK) return st;
    *sh = (cas_shock){.region = -1, .sector = -1, .pd_multiplier = 1.0, .lgd_add = 0.0,
                      .ead_multiplier = 1.0, .factor_shift = 0.0, .line = item->line,
                      .col = item->col, .file = item->file};
    sc->nshocks = i + 1;

    if ((v = map_find(item, "region", NULL)) != NULL) {
      snprintf(what, sizeof what, "%s.region", where);
      if ((st = want_text(ld, v, what, "a region name")) != CAS_OK) return st;
      if ((sh->region = cas_region_index(v->text)) < 0) {
        char names[256];
        cas_region_list(names, sizeof names);
        return fail(ld, v, "%s: unknown region '%s' (expected one of: %s)", what, v->text, names);
      }
    }
    if ((v = map_find(item, "sector", NULL)) != NULL) {
      snprintf(what, sizeof what, "%s.sector", where);
      if ((st = want_text(ld, v, what, "a sector name")) != CAS_OK) return st;
      if ((sh->sector = cas_sector_index(v->text)) < 0) {
        char names[512];
        cas_sector_list(names, sizeof names);
        return fail(ld, v, "%s: unknown sector '%s' (expected one of: %s)", what, v->text, names);
      }
    }
    static const struct { const char *key; const range *r; size_t offset; } effects[] = {
      {"pd_multiplier", &R_PD_MULTIPLIER, offsetof(cas_shock, pd_multiplier)},
      {"lgd_add", &R_LGD_ADD, offsetof(cas_shock, lgd_add)},
      {"ead_multiplier", &R_POSITIVE, offsetof(cas_shock, ead_multiplier)},
      {"factor_shift", &R_SHIFT, offsetof(cas_shock, factor_shift)},
    };
    int neffects = 0;
    for (size_t k = 0; k < sizeof effects / sizeof effects[0]; k++) {
      if ((v = map_find(item, effects[k].key, NULL)) == NULL) continue;
      snprintf(what, sizeof what, "%s.%s", where, effects[k].key);
      double *field = (double *)((char *)sh + effects[k].offset);
      if ((st = get_number(ld, v, what, effects[k].r, field)) != CAS_OK) return st;
      neffects++;
    }
    if (neffects == 0)
      return fail(ld, item,
                  "%s: a shock needs at least one effect (pd_multiplier, lgd_add, "
                  "ead_multiplier or factor_shift)",
                  where);
    if (map_find(item, "factor_shift", NULL) && sh->region >= 0 && sh->sector >= 0)
      return fail(ld, map_key(item, "factor_shift"),
                  "%s.factor_shift: a shock with both region and sector cannot shift a factor "
                  "(factor_shift moves the sector's factor if only sector is given, the "
                  "region's if only region is given, the global factor if neither)",
                  where);
  }
  return check_pd_products(ld, list, sc);
}

static const range R_SCALE = {0, 10, 0, 0, "a number in [0, 10]"};
static const range R_BETA = {0, 1000, 0, 0, "a number in [0, 1000] (SD per unit default rate)"};

static cas_status decode_spillover(loader *ld, const node *list, cas_scenario *sc) {
  cas_status st = want_seq(ld, list, "contagion.spillover",
                           "a sequence of {region, sector, factor, beta} ([] for none)");
  if (st != CAS_OK || list->n == 0) return st;
  sc->contagion.spillover = calloc(list->n, sizeof *sc->contagion.spillover);
  if (sc->contagion.spillover == NULL) return nomem(ld);
  for (size_t i = 0; i < list->n; i++) {
    const node *item = list->val[i], *v;
    cas_spillover *sp = &sc->contagion.spillover[i];
    char where[64], what[96];
    snprintf(where, sizeof where, "contagion.spillover[%zu]", i);
    if ((st = want_map(ld, item, where, "a mapping {region, sector, factor, beta}")) != CAS_OK)
      return st;
    if ((st = check_keys(ld, item, where, spillover_keys)) != CAS_OK) return st;
    *sp = (cas_spillover){.line = item->line, .col = item->col, .file = item->file};
    sc->contagion.nspillover = i + 1;
    int region = -1, sector = -1;
    for (int k = 0; k < 4; k++) {
      const char *key = spillover_keys[k];
      if ((v = map_find(item, key, NULL)) == NULL)
        return fail(ld, item, "%s: missing '%s' (a spill-over names the source segment's region "
                              "and sector, the factor it moves and beta)", where, key);
    }
    v = map_find(item, "region", NULL);
    snprintf(what, sizeof what, "%s.region", where);
    if ((st = want_text(ld, v, what, "a region name")) != CAS_OK) return st;
    if ((region = cas_region_index(v->text)) < 0) {
      char names[256];
      cas_region_list(names, sizeof names);
      return fail(ld, v, "%s: unknown region '%s' (expected one of: %s)", what, v->text, names);
    }
    v = map_find(item, "sector", NULL);
    snprintf(what, sizeof what, "%s.sector", where);
    if ((st = want_text(ld, v, what, "a sector name")) != CAS_OK) return st;
    if ((sector = cas_sector_index(v->text)) < 0) {
      char names[512];
      cas_sector_list(names, sizeof names);
      return fail(ld, v, "%s: unknown sector '%s' (expected one of: %s)", what, v->text, names);
    }
    sp->segment = cas_segment(region, sector);
    snprintf(what, sizeof what, "%s.factor", where);
    if ((st = factor_name(ld, map_find(item, "factor", NULL), what, &sp->factor)) != CAS_OK)
      return st;
    snprintf(what, sizeof what, "%s.beta", where);
    if ((st = get_number(ld, map_find(item, "beta", NULL), what, &R_BETA, &sp->beta)) != CAS_OK)
      return st;
  }
  return CAS_OK;
}

const char *const cas_calibration_mode_names[CAS_NCALIBRATION_MODES] = {"pd_preserving",
                                                                         "on_top"};

static cas_status decode_calibration(loader *ld, const node *v, cas_scenario *sc) {
  cas_status st = want_map(ld, v, "contagion.calibration", "a mapping (mode, paths, iterations)");
  if (st != CAS_OK || (st = check_keys(ld, v, "contagion.calibration", calibration_keys)) != CAS_OK)
    return st;
  const node *m = map_find(v, "mode", NULL);
  if (m != NULL) {
    char list[96];
    snprintf(list, sizeof list, "%s, %s", cas_calibration_mode_names[0],
             cas_calibration_mode_names[1]);
    if ((st = want_text(ld, m, "contagion.calibration.mode", list)) != CAS_OK) return st;
    int mode = -1;
    for (int i = 0; i < CAS_NCALIBRATION_MODES; i++)
      if (strcmp(m->text, cas_calibration_mode_names[i]) == 0) mode = i;
    if (mode < 0)
      return fail(ld, m, "contagion.calibration.mode: unknown mode '%s' (expected one of: %s)",
                  m->text, list);
    sc->contagion.calibration = (cas_calibration_mode)mode;
  }
  const node *n;
  if ((n = map_find(v, "paths", NULL)) != NULL) {
    if (n->kind == NODE_SCALAR && !n->null && strcmp(n->text, "auto") == 0) {
      sc->contagion.calibration_paths = 0;
    } else {
      char expected[96], got[96];
      snprintf(expected, sizeof expected, "auto or an integer in [%d, %d]", MIN_PATHS, MAX_PATHS);
      int ok = n->kind == NODE_SCALAR && !n->null && n->text[0] != '\0';
      for (const char *p = n->text; ok && *p; p++) ok = *p >= '0' && *p <= '9';
      errno = 0;
      unsigned long long paths = ok ? strtoull(n->text, NULL, 10) : 0;
      if (!ok || errno == ERANGE || paths < MIN_PATHS || paths > MAX_PATHS)
        return fail(ld, n, "contagion.calibration.paths: got %s, expected %s",
                    describe(n, got, sizeof got), expected);
      sc->contagion.calibration_paths = (uint64_t)paths;
    }
  }
  if ((n = map_find(v, "iterations", NULL)) != NULL) {
    uint64_t it;
    if ((st = get_uint(ld, n, "contagion.calibration.iterations", 1, MAX_CALIBRATION_ITERATIONS,
                       &it)) != CAS_OK)
      return st;
    sc->contagion.calibration_iterations = (uint32_t)it;
  }
  return CAS_OK;
}

static cas_status decode_contagion(loader *ld, const node *top, cas_scenario *sc) {
  sc->contagion.enabled = 0;
  sc->contagion.supply_chain_scale = 1.0;
  sc->contagion.guarantee_scale = 1.0;
  sc->contagion.max_rounds = DEFAULT_MAX_ROUNDS;
  sc->contagion.calibration = CAS_CALIBRATION_PD_PRESERVING;
  sc->contagion.calibration_paths = 0;   /* auto */
  sc->contagion.calibration_iterations = DEFAULT_CALIBRATION_ITERATIONS;
  const node *c = map_find(top, "contagion", NULL), *v;
  if (c == NULL) return CAS_OK;
  cas_status st = want_map(ld, c, "contagion", "a mapping (enabled, scales, spillover, ...)");
  if (st != CAS_OK) return st;
  /* The network used to live here; say where it went. */
  if (map_find(c, "network", NULL) != NULL)
    return fail(ld, map_key(c, "network"),
                "unknown key 'network' in contagion (the network is a top-level key of the "
                "scenario, next to portfolio: move it there, e.g. network: {builtin: yrd, seed: 1})");
  if ((st = check_keys(ld, c, "contagion", contagion_keys)) != CAS_OK) return st;
  const node *enabled = map_find(c, "enabled", NULL);
  if (enabled != NULL) {
    if ((st = want_text(ld, enabled, "contagion.enabled", "true or false")) != CAS_OK) return st;
    if (strcmp(enabled->text, "true") == 0) sc->contagion.enabled = 1;
    else if (strcmp(enabled->text, "false") != 0)
      return fail(ld, enabled, "contagion.enabled: got '%s', expected true or false",
                  enabled->text);
  }
  if (sc->contagion.enabled && sc->network.source == CAS_NETWORK_NONE)
    return fail(ld, enabled,
                "contagion.enabled: contagion needs a network to spread along (got no network, "
                "expected a top-level network: {builtin: yrd} or network: {file: LINKS.csv})");
  if ((v = map_find(c, "supply_chain_scale", NULL)) != NULL &&
      (st = get_number(ld, v, "contagion.supply_chain_scale", &R_SCALE,
                       &sc->contagion.supply_chain_scale)) != CAS_OK)
    return st;
  if ((v = map_find(c, "guarantee_scale", NULL)) != NULL &&
      (st = get_number(ld, v, "contagion.guarantee_scale", &R_SCALE,
                       &sc->contagion.guarantee_scale)) != CAS_OK)
    return st;
  if ((v = map_find(c, "max_rounds", NULL)) != NULL) {
    uint64_t r;
    if ((st = get_uint(ld, v, "contagion.max_rounds", 1, MAX_MAX_ROUNDS, &r)) != CAS_OK) return st;
    sc->contagion.max_rounds = (uint32_t)r;
  }
  if ((v = map_find(c, "spillover", NULL)) != NULL && (st = decode_spillover(ld, v, sc)) != CAS_OK)
    return st;
  if ((v = map_find(c, "calibration", NULL)) != NULL &&
      (st = decode_calibration(ld, v, sc)) != CAS_OK)
    return st;
  return CAS_OK;
}

static cas_status decode(loader *ld, const node *top, cas_scenario *sc) {
  cas_status st = check_keys(ld, top, "scenario", top_keys);
  if (st == CAS_OK) st = decode_header(ld, top, sc);
  if (st == CAS_OK) st = decode_portfolio(ld, top, sc);
  if (st == CAS_OK) st = decode_network(ld, top, sc);
  if (st == CAS_OK) st = decode_model(ld, top, sc);
  if (st == CAS_OK) st = decode_shocks(ld, top, sc);
  if (st == CAS_OK) st = decode_contagion(ld, top, sc);
  return st;
}

/* ------------------------------------------------------------------------ */
/* Public API                                                                */
/* ------------------------------------------------------------------------ */

/* Loads the scenario whose text (owned, len bytes) stands for path. */
static cas_status load(const char *path, char *text, size_t len, cas_scenario **out,
                       cas_error *err) {
  loader ld = {.err = err};
  cas_scenario *sc = NULL;
  size_t index;
  node *top = NULL;
  cas_status st = add_file(&ld, path, text, &index);
  if (st == CAS_OK) st = load_chain(&ld, index, len, &top);
  if (st == CAS_OK) {
    sc = calloc(1, sizeof *sc);
    if (sc == NULL) st = nomem(&ld);
  }
  if (st == CAS_OK) {
    /* The paths move into the scenario first: nodes and shocks point at them. */
    sc->file_paths = ld.paths;
    sc->file_texts = ld.texts;
    sc->nfiles = ld.nfiles;
    ld.paths = ld.texts = NULL;
    ld.nfiles = 0;
    st = decode(&ld, top, sc);
  }
  for (size_t i = 0; i < ld.nfiles; i++) {
    free(ld.paths[i]);
    free(ld.texts[i]);
  }
  free(ld.paths);
  free(ld.texts);
  free(ld.ids);
  if (st != CAS_OK) {
    /* decode's messages are already formatted: the paths may go now. */
    cas_scenario_destroy(sc);
    sc = NULL;
  }
  arena_free(&ld.mem);
  *out = sc;
  return st;
}

cas_status cas_scenario_load(const char *path, cas_scenario **out, cas_error *err) {
  *out = NULL;
  char *text;
  size_t len;
  int e = read_all(path, &text, &len);
  if (e == ENOMEM) return cas_error_set(err, CAS_ERR_NOMEM, "out of memory reading '%s'", path);
  if (e != 0) return cas_error_set(err, CAS_ERR_INPUT, "cannot read scenario '%s': %s", path, strerror(e));
  return load(path, text, len, out, err);
}

cas_status cas_scenario_load_text(const char *text, const char *path, cas_scenario **out,
                                  cas_error *err) {
  *out = NULL;
  char *copy = strdup(text);
  if (copy == NULL) return cas_error_set(err, CAS_ERR_NOMEM, "out of memory loading '%s'", path);
  return load(path, copy, strlen(copy), out, err);
}

double cas_scenario_systematic_variance(const cas_scenario *sc, int region, int sector) {
  double a[CAS_NFACTORS] = {0};
  a[CAS_FACTOR_GLOBAL] = sc->loading[sector][CAS_LOADING_GLOBAL];
  a[CAS_FACTOR_REGION0 + region] = sc->loading[sector][CAS_LOADING_REGION];
  a[CAS_FACTOR_SECTOR0 + sector] = sc->loading[sector][CAS_LOADING_SECTOR];
  return cas_quadratic_form(CAS_NFACTORS, &sc->factor_corr[0][0], a, a);
}

void cas_scenario_destroy(cas_scenario *sc) {
  if (sc == NULL) return;
  free(sc->name);
  free(sc->description);
  free(sc->portfolio.file);
  free(sc->shocks);
  free(sc->network.file);
  free(sc->contagion.spillover);
  for (size_t i = 0; i < sc->nfiles; i++) {
    free(sc->file_paths[i]);
    free(sc->file_texts[i]);
  }
  free(sc->file_paths);
  free(sc->file_texts);
  free(sc);
}

/* ------------------------------------------------------------------------ */
/* Writing                                                                   */
/* ------------------------------------------------------------------------ */

/* The shortest of %.15g, %.16g, %.17g that reads back to the same double
 * (%.17g always does): exact and as readable as the value allows. */
static void put_number(cas_buf *b, double v) {
  char buf[40];
  for (int digits = 15; digits <= 17; digits++) {
    snprintf(buf, sizeof buf, "%.*g", digits, v);
    double back = strtod(buf, NULL);
    if (memcmp(&back, &v, sizeof v) == 0) break;
  }
  cas_buf_put(b, buf);
}

/* A code point the YAML reader takes as is inside double quotes. */
static int printable(uint32_t c) {
  return (c >= 0x20 && c <= 0x7E) || (c >= 0xA0 && c <= 0xD7FF && c != 0x2028 && c != 0x2029) ||
         (c >= 0xE000 && c <= 0xFFFD && c != 0xFEFF) || (c >= 0x10000 && c <= 0x10FFFF);
}

/* Decodes one UTF-8 character; returns its length or 0 if malformed. */
static size_t utf8_next(const unsigned char *s, uint32_t *cp) {
  if (s[0] < 0x80) {
    *cp = s[0];
    return 1;
  }
  size_t n = s[0] >= 0xF0 ? 4 : s[0] >= 0xE0 ? 3 : s[0] >= 0xC0 ? 2 : 0;
  if (n == 0 || s[0] > 0xF4) return 0;
  uint32_t c = s[0] & (0x3Fu >> (n - 1));
  for (size_t i = 1; i < n; i++) {
    if ((s[i] & 0xC0) != 0x80) return 0;
    c = (c << 6) | (s[i] & 0x3F);
  }
  static const uint32_t min[] = {0, 0, 0x80, 0x800, 0x10000};
  if (c < min[n] || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) return 0;
  *cp = c;
  return n;
}

/* A double-quoted YAML string; 0 if s is not valid UTF-8. */
static int put_string(cas_buf *b, const char *s) {
  const unsigned char *p = (const unsigned char *)s;
  cas_buf_put(b, "\"");
  while (*p) {
    uint32_t c;
    size_t n = utf8_next(p, &c);
    if (n == 0) return 0;
    if (c == '"') cas_buf_put(b, "\\\"");
    else if (c == '\\') cas_buf_put(b, "\\\\");
    else if (c == '\n') cas_buf_put(b, "\\n");
    else if (c == '\t') cas_buf_put(b, "\\t");
    else if (c == '\r') cas_buf_put(b, "\\r");
    else if (printable(c)) cas_buf_putn(b, (const char *)p, n);
    else if (c < 0x100) cas_buf_printf(b, "\\x%02X", (unsigned)c);
    else if (c < 0x10000) cas_buf_printf(b, "\\u%04X", (unsigned)c);
    else cas_buf_printf(b, "\\U%08X", (unsigned)c);
    p += n;
  }
  cas_buf_put(b, "\"");
  return 1;
}

static int same_bits(double a, double b) { return memcmp(&a, &b, sizeof a) == 0; }

/* The most frequent correlation among the pairs of factors in [first,
 * first + n) (the first such value on a tie): written as the shortcut, so
 * that only the pairs that differ from it need to be listed. */
static double common_pair_value(const cas_scenario *sc, int first, int n) {
  double best = 0.0;
  int best_count = 0;
  for (int i = 0; i < n; i++)
    for (int j = i + 1; j < n; j++) {
      double v = sc->factor_corr[first + i][first + j];
      int count = 0;
      for (int k = 0; k < n; k++)
        for (int l = k + 1; l < n; l++) count += same_bits(sc->factor_corr[first + k][first + l], v);
      if (count > best_count) {
        best = v;
        best_count = count;
      }
    }
  return best;
}

cas_status cas_scenario_write_yaml(const cas_scenario *sc, char **text, cas_error *err) {
  cas_buf b = {0};
  int utf8_ok = 1;
  *text = NULL;

  cas_buf_put(&b, "# Resolved scenario written by cascade: self-contained (no extends), every\n"
              "# key explicit. Loading it gives the same scenario as the file(s) it was\n"
              "# resolved from; keys are documented in scenarios/reference.yaml.\n");
  cas_buf_put(&b, "name: ");
  utf8_ok &= put_string(&b, sc->name);
  cas_buf_put(&b, "\ndescription: ");
  utf8_ok &= put_string(&b, sc->description);
  cas_buf_printf(&b, "\nseed: %" PRIu64 "\npaths: %" PRIu64 "\n", sc->seed, sc->paths);

  cas_buf_put(&b, "portfolio:\n");
  if (sc->portfolio.source == CAS_PORTFOLIO_FILE) {
    cas_buf_put(&b, "  file: ");
    utf8_ok &= put_string(&b, sc->portfolio.file);
    cas_buf_put(&b, "\n");
  } else {
    cas_buf_put(&b, "  builtin: \"yrd\"\n");
  }
  cas_buf_printf(&b, "  loans: %" PRIu64 "\n  seed: %" PRIu64 "\n", sc->portfolio.loans,
            sc->portfolio.seed);

  cas_buf_put(&b, "network:\n");
  if (sc->network.source == CAS_NETWORK_FILE) {
    cas_buf_put(&b, "  file: ");
    utf8_ok &= put_string(&b, sc->network.file);
    cas_buf_put(&b, "\n");
  } else {
    cas_buf_printf(&b, "  builtin: \"%s\"\n",
                   sc->network.source == CAS_NETWORK_BUILTIN ? "yrd" : "none");
  }
  cas_buf_printf(&b, "  seed: %" PRIu64 "\n", sc->network.seed);

  cas_buf_put(&b, "model:\n  copula: ");
  utf8_ok &= put_string(&b, sc->copula);
  cas_buf_put(&b, "\n  lgd: ");
  utf8_ok &= put_string(&b, sc->lgd_model);
  cas_buf_put(&b, "\n  loadings:\n");
  for (int s = 0; s < CAS_NSECTORS; s++) {
    cas_buf_printf(&b, "    %s: {", cas_sector_names[s]);
    for (int k = 0; k < CAS_NLOADINGS; k++) {
      cas_buf_printf(&b, "%s%s: ", k ? ", " : "", loading_keys[k]);
      put_number(&b, sc->loading[s][k]);
    }
    cas_buf_put(&b, "}\n");
  }
  double rho_region = common_pair_value(sc, CAS_FACTOR_REGION0, CAS_NREGIONS);
  double rho_sector = common_pair_value(sc, CAS_FACTOR_SECTOR0, CAS_NSECTORS);
  cas_buf_put(&b, "  region_correlation: ");
  put_number(&b, rho_region);
  cas_buf_put(&b, "\n  sector_correlation: ");
  put_number(&b, rho_sector);
  cas_buf_put(&b, "\n  correlations:");
  int npairs = 0;
  for (int i = 0; i < CAS_NFACTORS; i++)
    for (int j = i + 1; j < CAS_NFACTORS; j++) {
      int both_regions = i >= CAS_FACTOR_REGION0 && j < CAS_FACTOR_SECTOR0;
      int both_sectors = i >= CAS_FACTOR_SECTOR0;
      double implied = both_regions ? rho_region : both_sectors ? rho_sector : 0.0;
      if (same_bits(sc->factor_corr[i][j], implied)) continue;
      char fi[CAS_FACTOR_NAME_MAX], fj[CAS_FACTOR_NAME_MAX];
      cas_factor_name(i, fi, sizeof fi);
      cas_factor_name(j, fj, sizeof fj);
      cas_buf_printf(&b, "\n    - {factors: [\"%s\", \"%s\"], value: ", fi, fj);
      put_number(&b, sc->factor_corr[i][j]);
      cas_buf_put(&b, "}");
      npairs++;
    }
  cas_buf_put(&b, npairs ? "\n" : " []\n");

  cas_buf_printf(&b, "factor_shift_mode: \"%s\"\n", cas_shift_mode_names[sc->factor_shift_mode]);
  cas_buf_put(&b, sc->nshocks ? "shocks:\n" : "shocks: []\n");
  for (size_t i = 0; i < sc->nshocks; i++) {
    const cas_shock *sh = &sc->shocks[i];
    cas_buf_printf(&b, "  # shocks[%zu]\n", i);
    if (sh->region >= 0)
      cas_buf_printf(&b, "  - region: \"%s\"\n", cas_region_names[sh->region]);
    else
      cas_buf_put(&b, "  - # region: all regions\n");
    if (sh->sector >= 0)
      cas_buf_printf(&b, "    sector: \"%s\"\n", cas_sector_names[sh->sector]);
    else
      cas_buf_put(&b, "    # sector: all sectors\n");
    cas_buf_put(&b, "    pd_multiplier: ");
    put_number(&b, sh->pd_multiplier);
    cas_buf_put(&b, "\n    lgd_add: ");
    put_number(&b, sh->lgd_add);
    cas_buf_put(&b, "\n    ead_multiplier: ");
    put_number(&b, sh->ead_multiplier);
    cas_buf_put(&b, "\n");
    if (sh->region < 0 || sh->sector < 0) {
      cas_buf_put(&b, "    factor_shift: ");
      put_number(&b, sh->factor_shift);
      cas_buf_put(&b, "\n");
    }
  }

  cas_buf_printf(&b, "contagion:\n  enabled: %s\n  supply_chain_scale: ",
                 sc->contagion.enabled ? "true" : "false");
  put_number(&b, sc->contagion.supply_chain_scale);
  cas_buf_put(&b, "\n  guarantee_scale: ");
  put_number(&b, sc->contagion.guarantee_scale);
  cas_buf_printf(&b, "\n  max_rounds: %" PRIu32 "\n", sc->contagion.max_rounds);
  cas_buf_put(&b, sc->contagion.nspillover ? "  spillover:\n" : "  spillover: []\n");
  for (size_t i = 0; i < sc->contagion.nspillover; i++) {
    const cas_spillover *sp = &sc->contagion.spillover[i];
    char f[CAS_FACTOR_NAME_MAX];
    cas_factor_name(sp->factor, f, sizeof f);
    cas_buf_printf(&b, "    - {region: \"%s\", sector: \"%s\", factor: \"%s\", beta: ",
              cas_region_names[cas_segment_region(sp->segment)],
              cas_sector_names[cas_segment_sector(sp->segment)], f);
    put_number(&b, sp->beta);
    cas_buf_put(&b, "}\n");
  }
  cas_buf_printf(&b, "  calibration: {mode: \"%s\", paths: ",
                 cas_calibration_mode_names[sc->contagion.calibration]);
  if (sc->contagion.calibration_paths)
    cas_buf_printf(&b, "%" PRIu64, sc->contagion.calibration_paths);
  else
    cas_buf_put(&b, "auto");
  cas_buf_printf(&b, ", iterations: %" PRIu32 "}\n", sc->contagion.calibration_iterations);

  if (b.failed) {
    cas_buf_free(&b);
    return cas_error_set(err, CAS_ERR_NOMEM, "out of memory writing scenario '%s'", sc->name);
  }
  if (!utf8_ok) {
    cas_buf_free(&b);
    return cas_error_set(err, CAS_ERR_INPUT,
                         "scenario '%s': a text or path is not valid UTF-8 and cannot be "
                         "written as YAML",
                         sc->name);
  }
  *text = b.data;
  return CAS_OK;
}
