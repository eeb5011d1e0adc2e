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
 *     sequences given in the child replace the base's. Not inherited:
 *     `name` and `description` describe one file; a child that names a
 *     portfolio or network source (`builtin` or `file`) replaces the
 *     base's source instead of adding a second one, and one that names the
 *     contagion model (`model` or its shorthand `enabled`) the base's. A
 *     chain is identified
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
#include "irb.h"
#include "decimal.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "books/books.h"
#include "contagion/contagion.h"
#include "copula/copula.h"
#include "lgd/lgd.h"
#include "linalg.h"
#include "networks/networks.h"
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
static const double default_loading[CAS_YRD_NSECTORS][3] = {
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
/* model.factor_autocorrelation: the AR(1) coefficient of the factors from
 * one year to the next (docs/MODEL.md, Multi-year horizon). */
#define DEFAULT_FACTOR_AUTOCORRELATION 0.5
/* Limits on what one load may build: aliases can nest (or recurse) and
 * expand a short text into a huge tree. */
enum { MAX_DEPTH = 64, MAX_NODES = 200000 };
/* The most files one scenario may be read from (itself and its bases):
 * each base is read by a recursive call, and a chain of 20,000 files
 * overflowed the stack. */
enum { MAX_CHAIN = 32 };

/* The schema: valid keys by level, in the order reference.yaml gives them. */
static const char *const top_keys[] = {
  "name", "description", "extends", "seed", "paths", "levels", "portfolio", "classification", "network",
  "model", "factor_shift_mode", "shocks", "macro", "mitigants", "contagion", "output",
  "importance_sampling", NULL};
static const char *const importance_keys[] = {"level", "loss", "plain_share", NULL};
static const char *const mitigant_keys[] = {"name", "kind", "region", "sector", "city", "ids", "share",
                                            "cap_per_loan", "cap_per_year", "cap", NULL};
static const char *const macro_keys[] = {"variables", "satellite", NULL};
static const char *const link_keys[] = {"variable", "factor", "per_unit", "region", "sector",
                                        "pd_elasticity", "lgd_per_unit", NULL};
static const char *const output_keys[] = {"per_path", "realised_lgd", NULL};
static const char *const realised_lgd_names[] = {"false", "true", "auto", NULL};
static const char *const per_path_names[] = {"segment", "region", "sector", NULL};
static const char *const portfolio_keys[] = {"builtin", "file", "loans", "seed", NULL};
/* Built-in books and networks: the names registered in models/books and
 * models/networks; a network may also be "none". */
#define NETWORK_NONE "none"
static const char *const model_keys[] = {
  "copula", "degrees_of_freedom", "lgd", "lgd_sd", "lgd_downturn", "factors", "loadings",
  "region_correlation",
  "sector_correlation", "correlations", "correlation_matrix", "horizon_years",
  "factor_autocorrelation", "irb_class", "irb_maturity", NULL};
static const char *const classification_keys[] = {"regions", "sectors", "cities", NULL};
static const char *const correlation_keys[] = {"factors", "value", NULL};
static const char *const shock_keys[] = {
  "region", "sector", "city", "pd_multiplier", "lgd_add", "ead_multiplier", "ccf_add",
  "collateral_haircut", "factor_shift", "factor", NULL};
static const char *const contagion_keys[] = {
  "model", "enabled", "supply_chain_scale", "guarantee_scale", "max_rounds", "spillover", "calibration",
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

/* The merged tree of a loaded scenario, kept for binding. */
struct cas_scenario_tree {
  arena mem;
  node *top;
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

  /* A tag (!x, !!binary, !!int) would give a value a meaning this reader
   * does not apply: refused rather than ignored. libyaml gives untagged
   * nodes the default tag of their kind. */
  const char *tag = (const char *)yn->tag;
  const char *plain = yn->type == YAML_SCALAR_NODE     ? YAML_DEFAULT_SCALAR_TAG
                      : yn->type == YAML_SEQUENCE_NODE ? YAML_DEFAULT_SEQUENCE_TAG
                                                       : YAML_DEFAULT_MAPPING_TAG;
  if (tag && strcmp(tag, plain) != 0) {
    char shown[64];
    const char *core = "tag:yaml.org,2002:";
    if (!strncmp(tag, core, strlen(core))) snprintf(shown, sizeof shown, "!!%.50s", tag + strlen(core));
    else snprintf(shown, sizeof shown, "%.60s", tag);
    return fail(ld, nd, "YAML tag '%s' (got a tagged value, expected a plain one: scenario files use no tags)",
                shown);
  }

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

/* Nesting deeper than MAX_DEPTH, found from libyaml's events before the
 * document is built: libyaml's scanner checks every open flow level for
 * each token, so building a document of 200,000 nested '[' took minutes
 * (quadratic) before convert could refuse it. Reports the first node too
 * deep, where convert would; a syntax error is left to the loader. */
static cas_status check_nesting(loader *ld, const char *file, const char *text, size_t len) {
  yaml_parser_t parser;
  if (!yaml_parser_initialize(&parser)) return nomem(ld);
  yaml_parser_set_encoding(&parser, YAML_UTF8_ENCODING);
  yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
  cas_status st = CAS_OK;
  int open = 0, done = 0;
  while (!done && st == CAS_OK) {
    yaml_event_t ev;
    if (!yaml_parser_parse(&parser, &ev)) break;
    switch (ev.type) {
    case YAML_SCALAR_EVENT:
    case YAML_ALIAS_EVENT:
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT:
      if (open > MAX_DEPTH)
        st = fail_at(ld, file, (long)ev.start_mark.line + 1, (long)ev.start_mark.column + 1,
                     "nesting deeper than %d levels (a recursive alias?)", MAX_DEPTH);
      if (ev.type == YAML_SEQUENCE_START_EVENT || ev.type == YAML_MAPPING_START_EVENT) open++;
      break;
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT:
      open--;
      break;
    case YAML_STREAM_END_EVENT:
      done = 1;
      break;
    default:
      break;
    }
    yaml_event_delete(&ev);
  }
  yaml_parser_delete(&parser);
  return st;
}

/* Parses one file's text into a tree; an empty file is an empty mapping. */
static cas_status parse_text(loader *ld, const char *file, const char *text, size_t len,
                             node **root) {
  yaml_parser_t parser;
  yaml_document_t doc, extra;
  cas_status st = CAS_OK;

  /* UTF-8 only: libyaml would otherwise read UTF-16 too, and the text
   * recorded in the result (a C string) would end at its first NUL */
  const char *nul = memchr(text, '\0', len);
  if (nul) {
    long line = 1, col = 1;
    for (const char *c = text; c < nul; c++) {
      if (*c == '\n') {
        line++;
        col = 1;
      } else if (((unsigned char)*c & 0xC0) != 0x80) {
        col++;
      }
    }
    return fail_at(ld, file, line, col,
                   "a NUL byte (got UTF-16 or binary data, expected UTF-8 text)");
  }
  st = check_nesting(ld, file, text, len);
  if (st != CAS_OK) return st;
  if (!yaml_parser_initialize(&parser)) return nomem(ld);
  yaml_parser_set_encoding(&parser, YAML_UTF8_ENCODING);
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

/* The largest scenario file read (far above any real one: the reference
 * documenting every key is 40 KB). */
enum { SCENARIO_MAX_BYTES = 16 << 20 };
/* read_all's own failures, beside errno values (positive) */
enum { READ_NOT_REGULAR = -1, READ_TOO_LARGE = -2 };

/* Reads a whole file; returns 0, an errno value, or READ_NOT_REGULAR (a
 * FIFO, a device: opened without blocking and refused, never read, so
 * that neither a pipe without a writer nor /dev/zero can hold a run or a
 * batch) or READ_TOO_LARGE (more than SCENARIO_MAX_BYTES). */
static int read_all(const char *path, char **text, size_t *len) {
  int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return errno;
  struct stat sb;
  if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
    int e = S_ISDIR(sb.st_mode) ? EISDIR : READ_NOT_REGULAR;
    close(fd);
    return e;
  }
  if (sb.st_size > SCENARIO_MAX_BYTES) {
    close(fd);
    return READ_TOO_LARGE;
  }
  FILE *f = fdopen(fd, "rb");
  if (f == NULL) {
    int e = errno;
    close(fd);
    return e;
  }
  size_t cap = 4096, n = 0;
  char *buf = malloc(cap);
  if (buf == NULL) {
    fclose(f);
    return ENOMEM;
  }
  for (;;) {
    if (n + 1 >= cap) {
      if (cap > SCENARIO_MAX_BYTES) {   /* grew while read */
        free(buf);
        fclose(f);
        return READ_TOO_LARGE;
      }
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

/* Why read_all failed, for messages. */
static const char *read_error(int e) {
  if (e == READ_NOT_REGULAR) return "not a regular file (got a FIFO, device or socket, expected a YAML file)";
  if (e == READ_TOO_LARGE) return "too large (expected at most 16 MiB of YAML)";
  return strerror(e);
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
 * builtin/file given in the child replaces the base's. MERGE_CONTAGION:
 * likewise the contagion model, named by model or by its shorthand
 * enabled. */
enum merge_level { MERGE_TOP, MERGE_SOURCE, MERGE_CONTAGION, MERGE_OTHER };

/* child over base (both mappings): a new mapping in the child's place. */
static node *merge(loader *ld, const node *base, const node *child, enum merge_level level) {
  node *m = new_map(ld, child, base->n + child->n);
  if (m == NULL) return NULL;
  int child_source = level == MERGE_SOURCE &&
                     (map_find(child, "builtin", NULL) || map_find(child, "file", NULL));
  int child_model = level == MERGE_CONTAGION &&
                    (map_find(child, "model", NULL) || map_find(child, "enabled", NULL));
  for (size_t i = 0; i < base->n; i++) {
    const char *k = base->key[i]->text;
    if (level == MERGE_TOP && (strcmp(k, "name") == 0 || strcmp(k, "description") == 0 ||
                               strcmp(k, "extends") == 0))
      continue;
    if (child_source && (strcmp(k, "builtin") == 0 || strcmp(k, "file") == 0)) continue;
    if (child_model && (strcmp(k, "model") == 0 || strcmp(k, "enabled") == 0)) continue;
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
      else if (level == MERGE_TOP && strcmp(k, "contagion") == 0)
        sub = MERGE_CONTAGION;
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

  if (ld->nfiles >= MAX_CHAIN)
    return fail(ld, ext, "extends: got a chain of more than %d scenario files, expected at most %d "
                "(this file and %d bases)", MAX_CHAIN, MAX_CHAIN, MAX_CHAIN - 1);
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
    st = fail(ld, ext, "extends: cannot read base scenario '%s': %s", base_path, read_error(e));
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
static const range R_LGD_SD = {0, 0.5, 0, 1, "a number in [0, 0.5) (the standard deviation of the loss fraction)"};
static const range R_CORRELATION = {-1, 1, 1, 1, "a number in (-1, 1)"};
static const range R_EAD_MULTIPLIER = {CAS_EAD_MULTIPLIER_MIN, CAS_EAD_MULTIPLIER_MAX, 0, 0,
                                       "a number in [0.001, 1000]"};
static const range R_PD_MULTIPLIER = {CAS_PD_MULTIPLIER_MIN, CAS_PD_MULTIPLIER_MAX, 0, 0,
                                      "a number in [0.001, 1000] (multiplies the odds PD/(1-PD))"};
static const range R_LGD_ADD = {-1, 1, 0, 0, "a number in [-1, 1] (fraction of EAD)"};
static const range R_CCF_ADD = {-1, 1, 0, 0,
                                "a number in [-1, 1] (added to credit lines' conversion factors)"};
static const range R_HAIRCUT = {0, 1, 0, 0,
                                "a number in [0, 1] (the share of collateral value lost)"};
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
   * that one is kept, or an exact subnormal such as 4.9e-324 would load
   * but its resolved text (put_number) would not. Only decimal text is a
   * number (decimal.h): strtod would also take 0x10 as 16. */
  double v = strtod(s, &end);
  int ok = cas_decimal_syntax(s) && isfinite(v);
  if (!ok && s[0] != '\0' && !isspace((unsigned char)s[0]) && *end == '\0' && isfinite(v)) {
    char got[96];
    return fail(ld, nd, "%s: got %s, a number not written in decimal; expected %s, in decimal "
                "digits (such as 0.25 or 1e-3)", what, describe(nd, got, sizeof got), r->expected);
  }
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

/* A value that may change from year to year: one number, the same in every
 * year, or a sequence of exactly `years` numbers (model.horizon_years), one
 * per year, each checked with r and named what[k]. Year t's value goes to
 * out[t * stride]; *listed is 1 if a sequence was given. */
static cas_status get_yearly(loader *ld, const node *nd, const char *what, const range *r,
                             int years, double *out, size_t stride, int *listed) {
  cas_status st;
  *listed = nd->kind == NODE_SEQ;
  if (!*listed) {
    if ((st = get_number(ld, nd, what, r, &out[0])) != CAS_OK) return st;
    for (int t = 1; t < years; t++) out[(size_t)t * stride] = out[0];
    return CAS_OK;
  }
  if (nd->n != (size_t)years)
    return fail(ld, nd, "%s: got a list of %zu value%s, expected one number or a list of %d, "
                        "one per year (model.horizon_years is %d)", what, nd->n,
                nd->n == 1 ? "" : "s", years, years);
  for (int t = 0; t < years; t++) {
    char item[160];
    snprintf(item, sizeof item, "%s[%d]", what, t);
    if ((st = get_number(ld, nd->val[t], item, r, &out[(size_t)t * stride])) != CAS_OK) return st;
  }
  return CAS_OK;
}

/* The longest scenario name: results/<name>.h5 and the temporary beside it
 * (outfile.h) must fit the file system's 255 bytes a name. */
enum { NAME_MAX_BYTES = 150 };

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
    /* it names the result file, results/<name>.h5, and its temporary */
    if (strlen(v->text) > NAME_MAX_BYTES)
      return fail(ld, v, "name: got a name of %zu characters, expected at most %d (it names the "
                         "result file)", strlen(v->text), NAME_MAX_BYTES);
    sc->name = strdup(v->text);
  } else {
    sc->name = file_stem(sc->file_paths[0]);
    if (sc->name != NULL && !is_identifier(sc->name))
      return fail_at(ld, sc->file_paths[0], 0, 0,
                     "the scenario name defaults to the file name '%s', which is not an "
                     "identifier of letters, digits, '_', '.' and '-': set name or rename the file",
                     sc->name);
    if (sc->name != NULL && strlen(sc->name) > NAME_MAX_BYTES)
      return fail_at(ld, sc->file_paths[0], 0, 0,
                     "the scenario name defaults to the file name, of %zu characters (expected at "
                     "most %d, it names the result file): set name or rename the file",
                     strlen(sc->name), NAME_MAX_BYTES);
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
  static const double default_levels[] = {0.95, 0.99, 0.999};
  sc->nlevels = 3;
  memcpy(sc->levels, default_levels, sizeof default_levels);
  if ((v = map_find(top, "levels", NULL)) != NULL) {
    char expected[128];
    snprintf(expected, sizeof expected, "a sequence of 1 to %d increasing levels in (0, 1), e.g. "
             "[0.975, 0.999]", CAS_SCENARIO_MAX_LEVELS);
    if ((st = want_seq(ld, v, "levels", expected)) != CAS_OK) return st;
    if (v->n == 0 || v->n > CAS_SCENARIO_MAX_LEVELS)
      return fail(ld, v, "levels: got %zu levels, expected %s", v->n, expected);
    static const range R_LEVEL = {0, 1, 1, 1, "a confidence level in (0, 1), e.g. 0.99"};
    for (size_t i = 0; i < v->n; i++) {
      char what[32];
      snprintf(what, sizeof what, "levels[%zu]", i);
      if ((st = get_number(ld, v->val[i], what, &R_LEVEL, &sc->levels[i])) != CAS_OK) return st;
      if (i > 0 && !(sc->levels[i] > sc->levels[i - 1]))
        return fail(ld, v->val[i], "%s: got %s after %.17g, expected increasing levels", what,
                    v->val[i]->text, sc->levels[i - 1]);
    }
    sc->nlevels = (int)v->n;
  }
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

static int is_book(const char *name) { return cas_book_lookup(name) != NULL; }

static int is_network(const char *name) {
  return strcmp(name, NETWORK_NONE) == 0 || cas_network_lookup(name) != NULL;
}

/* At most one of builtin (a name that known accepts; list names them all
 * for the message) or file in a source mapping. *builtin_out is the
 * builtin name given (NULL: none given); *file_out the resolved file
 * (NULL: none given). */
static cas_status decode_source(loader *ld, const node *p, const char *where, const char *noun,
                                int (*known)(const char *name), const char *list,
                                const char *file_expected, const char **builtin_out,
                                char **file_out) {
  const node *builtin = map_find(p, "builtin", NULL), *file = map_find(p, "file", NULL);
  char what[64];
  cas_status st;
  if (builtin && file) {
    const node *kb = map_key(p, "builtin"), *kf = map_key(p, "file");
    const node *later = (kf->line > kb->line || (kf->line == kb->line && kf->col > kb->col))
                            ? kf : kb;
    return fail(ld, later, "%s: give either builtin or file, not both", where);
  }
  *builtin_out = NULL;
  if (builtin) {
    snprintf(what, sizeof what, "%s.builtin", where);
    char expected[64];
    snprintf(expected, sizeof expected, "the name of a built-in %s", noun);
    if ((st = want_text(ld, builtin, what, expected)) != CAS_OK) return st;
    if (!known(builtin->text))
      return fail(ld, builtin, "%s: unknown built-in %s '%s' (expected one of: %s)", what, noun,
                  builtin->text, list);
    *builtin_out = builtin->text;
  }
  if (file) {
    snprintf(what, sizeof what, "%s.file", where);
    if ((st = input_file(ld, file, what, file_expected, file_out)) != CAS_OK) return st;
  }
  return CAS_OK;
}

static cas_status decode_portfolio(loader *ld, const node *top, cas_scenario *sc) {
  sc->portfolio.source = CAS_PORTFOLIO_BUILTIN;
  snprintf(sc->portfolio.builtin, sizeof sc->portfolio.builtin, "%s", CAS_BOOK_DEFAULT);
  sc->portfolio.loans = CAS_PORTFOLIO_DEFAULT_LOANS;
  sc->portfolio.seed = DEFAULT_PORTFOLIO_SEED;
  const node *p = map_find(top, "portfolio", NULL);
  if (p == NULL) return CAS_OK;
  cas_status st = want_map(ld, p, "portfolio", "a mapping (builtin or file, loans, seed)");
  if (st != CAS_OK) return st;
  if ((st = check_keys(ld, p, "portfolio", portfolio_keys)) != CAS_OK) return st;

  const char *builtin;
  char list[256];
  cas_book_list(list, sizeof list);
  if ((st = decode_source(ld, p, "portfolio", "portfolio", is_book, list,
                          "the path of a portfolio CSV file", &builtin, &sc->portfolio.file)) !=
      CAS_OK)
    return st;
  if (builtin != NULL)
    snprintf(sc->portfolio.builtin, sizeof sc->portfolio.builtin, "%s", builtin);
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
  snprintf(sc->network.builtin, sizeof sc->network.builtin, "%s", CAS_NETWORK_DEFAULT);
  sc->network.seed = DEFAULT_NETWORK_SEED;
  const node *v = map_find(top, "network", NULL);
  if (v == NULL) return CAS_OK;
  cas_status st;
  const char *builtin;
  char list[256];
  cas_network_list(list, sizeof list);
  size_t used = strlen(list);
  snprintf(list + used, sizeof list - used, "%s%s", used ? ", " : "", NETWORK_NONE);
  if ((st = want_map(ld, v, "network", "a mapping (builtin or file, seed)")) != CAS_OK ||
      (st = check_keys(ld, v, "network", network_keys)) != CAS_OK ||
      (st = decode_source(ld, v, "network", "network", is_network, list,
                          "the path of a links CSV file", &builtin, &sc->network.file)) != CAS_OK)
    return st;
  const node *at = map_find(v, "builtin", NULL);
  if (!at) at = map_find(v, "file", NULL);
  if (!at) at = v;
  sc->network.at_line = at->line;
  sc->network.at_col = at->col;
  sc->network.at_file = at->file;
  if (sc->network.file != NULL) {
    sc->network.source = CAS_NETWORK_FILE;
  } else if (builtin != NULL && strcmp(builtin, NETWORK_NONE) != 0) {
    sc->network.source = CAS_NETWORK_BUILTIN;
    snprintf(sc->network.builtin, sizeof sc->network.builtin, "%s", builtin);
  } else if (builtin == NULL) {
    return fail(ld, v, "network: got a mapping without builtin or file, expected builtin: "
                       CAS_NETWORK_DEFAULT ", builtin: " NETWORK_NONE " or file: LINKS.csv");
  }
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

/* ------------------------------------------------------------------------ */
/* Classification                                                            */
/* ------------------------------------------------------------------------ */

/* A list of distinct names (classification.regions, ...) into names. */
static cas_status decode_names(loader *ld, const node *list, const char *what, cas_names *names) {
  cas_status st = want_seq(ld, list, what, "a sequence of names, e.g. [shanghai, jiangsu]");
  if (st != CAS_OK) return st;
  for (size_t i = 0; i < list->n; i++) {
    const node *v = list->val[i];
    char item[96];
    snprintf(item, sizeof item, "%s[%zu]", what, i);
    if ((st = want_text(ld, v, item, "a name")) != CAS_OK) return st;
    size_t len = strlen(v->text);
    const char *bad = cas_name_check(v->text, len);
    if (bad != NULL)
      return fail(ld, v, "%s: name '%s' %s (expected letters, digits, '_' or '-')", item, v->text,
                  bad);
    int before = names->n, k = cas_names_add(names, v->text, len);
    if (k == -1) return nomem(ld);
    if (k == -2) return fail(ld, v, "%s: too many names (at most %d)", item, CAS_NAMES_MAX);
    if (names->n == before)
      return fail(ld, v, "%s: '%s' is already declared as %s[%d]", item, v->text, what, k);
  }
  return CAS_OK;
}

/* classification: yrd | {regions: [...], sectors: [...], cities: [...]} */
static cas_status decode_classification(loader *ld, const node *top, cas_scenario *sc) {
  const node *c = map_find(top, "classification", NULL);
  if (c == NULL) return CAS_OK;
  cas_status st;
  if (c->kind == NODE_SCALAR && !c->null) {
    if (strcmp(c->text, "yrd") != 0)
      return fail(ld, c, "classification: unknown built-in classification '%s' (expected yrd, or "
                         "a mapping {regions: [...], sectors: [...], cities: [...]})", c->text);
    if ((sc->declared = cas_taxonomy_yrd()) == NULL) return nomem(ld);
  } else {
    if ((st = want_map(ld, c, "classification",
                       "yrd or a mapping {regions: [...], sectors: [...], cities: [...]}")) != CAS_OK ||
        (st = check_keys(ld, c, "classification", classification_keys)) != CAS_OK)
      return st;
    if ((sc->declared = cas_taxonomy_create()) == NULL) return nomem(ld);
    snprintf(sc->declared->source, sizeof sc->declared->source, "declared");
    const node *regions = map_find(c, "regions", NULL), *sectors = map_find(c, "sectors", NULL);
    if (regions == NULL || sectors == NULL)
      return fail(ld, c, "classification: missing '%s' (a declared classification lists its "
                         "regions and sectors; cities are optional)",
                  regions == NULL ? "regions" : "sectors");
    if ((st = decode_names(ld, regions, "classification.regions", &sc->declared->regions)) != CAS_OK ||
        (st = decode_names(ld, sectors, "classification.sectors", &sc->declared->sectors)) != CAS_OK)
      return st;
    if (sc->declared->regions.n == 0 || sc->declared->sectors.n == 0)
      return fail(ld, sc->declared->regions.n == 0 ? regions : sectors,
                  "classification.%s: got an empty list, expected at least one name",
                  sc->declared->regions.n == 0 ? "regions" : "sectors");
    const node *cities = map_find(c, "cities", NULL);
    if (cities != NULL) {
      cas_names tmp = {0};
      st = decode_names(ld, cities, "classification.cities", &tmp);
      for (int i = 0; st == CAS_OK && i < tmp.n; i++)
        if (cas_taxonomy_add_city(sc->declared, tmp.name[i], strlen(tmp.name[i]), -1) < 0)
          st = nomem(ld);
      cas_names_free(&tmp);
      if (st != CAS_OK) return st;
    } else {
      sc->declared->cities_open = 1;
    }
    if (cas_taxonomy_finish(sc->declared, ld->err) != CAS_OK)
      return fail(ld, c, "classification: %d regions x %d sectors make more than %d segments",
                  sc->declared->regions.n, sc->declared->sectors.n, CAS_SEGMENTS_MAX);
  }
  if (sc->portfolio.source == CAS_PORTFOLIO_BUILTIN) {
    /* A built-in book comes with its classification: a declared one must be it. */
    const cas_book_model *m = cas_book_lookup(sc->portfolio.builtin);
    cas_taxonomy *own = m ? m->classification() : NULL;
    if (own == NULL) return nomem(ld);
    int same = cas_taxonomy_equal(own, sc->declared);
    cas_taxonomy_destroy(own);
    if (!same)
      return fail(ld, c, "classification: the built-in book '%s' has its own classification "
                         "(got another one declared, expected classification: %s or none with "
                         "portfolio.builtin; declare a classification for a portfolio.file)",
                  sc->portfolio.builtin, sc->portfolio.builtin);
  }
  return CAS_OK;
}

/* ------------------------------------------------------------------------ */
/* The factor model (bound to a classification)                              */
/* ------------------------------------------------------------------------ */

/* Loadings of the default families for a sector the delta does not have:
 * an asset correlation a'Ca of 0.16 (Basel corporate, mid-range; CRE31.5)
 * split 40/20/40 between global, region and sector. An ASSUMPTION, to be
 * replaced by the bank's own (model.loadings). */
static const double generic_loading[3] = {0.253, 0.179, 0.253};

static const char *const family_keys[] = {"name", "by", "loading", "correlation", NULL};

/* The default loading of sector s on default family k (0 global, 1
 * region, 2 sector): the delta's table for a delta sector name, else the
 * generic row. */
static double default_family_loading(const cas_taxonomy *tax, int s, int k) {
  for (int y = 0; y < CAS_YRD_NSECTORS; y++)
    if (strcmp(tax->sectors.name[s], cas_yrd_sector_names[y]) == 0) return default_loading[y][k];
  return generic_loading[k];
}

/* The names of the families, NULL-terminated, for check_keys. */
static cas_status family_name_list(loader *ld, const cas_factor_model *m, const char ***out) {
  const char **names = calloc((size_t)m->nfamilies + 1, sizeof *names);
  if (names == NULL) return nomem(ld);
  for (int k = 0; k < m->nfamilies; k++) names[k] = m->family[k].name;
  *out = names;
  return CAS_OK;
}

static int family_index(const cas_factor_model *m, const char *name) {
  for (int k = 0; k < m->nfamilies; k++)
    if (strcmp(m->family[k].name, name) == 0) return k;
  return -1;
}

/* model.factors, or the default families global, region and sector. */
static cas_status decode_families(loader *ld, const node *model, const cas_taxonomy *tax,
                                  cas_factor_model *m, double **fam_corr) {
  const node *factors = model ? map_find(model, "factors", NULL) : NULL;
  cas_status st;
  size_t n = 3;
  if (factors != NULL) {
    if ((st = want_seq(ld, factors, "model.factors",
                       "a sequence of factor families {name, by, loading, correlation}")) != CAS_OK)
      return st;
    if (factors->n == 0)
      return fail(ld, factors, "model.factors: got an empty list, expected at least one family");
    n = factors->n;
  }
  m->family = calloc(n, sizeof *m->family);
  m->family_loading = malloc(n * (size_t)tax->sectors.n * sizeof *m->family_loading);
  *fam_corr = malloc(n * sizeof **fam_corr);
  if (m->family == NULL || m->family_loading == NULL || *fam_corr == NULL) return nomem(ld);
  m->nfamilies = (int)n;
  m->nsectors = tax->sectors.n;
  for (size_t i = 0; i < n * (size_t)tax->sectors.n; i++) m->family_loading[i] = NAN;
  if (factors == NULL) {
    static const char *const names[3] = {"global", "region", "sector"};
    for (int k = 0; k < 3; k++) {
      snprintf(m->family[k].name, sizeof m->family[k].name, "%s", names[k]);
      m->family[k].by = (cas_factor_by)k;
      (*fam_corr)[k] = 0.0;
    }
    for (int s = 0; s < tax->sectors.n; s++)
      for (int k = 0; k < 3; k++) m->family_loading[s * 3 + k] = default_family_loading(tax, s, k);
  } else {
    for (size_t i = 0; i < n; i++) {
      const node *item = factors->val[i], *v;
      cas_factor_family *f = &m->family[i];
      char where[48], what[96];
      snprintf(where, sizeof where, "model.factors[%zu]", i);
      if ((st = want_map(ld, item, where, "a mapping {name, by, loading, correlation}")) != CAS_OK ||
          (st = check_keys(ld, item, where, family_keys)) != CAS_OK)
        return st;
      if ((v = map_find(item, "name", NULL)) == NULL)
        return fail(ld, item, "%s: missing 'name' (a factor family needs a name)", where);
      snprintf(what, sizeof what, "%s.name", where);
      if ((st = want_text(ld, v, what, "a name")) != CAS_OK) return st;
      const char *bad = cas_name_check(v->text, strlen(v->text));
      if (bad != NULL)
        return fail(ld, v, "%s: '%s' %s (expected letters, digits, '_' or '-')", what, v->text, bad);
      if (family_index(m, v->text) >= 0)
        return fail(ld, v, "%s: the family '%s' is already defined", what, v->text);
      snprintf(f->name, sizeof f->name, "%s", v->text);
      f->by = CAS_BY_NONE;
      if ((v = map_find(item, "by", NULL)) != NULL) {
        snprintf(what, sizeof what, "%s.by", where);
        if ((st = want_text(ld, v, what, "none, region or sector")) != CAS_OK) return st;
        int by = -1;
        for (int b = 0; b < 3; b++)
          if (strcmp(v->text, cas_factor_by_names[b]) == 0) by = b;
        if (by < 0)
          return fail(ld, v, "%s: got '%s', expected none (one factor), region (one per region) or "
                             "sector (one per sector)", what, v->text);
        f->by = (cas_factor_by)by;
      }
      (*fam_corr)[i] = 0.0;
      if ((v = map_find(item, "correlation", NULL)) != NULL) {
        snprintf(what, sizeof what, "%s.correlation", where);
        if (f->by == CAS_BY_NONE)
          return fail(ld, v, "%s: a family of one factor has no correlation within it (give by: "
                             "region or by: sector, or correlate factors in model.correlations)",
                      what);
        if ((st = get_number(ld, v, what, &R_CORRELATION, &(*fam_corr)[i])) != CAS_OK) return st;
      }
      /* The default families (global, region by region, sector by
       * sector) keep their default loadings unless given. */
      static const char *const default_names[3] = {"global", "region", "sector"};
      for (int d = 0; d < 3; d++)
        if (strcmp(f->name, default_names[d]) == 0 && f->by == (cas_factor_by)d)
          for (int sec = 0; sec < tax->sectors.n; sec++)
            m->family_loading[sec * (int)n + (int)i] = default_family_loading(tax, sec, d);
      if ((v = map_find(item, "loading", NULL)) != NULL) {
        double a;
        snprintf(what, sizeof what, "%s.loading", where);
        if ((st = get_number(ld, v, what, &R_LOADING, &a)) != CAS_OK) return st;
        for (int s = 0; s < tax->sectors.n; s++) m->family_loading[s * (int)n + (int)i] = a;
      }
    }
  }
  /* Count and name the factors. */
  int nf = 0;
  for (int k = 0; k < m->nfamilies; k++) {
    cas_factor_family *f = &m->family[k];
    f->first = nf;
    f->count = f->by == CAS_BY_REGION ? tax->regions.n : f->by == CAS_BY_SECTOR ? tax->sectors.n : 1;
    if (nf + f->count > CAS_FACTORS_MAX)
      return fail(ld, factors ? factors->val[k] : model ? map_key(model, "factors") : NULL,
                  "model.factors: the families make more than %d factors", CAS_FACTORS_MAX);
    nf += f->count;
    for (int j = 0; j < f->count; j++) {
      char name[2 * CAS_NAME_MAX + 2];
      const cas_names *members = f->by == CAS_BY_REGION ? &tax->regions : &tax->sectors;
      if (f->by == CAS_BY_NONE) snprintf(name, sizeof name, "%s", f->name);
      else snprintf(name, sizeof name, "%s.%s", f->name, members->name[j]);
      if (cas_names_add(&m->names, name, strlen(name)) < 0) return nomem(ld);
    }
  }
  m->nfactors = nf;
  return CAS_OK;
}

/* model.loadings: {SECTOR: {FAMILY: a, ...}, ...} over the families' own. */
static cas_status decode_loadings(loader *ld, const node *loadings, const cas_taxonomy *tax,
                                  cas_factor_model *m) {
  cas_status st = want_map(ld, loadings, "model.loadings",
                           "a mapping of sector names to {FAMILY: loading, ...}");
  if (st != CAS_OK) return st;
  const char **keys = NULL;
  if ((st = family_name_list(ld, m, &keys)) != CAS_OK) return st;
  for (size_t i = 0; st == CAS_OK && i < loadings->n; i++) {
    const char *name = loadings->key[i]->text;
    int s = cas_names_find(&tax->sectors, name, strlen(name));
    if (s < 0) {
      char list[512];
      cas_names_list(&tax->sectors, 12, list, sizeof list);
      st = fail(ld, loadings->key[i], "unknown sector '%s' in model.loadings (expected one of: %s)",
                name, list);
      break;
    }
    char where[96];
    snprintf(where, sizeof where, "model.loadings.%s", name);
    const node *a = loadings->val[i];
    if ((st = want_map(ld, a, where, "a mapping of factor families to loadings")) != CAS_OK ||
        (st = check_keys(ld, a, where, keys)) != CAS_OK)
      break;
    for (size_t k = 0; st == CAS_OK && k < a->n; k++) {
      char what[192];
      snprintf(what, sizeof what, "%s.%s", where, a->key[k]->text);
      int fam = family_index(m, a->key[k]->text);
      st = get_number(ld, a->val[k], what, &R_LOADING,
                      &m->family_loading[s * m->nfamilies + fam]);
    }
  }
  free(keys);
  return st;
}

static cas_status factor_name(loader *ld, const cas_factor_model *m, const node *nd,
                              const char *what, int *out) {
  cas_status st = want_text(ld, nd, what, "a factor name");
  if (st != CAS_OK) return st;
  int f = cas_names_find(&m->names, nd->text, strlen(nd->text));
  if (f < 0) {
    char list[1024];
    cas_names_list(&m->names, 16, list, sizeof list);
    return fail(ld, nd, "%s: unknown factor '%s' (expected one of: %s)", what, nd->text, list);
  }
  *out = f;
  return CAS_OK;
}

/* model.correlation_matrix: nf rows of nf numbers, symmetric, unit diagonal. */
static cas_status decode_matrix(loader *ld, const node *mx, cas_factor_model *m) {
  int nf = m->nfactors;
  char expected[96];
  snprintf(expected, sizeof expected, "%d rows of %d numbers (one per factor, in model order)", nf,
           nf);
  cas_status st = want_seq(ld, mx, "model.correlation_matrix", expected);
  if (st != CAS_OK) return st;
  if (mx->n != (size_t)nf)
    return fail(ld, mx, "model.correlation_matrix: got %zu rows, expected %s", mx->n, expected);
  for (int i = 0; i < nf; i++) {
    const node *row = mx->val[i];
    char what[96];
    snprintf(what, sizeof what, "model.correlation_matrix[%d] (factor %s)", i, m->names.name[i]);
    if ((st = want_seq(ld, row, what, expected)) != CAS_OK) return st;
    if (row->n != (size_t)nf)
      return fail(ld, row, "%s: got %zu numbers, expected %d", what, row->n, nf);
    for (int j = 0; j < nf; j++) {
      static const range R_ENTRY = {-1, 1, 0, 0, "a number in [-1, 1]"};
      double v;
      char item[160];
      snprintf(item, sizeof item, "%s[%d]", what, j);
      if ((st = get_number(ld, row->val[j], item, &R_ENTRY, &v)) != CAS_OK) return st;
      if (i == j && v != 1.0)
        return fail(ld, row->val[j], "%s: got %s, expected 1 on the diagonal", item,
                    row->val[j]->text);
      if (i != j && !(fabs(v) < 1.0))
        return fail(ld, row->val[j], "%s: got %s, expected a number in (-1, 1) off the diagonal",
                    item, row->val[j]->text);
      if (j < i && v != m->corr[j * nf + i])
        return fail(ld, row->val[j], "%s: got %s but [%d][%d] is %s: the matrix must be symmetric",
                    item, row->val[j]->text, j, i, mx->val[j]->val[i]->text);
      m->corr[i * nf + j] = v;
    }
  }
  return CAS_OK;
}

static cas_status decode_correlations(loader *ld, const node *model, cas_factor_model *m,
                                      const double *fam_corr) {
  int nf = m->nfactors;
  double *c = m->corr;
  for (int i = 0; i < nf; i++)
    for (int j = 0; j < nf; j++) c[i * nf + j] = i == j ? 1.0 : 0.0;
  const node *v, *mx = model ? map_find(model, "correlation_matrix", NULL) : NULL;
  cas_status st;
  if (mx != NULL) {
    static const char *const other[] = {"correlations", "region_correlation", "sector_correlation",
                                        NULL};
    for (int k = 0; other[k] != NULL; k++)
      if (map_find(model, other[k], NULL) != NULL)
        return fail(ld, map_key(model, other[k]),
                    "model.%s: give either model.correlation_matrix or correlations by pairs, "
                    "not both", other[k]);
    for (int k = 0; k < m->nfamilies; k++)
      if (fam_corr[k] != 0.0)
        return fail(ld, map_key(model, "correlation_matrix"),
                    "model.correlation_matrix: family '%s' also gives a correlation; give either "
                    "the full matrix or correlations by family and pairs", m->family[k].name);
    return decode_matrix(ld, mx, m);
  }
  for (int k = 0; k < m->nfamilies; k++) {
    const cas_factor_family *f = &m->family[k];
    for (int i = 0; i < f->count; i++)
      for (int j = 0; j < f->count; j++)
        if (i != j) c[(f->first + i) * nf + f->first + j] = fam_corr[k];
  }
  if (model == NULL) return CAS_OK;
  static const struct { const char *key, *family; cas_factor_by by; } shortcuts[] = {
    {"region_correlation", "region", CAS_BY_REGION},
    {"sector_correlation", "sector", CAS_BY_SECTOR}};
  for (int s = 0; s < 2; s++) {
    if ((v = map_find(model, shortcuts[s].key, NULL)) == NULL) continue;
    char what[64];
    snprintf(what, sizeof what, "model.%s", shortcuts[s].key);
    int k = family_index(m, shortcuts[s].family);
    if (k < 0 || m->family[k].by != shortcuts[s].by)
      return fail(ld, v, "%s: the factor model has no family '%s' by %s (give the correlation "
                         "in model.factors[...].correlation)", what, shortcuts[s].family,
                  cas_factor_by_names[shortcuts[s].by]);
    const node *factors = map_find(model, "factors", NULL);
    if (factors != NULL && factors->kind == NODE_SEQ && (size_t)k < factors->n &&
        factors->val[k]->kind == NODE_MAP && map_find(factors->val[k], "correlation", NULL))
      return fail(ld, v, "%s: the family '%s' already gives its correlation at line %ld, column %ld "
                         "(give one of them)", what, shortcuts[s].family,
                  map_key(factors->val[k], "correlation")->line,
                  map_key(factors->val[k], "correlation")->col);
    double rho;
    if ((st = get_number(ld, v, what, &R_CORRELATION, &rho)) != CAS_OK) return st;
    const cas_factor_family *f = &m->family[k];
    for (int i = 0; i < f->count; i++)
      for (int j = 0; j < f->count; j++)
        if (i != j) c[(f->first + i) * nf + f->first + j] = rho;
  }
  const node *list = map_find(model, "correlations", NULL);
  if (list == NULL) return CAS_OK;
  if ((st = want_seq(ld, list, "model.correlations",
                     "a sequence of {factors: [F1, F2], value: rho}")) != CAS_OK)
    return st;
  const node **seen = calloc((size_t)nf * (size_t)nf, sizeof *seen);
  if (seen == NULL) return nomem(ld);
  for (size_t i = 0; st == CAS_OK && i < list->n; i++) {
    const node *item = list->val[i];
    char where[64], what[96];
    snprintf(where, sizeof where, "model.correlations[%zu]", i);
    if ((st = want_map(ld, item, where, "a mapping {factors: [F1, F2], value: rho}")) != CAS_OK ||
        (st = check_keys(ld, item, where, correlation_keys)) != CAS_OK)
      break;
    const node *factors = map_find(item, "factors", NULL), *value = map_find(item, "value", NULL);
    if (factors == NULL || value == NULL) {
      st = fail(ld, item, "%s: missing key '%s' (a correlation needs factors and value)", where,
                factors == NULL ? "factors" : "value");
      break;
    }
    snprintf(what, sizeof what, "%s.factors", where);
    if (factors->kind != NODE_SEQ || factors->n != 2) {
      char got[96];
      if (factors->kind == NODE_SEQ) snprintf(got, sizeof got, "%zu names", factors->n);
      st = fail(ld, factors, "%s: got %s, expected a pair of factor names [F1, F2]", what,
                factors->kind == NODE_SEQ ? got : describe(factors, got, sizeof got));
      break;
    }
    int f[2];
    for (int k = 0; st == CAS_OK && k < 2; k++) st = factor_name(ld, m, factors->val[k], what, &f[k]);
    if (st != CAS_OK) break;
    if (f[0] == f[1]) {
      st = fail(ld, factors->val[1],
                "%s: a factor's correlation with itself is always 1 (got '%s' twice)", what,
                factors->val[1]->text);
      break;
    }
    const node *prev = seen[f[0] * nf + f[1]];
    if (prev != NULL) {
      st = fail(ld, factors, "%s: the correlation of %s and %s is already given at line %ld, column %ld",
                what, factors->val[0]->text, factors->val[1]->text, prev->line, prev->col);
      break;
    }
    seen[f[0] * nf + f[1]] = seen[f[1] * nf + f[0]] = factors;
    snprintf(what, sizeof what, "%s.value", where);
    double rho;
    if ((st = get_number(ld, value, what, &R_CORRELATION, &rho)) != CAS_OK) break;
    c[f[0] * nf + f[1]] = c[f[1] * nf + f[0]] = rho;
  }
  free(seen);
  return st;
}

static cas_status bind_model(loader *ld, const node *top, const cas_taxonomy *tax,
                             cas_factor_model **out) {
  const node *model = map_find(top, "model", NULL);
  cas_factor_model *m = calloc(1, sizeof *m);
  double *fam_corr = NULL;
  if (m == NULL) return nomem(ld);
  cas_status st = decode_families(ld, model, tax, m, &fam_corr);
  const node *loadings = model ? map_find(model, "loadings", NULL) : NULL;
  if (st == CAS_OK && loadings != NULL) st = decode_loadings(ld, loadings, tax, m);
  /* Every family needs a loading for every sector. */
  for (int s = 0; st == CAS_OK && s < tax->sectors.n; s++)
    for (int k = 0; st == CAS_OK && k < m->nfamilies; k++)
      if (isnan(m->family_loading[s * m->nfamilies + k]))
        st = fail(ld, map_find(model, "factors", NULL)->val[k],
                  "model.factors[%d]: no loading of sector '%s' on family '%s' (give "
                  "model.factors[%d].loading for every sector or model.loadings.%s.%s)",
                  k, tax->sectors.name[s], m->family[k].name, k, tax->sectors.name[s],
                  m->family[k].name);
  size_t nf = (size_t)m->nfactors;
  if (st == CAS_OK) {
    m->nsegments = tax->nsegments;
    m->corr = malloc(nf * nf * sizeof *m->corr);
    m->loading = calloc((size_t)tax->nsegments * nf, sizeof *m->loading);
    if (m->corr == NULL || m->loading == NULL) st = nomem(ld);
  }
  if (st == CAS_OK) st = decode_correlations(ld, model, m, fam_corr);
  free(fam_corr);
  if (st == CAS_OK)
    for (int r = 0; r < tax->regions.n; r++)
      for (int s = 0; s < tax->sectors.n; s++) {
        double *a = m->loading + (size_t)cas_taxonomy_segment(tax, r, s) * nf;
        for (int k = 0; k < m->nfamilies; k++)
          a[cas_factor_of(m, k, r, s)] = m->family_loading[s * m->nfamilies + k];
      }

  /* The whole model: C positive definite, then a'Ca < 1 for every loan. */
  double *chol = st == CAS_OK ? malloc(nf * nf * sizeof *chol) : NULL;
  if (st == CAS_OK && chol == NULL) st = nomem(ld);
  if (st == CAS_OK) {
    int pivot = cas_cholesky(nf, m->corr, chol);
    if (pivot != 0) {
      static const char *const corr_keys[] = {"correlation_matrix", "correlations",
                                              "sector_correlation", "region_correlation",
                                              "factors", NULL};
      st = fail(ld, blame(top, model, corr_keys),
                "the factor correlation matrix is not positive definite: factor '%s' is "
                "(nearly) determined by the factors before it; lower the correlations that "
                "involve it (model.correlations, model.correlation_matrix or the families' "
                "correlation)",
                m->names.name[pivot - 1]);
    }
  }
  free(chol);
  static const char *const loading_blame[] = {"loadings", "factors", "correlations", NULL};
  for (int g = 0; st == CAS_OK && g < tax->nsegments; g++) {
    double var = cas_factor_model_systematic_variance(m, g);
    if (var < 1.0) continue;
    int s = cas_taxonomy_segment_sector(tax, g);
    const node *at = blame(top, model, loading_blame);
    if (loadings != NULL && loadings->kind == NODE_MAP && map_key(loadings, tax->sectors.name[s]))
      at = map_key(loadings, tax->sectors.name[s]);
    char seg[2 * CAS_NAME_MAX + 2];
    cas_taxonomy_segment_name(tax, g, seg, sizeof seg);
    st = fail(ld, at,
              "model.loadings.%s: the systematic variance a'Ca of %s is %.6g; it must be "
              "< 1 (the idiosyncratic weight is sqrt(1 - a'Ca))",
              tax->sectors.name[s], seg, var);
  }
  if (st != CAS_OK) {
    cas_factor_model_destroy(m);
    return st;
  }
  *out = m;
  return CAS_OK;
}

/* What of the model can be checked before the classification is known. */
static cas_status decode_model(loader *ld, const node *top, cas_scenario *sc) {
  snprintf(sc->copula, sizeof sc->copula, "%s", cas_copula_gaussian.info.name);
  snprintf(sc->lgd_model, sizeof sc->lgd_model, "%s", cas_lgd_fixed.info.name);
  sc->copula_df = 0.0;
  sc->lgd_downturn = 0.0;
  sc->irb_maturity = 2.5;
  sc->horizon_years = 1;   /* files written before the horizon keep their meaning */
  sc->factor_autocorrelation = DEFAULT_FACTOR_AUTOCORRELATION;
  sc->year = 0;
  const node *model = map_find(top, "model", NULL), *v;
  cas_status st;
  if (model == NULL) return CAS_OK;
  if ((st = want_map(ld, model, "model", "a mapping (copula, lgd, factors, loadings, correlations)")) !=
      CAS_OK)
    return st;
  if ((st = check_keys(ld, model, "model", model_keys)) != CAS_OK) return st;
  if ((v = map_find(model, "copula", NULL)) != NULL) {
    if ((st = want_text(ld, v, "model.copula", "a copula model name")) != CAS_OK) return st;
    if (cas_copula_lookup(v->text) == NULL) {
      char list[512];
      cas_copula_list(list, sizeof list);
      return fail(ld, v, "model.copula: unknown copula model '%s' (expected one of: %s)", v->text,
                  list);
    }
    snprintf(sc->copula, sizeof sc->copula, "%s", v->text);
  }
  const cas_copula_model *cm = cas_copula_lookup(sc->copula);
  sc->copula_df = cm->needs_df ? cm->df : 0.0;
  if ((v = map_find(model, "degrees_of_freedom", NULL)) != NULL) {
    if (!cm->needs_df)
      return fail(ld, map_key(model, "degrees_of_freedom"),
                  "model.degrees_of_freedom: the %s copula has no degrees of freedom (they belong "
                  "to the t copula: model.copula: t)", sc->copula);
    static const range R_DF = {CAS_COPULA_DF_MIN, CAS_COPULA_DF_MAX, 1, 0,
                               "a number in (2, 1000] (the t copula's degrees of freedom)"};
    if ((st = get_number(ld, v, "model.degrees_of_freedom", &R_DF, &sc->copula_df)) != CAS_OK)
      return st;
  }
  if ((v = map_find(model, "lgd", NULL)) != NULL) {
    if ((st = want_text(ld, v, "model.lgd", "an LGD model name")) != CAS_OK) return st;
    if (cas_lgd_lookup(v->text) == NULL) {
      char list[512];
      cas_lgd_list(list, sizeof list);
      return fail(ld, v, "model.lgd: unknown LGD model '%s' (expected one of: %s)", v->text, list);
    }
    snprintf(sc->lgd_model, sizeof sc->lgd_model, "%s", v->text);
  }
  static const range R_DOWNTURN = {0, 5, 0, 0, "a number in [0, 5] (the downturn link's strength)"};
  if ((v = map_find(model, "lgd_downturn", NULL)) != NULL &&
      (st = get_number(ld, v, "model.lgd_downturn", &R_DOWNTURN, &sc->lgd_downturn)) != CAS_OK)
    return st;
  if ((v = map_find(model, "horizon_years", NULL)) != NULL) {
    uint64_t years;
    if ((st = get_uint(ld, v, "model.horizon_years", 1, CAS_MAX_YEARS, &years)) != CAS_OK)
      return st;
    sc->horizon_years = (int)years;
  }
  static const range R_AUTOCORRELATION = {
    0, 1, 0, 1, "a number in [0, 1) (the correlation of a factor with its value a year before)"};
  if ((v = map_find(model, "factor_autocorrelation", NULL)) != NULL &&
      (st = get_number(ld, v, "model.factor_autocorrelation", &R_AUTOCORRELATION,
                       &sc->factor_autocorrelation)) != CAS_OK)
    return st;
  static const range R_MATURITY = {1, 5, 0, 0, "a number of years in [1, 5] (the IRB effective maturity)"};
  if ((v = map_find(model, "irb_maturity", NULL)) != NULL &&
      (st = get_number(ld, v, "model.irb_maturity", &R_MATURITY, &sc->irb_maturity)) != CAS_OK)
    return st;
  if ((v = map_find(model, "lgd_sd", NULL)) != NULL && v->kind != NODE_MAP) {
    double sd;
    if ((st = get_number(ld, v, "model.lgd_sd", &R_LGD_SD, &sd)) != CAS_OK) return st;
  } else if (v != NULL) {
    for (size_t i = 0; i < v->n; i++) {
      char what[160];
      double sd;
      snprintf(what, sizeof what, "model.lgd_sd.%s", v->key[i]->text);
      if ((st = get_number(ld, v->val[i], what, &R_LGD_SD, &sd)) != CAS_OK) return st;
    }
  }
  return CAS_OK;
}

/* What of the shocks can be checked before the classification is known. */
static cas_status decode_shift_mode(loader *ld, const node *top, cas_scenario *sc);
static cas_status decode_shocks(loader *ld, const node *top, cas_scenario *sc) {
  cas_status st = decode_shift_mode(ld, top, sc);
  if (st != CAS_OK) return st;
  const node *list = map_find(top, "shocks", NULL);
  if (list == NULL) return CAS_OK;
  return want_seq(ld, list, "shocks", "a sequence of shocks ([] for none)");
}

/* The products of the PD multipliers and of the EAD multipliers that apply
 * to a loan stay in range: checked for every segment, with each city a
 * shock names and without, in the current year (sc->year). */
static cas_status check_products_effect(loader *ld, const cas_scenario *sc, const int *cities,
                                        size_t ncity, int yearly, int pd);
static cas_status check_pd_products_year(loader *ld, const cas_scenario *sc, const int *cities,
                                         size_t ncity, int yearly) {
  cas_status st = check_products_effect(ld, sc, cities, ncity, yearly, 1);
  if (st == CAS_OK) st = check_products_effect(ld, sc, cities, ncity, yearly, 0);
  return st;
}

/* pd: the PD multipliers, else the EAD multipliers */

/* Significant digits enough to show a value outside [lo, hi] as outside:
 * 6, or more when 6 round it onto a bound (1000.0001 is not "1000"). */
static int beyond_digits(double x, double lo, double hi) {
  char a[40], b[40], c[40];
  int p = 6;
  for (; p < 17; p++) {
    snprintf(a, sizeof a, "%.*g", p, x);
    snprintf(b, sizeof b, "%.*g", p, lo);
    snprintf(c, sizeof c, "%.*g", p, hi);
    if (strcmp(a, b) != 0 && strcmp(a, c) != 0) break;
  }
  return p;
}
static cas_status check_products_effect(loader *ld, const cas_scenario *sc, const int *cities,
                                        size_t ncity, int yearly, int pd) {
  double lo = pd ? CAS_PD_MULTIPLIER_MIN : CAS_EAD_MULTIPLIER_MIN;
  double hi = pd ? CAS_PD_MULTIPLIER_MAX : CAS_EAD_MULTIPLIER_MAX;
  const char *key = pd ? "pd_multiplier" : "ead_multiplier", *kind = pd ? "PD" : "EAD";
  const cas_taxonomy *tax = sc->tax;
  char year[32] = "";
  if (yearly) snprintf(year, sizeof year, "in year %d, ", sc->year + 1);
  else if (sc->horizon_years > 1) snprintf(year, sizeof year, "in every year, ");
  cas_status st = CAS_OK;
  for (size_t k = 0; st == CAS_OK && k < ncity; k++)
    for (int s = 0; st == CAS_OK && s < tax->nsegments; s++) {
      int r = cas_taxonomy_segment_region(tax, s), e = cas_taxonomy_segment_sector(tax, s);
      double product = 1.0;
      for (size_t i = 0; i < sc->nshocks; i++) {
        const cas_shock *sh = &sc->shocks[i];
        if (!cas_shock_applies_city(sh, r, e, cities[k])) continue;
        product *= pd ? sh->pd_multiplier : sh->ead_multiplier;
        if (product >= lo && product <= hi) continue;
        const node *v = pd ? sh->pd_at : sh->ead_at;
        char seg[3 * CAS_NAME_MAX + 8];
        cas_taxonomy_segment_name(tax, s, seg, sizeof seg);
        if (cities[k] >= 0) {
          size_t used = strlen(seg);
          snprintf(seg + used, sizeof seg - used, " in %s", tax->cities.name[cities[k]]);
        }
        if (sh->derived) {
          st = fail(ld, v,
                    "macro.satellite: %swith the shocks before it, the %s multipliers that apply "
                    "to %s multiply to %.*g (expected a product in [%g, %g])",
                    year, kind, seg, beyond_digits(product, lo, hi), product, lo, hi);
        } else {
          /* A list: the year's element. */
          char index[16] = "";
          if (v->kind == NODE_SEQ) {
            snprintf(index, sizeof index, "[%d]", sc->year);
            v = v->val[sc->year];
          }
          st = fail(ld, v,
                    "shocks[%zu].%s%s: %swith the shocks before it, the %s multipliers "
                    "that apply to %s multiply to %.*g (got '%s', expected a product in "
                    "[%g, %g])",
                    i, key, index, year, kind, seg, beyond_digits(product, lo, hi), product,
                    v->text, lo, hi);
        }
        break;
      }
    }
  return st;
}

/* check_pd_products_year in every year of the horizon (once when no shock
 * changes from year to year); the shocks are left in year 0. */
static cas_status check_pd_products(loader *ld, cas_scenario *sc) {
  size_t ncity = 1;
  int *cities = malloc((sc->nshocks + 1) * sizeof *cities);
  if (cities == NULL) return nomem(ld);
  cities[0] = -1;
  int yearly = 0;   /* some shock's values change from year to year */
  for (size_t i = 0; i < sc->nshocks; i++) {
    int c = sc->shocks[i].city, seen = c < 0;
    for (size_t k = 0; k < ncity && !seen; k++) seen = cities[k] == c;
    if (!seen) cities[ncity++] = c;
    yearly |= sc->shocks[i].by_year != NULL && sc->horizon_years > 1;
  }
  cas_status st = CAS_OK;
  for (int t = 0; st == CAS_OK && t < (yearly ? sc->horizon_years : 1); t++) {
    cas_scenario_set_year(sc, t);
    st = check_pd_products_year(ld, sc, cities, ncity, yearly);
  }
  cas_scenario_set_year(sc, 0);
  free(cities);
  return st;
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

/* A region or sector name of the bound classification. */
static cas_status class_name(loader *ld, const node *v, const char *what, const char *kind,
                             const cas_names *names, int *out) {
  char expected[48];
  snprintf(expected, sizeof expected, "a %s name", kind);
  cas_status st = want_text(ld, v, what, expected);
  if (st != CAS_OK) return st;
  if ((*out = cas_names_find(names, v->text, strlen(v->text))) >= 0) return CAS_OK;
  char list[512];
  cas_names_list(names, 12, list, sizeof list);
  return fail(ld, v, "%s: unknown %s '%s' (expected one of: %s)", what, kind, v->text, list);
}

/* The family whose factor a factor_shift moves when the shock does not
 * name one: the only family by sector (only sector given), by region (only
 * region given), or the only family of one factor (neither). -1 if there
 * is none, -2 if there are several. */
static int implied_family(const cas_factor_model *m, const cas_shock *sh) {
  cas_factor_by by = sh->sector >= 0 ? CAS_BY_SECTOR : sh->region >= 0 ? CAS_BY_REGION : CAS_BY_NONE;
  int found = -1, count = 0;
  for (int k = 0; k < m->nfamilies; k++)
    if (m->family[k].by == by) {
      found = k;
      count++;
    }
  return count == 1 ? found : count == 0 ? -1 : -2;
}

const char *const cas_shock_effects[CAS_SHOCK_NEFFECTS] = {
  "pd_multiplier", "lgd_add", "ead_multiplier", "ccf_add", "factor_shift", "collateral_haircut"};
enum { EFFECT_PD, EFFECT_LGD, EFFECT_EAD, EFFECT_CCF, EFFECT_SHIFT, EFFECT_HAIRCUT };

/* The range of each effect, in the order of cas_shock_effects. */
static const range *const effect_range[CAS_SHOCK_NEFFECTS] = {
  &R_PD_MULTIPLIER, &R_LGD_ADD, &R_EAD_MULTIPLIER, &R_CCF_ADD, &R_SHIFT, &R_HAIRCUT};

/* Where each effect's field is, in the order of cas_shock_effects. */
static const size_t effect_offset[CAS_SHOCK_NEFFECTS] = {
  offsetof(cas_shock, pd_multiplier), offsetof(cas_shock, lgd_add),
  offsetof(cas_shock, ead_multiplier), offsetof(cas_shock, ccf_add),
  offsetof(cas_shock, factor_shift), offsetof(cas_shock, collateral_haircut)};

static double *shock_effect(cas_shock *sh, int e) {
  return (double *)((char *)sh + effect_offset[e]);
}

static double shock_effect_value(const cas_shock *sh, int e) {
  return *(const double *)((const char *)sh + effect_offset[e]);
}

static cas_status bind_shocks(loader *ld, const node *top, cas_scenario *sc) {
  const node *list = map_find(top, "shocks", NULL);
  if (list == NULL || list->kind != NODE_SEQ || list->n == 0) return CAS_OK;
  sc->shocks = calloc(list->n, sizeof *sc->shocks);
  if (sc->shocks == NULL) return nomem(ld);
  cas_status st;
  for (size_t i = 0; i < list->n; i++) {
    const node *item = list->val[i], *v;
    cas_shock *sh = &sc->shocks[i];
    char where[48], what[96];
    snprintf(where, sizeof where, "shocks[%zu]", i);
    if ((st = want_map(ld, item, where, "a mapping (a shock)")) != CAS_OK) return st;
    if ((st = check_keys(ld, item, where, shock_keys)) != CAS_OK) return st;
    *sh = (cas_shock){.region = -1, .sector = -1, .city = -1, .factor = -1, .pd_multiplier = 1.0,
                      .lgd_add = 0.0, .ead_multiplier = 1.0, .factor_shift = 0.0,
                      .line = item->line, .col = item->col, .file = item->file};
    sc->nshocks = i + 1;

    if ((v = map_find(item, "region", NULL)) != NULL) {
      snprintf(what, sizeof what, "%s.region", where);
      if ((st = class_name(ld, v, what, "region", &sc->tax->regions, &sh->region)) != CAS_OK)
        return st;
    }
    if ((v = map_find(item, "sector", NULL)) != NULL) {
      snprintf(what, sizeof what, "%s.sector", where);
      if ((st = class_name(ld, v, what, "sector", &sc->tax->sectors, &sh->sector)) != CAS_OK)
        return st;
    }
    if ((v = map_find(item, "city", NULL)) != NULL) {
      snprintf(what, sizeof what, "%s.city", where);
      if ((st = class_name(ld, v, what, "city", &sc->tax->cities, &sh->city)) != CAS_OK) return st;
      int tied = sc->tax->city_region[sh->city];
      if (sh->region >= 0 && tied >= 0 && tied != sh->region)
        return fail(ld, v, "%s: city '%s' is in region '%s', not in the shock's region '%s'", what,
                    v->text, sc->tax->regions.name[tied], sc->tax->regions.name[sh->region]);
    }
    /* Each effect's value in every year (the default where not given),
     * kept as by_year only if one of them is a list. */
    int years = sc->horizon_years, neffects = 0;
    double values[CAS_MAX_YEARS * CAS_SHOCK_NEFFECTS];
    for (int e = 0; e < CAS_SHOCK_NEFFECTS; e++) {
      double *field = shock_effect(sh, e);
      for (int t = 0; t < years; t++) values[t * CAS_SHOCK_NEFFECTS + e] = *field;
      if ((v = map_find(item, cas_shock_effects[e], NULL)) == NULL) continue;
      snprintf(what, sizeof what, "%s.%s", where, cas_shock_effects[e]);
      int listed;
      if ((st = get_yearly(ld, v, what, effect_range[e], years, &values[e], CAS_SHOCK_NEFFECTS,
                           &listed)) != CAS_OK)
        return st;
      *field = values[e];
      if (listed) sh->per_year |= 1u << e;
      neffects++;
    }
    if (sh->per_year) {
      size_t size = (size_t)years * CAS_SHOCK_NEFFECTS * sizeof *sh->by_year;
      if ((sh->by_year = malloc(size)) == NULL) return nomem(ld);
      memcpy(sh->by_year, values, size);
    }
    if (neffects == 0)
      return fail(ld, item,
                  "%s: a shock needs at least one effect (pd_multiplier, lgd_add, "
                  "ead_multiplier, ccf_add, collateral_haircut or factor_shift)",
                  where);
    sh->pd_at = map_find(item, "pd_multiplier", NULL) ? (const void *)map_find(item, "pd_multiplier", NULL)
                                                      : (const void *)item;
    sh->ead_at = map_find(item, "ead_multiplier", NULL) ? (const void *)map_find(item, "ead_multiplier", NULL)
                                                        : (const void *)item;
    const node *factor = map_find(item, "factor", NULL), *shift = map_key(item, "factor_shift");
    if (factor != NULL) {
      snprintf(what, sizeof what, "%s.factor", where);
      if (shift == NULL)
        return fail(ld, map_key(item, "factor"),
                    "%s: factor names the factor that factor_shift moves (got no factor_shift)",
                    what);
      if ((st = factor_name(ld, sc->factors, factor, what, &sh->factor)) != CAS_OK) return st;
    } else if (shift != NULL) {
      if (sh->city >= 0)
        return fail(ld, shift,
                    "%s.factor_shift: a shock on a city cannot shift a factor without naming it "
                    "(no factor family is by city; name the factor with factor)",
                    where);
      if (sh->region >= 0 && sh->sector >= 0)
        return fail(ld, shift,
                    "%s.factor_shift: a shock with both region and sector cannot shift a factor "
                    "without naming it (factor_shift moves the sector's factor if only sector is "
                    "given, the region's if only region is given, the global factor if neither; "
                    "or the factor given by factor)",
                    where);
      int k = implied_family(sc->factors, sh);
      if (k < 0) {
        const char *by = sh->sector >= 0 ? "by sector" : sh->region >= 0 ? "by region"
                                                                          : "of one factor";
        char names[1024];
        cas_names_list(&sc->factors->names, 16, names, sizeof names);
        return fail(ld, shift,
                    "%s.factor_shift: the factor model has %s family %s, so the factor to move "
                    "is not implied; name it with factor (one of: %s)",
                    where, k == -1 ? "no" : "more than one", by, names);
      }
      sh->factor = cas_factor_of(sc->factors, k, sh->region < 0 ? 0 : sh->region,
                                 sh->sector < 0 ? 0 : sh->sector);
    }
  }
  return CAS_OK;
}

static const range R_SCALE = {0, 10, 0, 0, "a number in [0, 10]"};
static const range R_BETA = {0, 1000, 0, 0, "a number in [0, 1000] (SD per unit default rate)"};

static cas_status bind_spillover(loader *ld, const node *list, cas_scenario *sc) {
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
    snprintf(what, sizeof what, "%s.region", where);
    if ((st = class_name(ld, map_find(item, "region", NULL), what, "region", &sc->tax->regions,
                         &region)) != CAS_OK)
      return st;
    snprintf(what, sizeof what, "%s.sector", where);
    if ((st = class_name(ld, map_find(item, "sector", NULL), what, "sector", &sc->tax->sectors,
                         &sector)) != CAS_OK)
      return st;
    sp->segment = cas_taxonomy_segment(sc->tax, region, sector);
    snprintf(what, sizeof what, "%s.factor", where);
    if ((st = factor_name(ld, sc->factors, map_find(item, "factor", NULL), what, &sp->factor)) !=
        CAS_OK)
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
  snprintf(sc->contagion.model, sizeof sc->contagion.model, "%s", CAS_CONTAGION_DEFAULT);
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
  const node *enabled = map_find(c, "enabled", NULL), *model = map_find(c, "model", NULL);
  if (model != NULL) {
    char list[256];
    cas_contagion_model_list(list, sizeof list);
    char expected[300];
    snprintf(expected, sizeof expected, "a contagion model (one of: %s)", list);
    if ((st = want_text(ld, model, "contagion.model", expected)) != CAS_OK) return st;
    if (cas_contagion_model_lookup(model->text) == NULL)
      return fail(ld, model, "contagion.model: unknown contagion model '%s' (expected one of: %s)",
                  model->text, list);
    snprintf(sc->contagion.model, sizeof sc->contagion.model, "%s", model->text);
  }
  if (enabled != NULL) {
    if ((st = want_text(ld, enabled, "contagion.enabled", "true or false")) != CAS_OK) return st;
    int on = strcmp(enabled->text, "true") == 0;
    if (!on && strcmp(enabled->text, "false") != 0)
      return fail(ld, enabled, "contagion.enabled: got '%s', expected true or false",
                  enabled->text);
    /* enabled is short for model: network (true) or none (false). */
    const char *implied = on ? cas_contagion_network.info.name : cas_contagion_none.info.name;
    if (model != NULL && strcmp(model->text, implied) != 0)
      return fail(ld, enabled, "contagion.enabled: '%s' contradicts contagion.model '%s' "
                               "(enabled: true is short for model: network, false for model: "
                               "none; give one of them)", enabled->text, model->text);
    snprintf(sc->contagion.model, sizeof sc->contagion.model, "%s", implied);
  }
  const cas_contagion_model *cm = cas_contagion_model_lookup(sc->contagion.model);
  if (cm && cm->spreads && sc->network.source == CAS_NETWORK_NONE)
    return fail(ld, model ? model : enabled,
                "contagion.%s: contagion needs a network to spread along (got no network, "
                "expected a top-level network: {builtin: yrd} or network: {file: LINKS.csv})",
                model ? "model" : "enabled");
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
  if ((v = map_find(c, "spillover", NULL)) != NULL &&
      (st = want_seq(ld, v, "contagion.spillover",
                     "a sequence of {region, sector, factor, beta} ([] for none)")) != CAS_OK)
    return st;
  if ((v = map_find(c, "calibration", NULL)) != NULL &&
      (st = decode_calibration(ld, v, sc)) != CAS_OK)
    return st;
  return CAS_OK;
}

const char *const cas_mitigant_kinds[] = {"guarantee_fund", "risk_compensation_pool",
                                          "guarantee_insurance", NULL};

/* mitigants: [{name, kind, region, sector, city, share, cap_per_loan, cap_per_year, cap}]
 * (load time: names of the classification resolve at bind). */
static cas_status decode_mitigants(loader *ld, const node *top, cas_scenario *sc) {
  const node *list = map_find(top, "mitigants", NULL), *v;
  if (list == NULL) return CAS_OK;
  cas_status st = want_seq(ld, list, "mitigants", "a sequence of mitigants ([] for none)");
  if (st != CAS_OK || list->n == 0) return st;
  sc->mitigants = calloc(list->n, sizeof *sc->mitigants);
  if (sc->mitigants == NULL) return nomem(ld);
  static const range R_SHARE = {0, 1, 1, 0, "a number in (0, 1] (the share of a loss paid)"};
  static const range R_CAP = {0, CAS_AMOUNT_MAX, 1, 0, "an amount > 0 and at most 1e15 [CNY]"};
  for (size_t i = 0; i < list->n; i++) {
    const node *item = list->val[i];
    char where[48], what[96];
    snprintf(where, sizeof where, "mitigants[%zu]", i);
    if ((st = want_map(ld, item, where, "a mapping {name, kind, share, cap, ...}")) != CAS_OK ||
        (st = check_keys(ld, item, where, mitigant_keys)) != CAS_OK)
      return st;
    cas_mitigant *m = &sc->mitigants[sc->nmitigants++];
    *m = (cas_mitigant){.region = -1, .sector = -1, .city = -1, .cap_per_loan = INFINITY,
                        .cap_per_year = INFINITY, .line = item->line, .col = item->col,
                        .file = item->file};
    static const char *const required[] = {"name", "kind", "share", "cap"};
    for (int k = 0; k < 4; k++)
      if (map_find(item, required[k], NULL) == NULL)
        return fail(ld, item, "%s: missing '%s' (a mitigant needs a name, a kind, the share of "
                              "each loss it pays and its cap)", where, required[k]);
    v = map_find(item, "name", NULL);
    snprintf(what, sizeof what, "%s.name", where);
    if ((st = want_text(ld, v, what, "a name")) != CAS_OK) return st;
    const char *bad = cas_name_check(v->text, strlen(v->text));
    if (bad != NULL) return fail(ld, v, "%s: '%s' %s", what, v->text, bad);
    for (size_t k = 0; k + 1 < sc->nmitigants; k++)
      if (strcmp(sc->mitigants[k].name, v->text) == 0)
        return fail(ld, v, "%s: the name '%s' is already used by mitigants[%zu]", what, v->text, k);
    if ((m->name = strdup(v->text)) == NULL) return nomem(ld);
    v = map_find(item, "kind", NULL);
    snprintf(what, sizeof what, "%s.kind", where);
    char kinds[128];
    join_names(cas_mitigant_kinds, kinds, sizeof kinds);
    if ((st = want_text(ld, v, what, kinds)) != CAS_OK) return st;
    m->kind = -1;
    for (int k = 0; cas_mitigant_kinds[k]; k++)
      if (strcmp(v->text, cas_mitigant_kinds[k]) == 0) m->kind = k;
    if (m->kind < 0)
      return fail(ld, v, "%s: unknown kind '%s' (expected one of: %s)", what, v->text, kinds);
    snprintf(what, sizeof what, "%s.share", where);
    if ((st = get_number(ld, map_find(item, "share", NULL), what, &R_SHARE, &m->share)) != CAS_OK)
      return st;
    snprintf(what, sizeof what, "%s.cap", where);
    if ((st = get_number(ld, map_find(item, "cap", NULL), what, &R_CAP, &m->cap)) != CAS_OK) return st;
    if ((v = map_find(item, "cap_per_loan", NULL)) != NULL) {
      snprintf(what, sizeof what, "%s.cap_per_loan", where);
      if ((st = get_number(ld, v, what, &R_CAP, &m->cap_per_loan)) != CAS_OK) return st;
    }
    if ((v = map_find(item, "cap_per_year", NULL)) != NULL) {
      snprintf(what, sizeof what, "%s.cap_per_year", where);
      if ((st = get_number(ld, v, what, &R_CAP, &m->cap_per_year)) != CAS_OK) return st;
    }
    if ((v = map_find(item, "ids", NULL)) != NULL) {
      snprintf(what, sizeof what, "%s.ids", where);
      if ((st = want_seq(ld, v, what, "a sequence of loan ids (the portfolio's id column)")) != CAS_OK)
        return st;
      if (v->n == 0) return fail(ld, v, "%s: an empty list covers no loan (leave ids out to cover "
                                        "every loan that region, sector and city match)", what);
      m->ids = calloc(v->n, sizeof *m->ids);
      m->id_line = calloc(v->n, sizeof *m->id_line);
      m->id_col = calloc(v->n, sizeof *m->id_col);
      if (!m->ids || !m->id_line || !m->id_col) return nomem(ld);
      for (size_t k = 0; k < v->n; k++) {
        const node *id = v->val[k];
        snprintf(what, sizeof what, "%s.ids[%zu]", where, k);
        if ((st = want_text(ld, id, what, "a loan id")) != CAS_OK) return st;
        if ((m->ids[m->nids] = strdup(id->text)) == NULL) return nomem(ld);
        m->id_line[m->nids] = id->line;
        m->id_col[m->nids++] = id->col;
      }
    }
  }
  return CAS_OK;
}

/* The mitigants' regions, sectors and cities in the bound classification. */
static cas_status bind_mitigants(loader *ld, const node *top, cas_scenario *sc) {
  const node *list = map_find(top, "mitigants", NULL);
  cas_status st;
  for (size_t i = 0; i < sc->nmitigants; i++) {
    const node *item = list->val[i], *v;
    cas_mitigant *m = &sc->mitigants[i];
    char what[96];
    static const char *const keys[3] = {"region", "sector", "city"};
    int *slots[3] = {&m->region, &m->sector, &m->city};
    const cas_names *names[3] = {&sc->tax->regions, &sc->tax->sectors, &sc->tax->cities};
    for (int k = 0; k < 3; k++) {
      *slots[k] = -1;
      if ((v = map_find(item, keys[k], NULL)) == NULL) continue;
      snprintf(what, sizeof what, "mitigants[%zu].%s", i, keys[k]);
      if ((st = class_name(ld, v, what, keys[k], names[k], slots[k])) != CAS_OK) return st;
    }
  }
  return CAS_OK;
}

/* macro: {variables: {NAME: value, ...}, satellite: [links]} (load time:
 * the values and the links as written; names resolve at bind). */
static cas_status decode_macro(loader *ld, const node *top, cas_scenario *sc) {
  const node *m = map_find(top, "macro", NULL), *v;
  if (m == NULL) return CAS_OK;
  cas_status st;
  if ((st = want_map(ld, m, "macro", "a mapping (variables, satellite)")) != CAS_OK ||
      (st = check_keys(ld, m, "macro", macro_keys)) != CAS_OK)
    return st;
  const node *vars = map_find(m, "variables", NULL), *links = map_find(m, "satellite", NULL);
  if (vars == NULL || links == NULL)
    return fail(ld, m, "macro: missing '%s' (a macro scenario gives the variables' values and "
                       "the satellite model that turns them into shocks)",
                vars == NULL ? "variables" : "satellite");
  if ((st = want_map(ld, vars, "macro.variables", "a mapping of variable names to values")) != CAS_OK ||
      (st = want_seq(ld, links, "macro.satellite", "a sequence of links {variable, ...}")) != CAS_OK)
    return st;
  static const range R_MACRO = {-1e6, 1e6, 0, 0, "a number (the variable's deviation from the "
                                                 "baseline, in its own units)"};
  sc->macro_vars = calloc(vars->n ? vars->n : 1, sizeof *sc->macro_vars);
  sc->macro_links = calloc(links->n ? links->n : 1, sizeof *sc->macro_links);
  if (!sc->macro_vars || !sc->macro_links) return nomem(ld);
  for (size_t i = 0; i < vars->n; i++) {
    const char *name = vars->key[i]->text;
    const char *bad = cas_name_check(name, strlen(name));
    if (bad != NULL)
      return fail(ld, vars->key[i], "macro.variables: name '%s' %s", name, bad);
    char what[128];
    snprintf(what, sizeof what, "macro.variables.%s", name);
    cas_macro_variable *mv = &sc->macro_vars[sc->nmacro_vars++];
    if ((mv->name = strdup(name)) == NULL) return nomem(ld);
    double values[CAS_MAX_YEARS] = {0};
    int listed;
    if ((st = get_yearly(ld, vars->val[i], what, &R_MACRO, sc->horizon_years, values, 1,
                         &listed)) != CAS_OK)
      return st;
    mv->value = values[0];
    if (listed) {
      size_t size = (size_t)sc->horizon_years * sizeof *mv->by_year;
      if ((mv->by_year = malloc(size)) == NULL) return nomem(ld);
      memcpy(mv->by_year, values, size);
    }
  }
  static const range R_COEF = {-100, 100, 0, 0, "a number in [-100, 100]"};
  for (size_t i = 0; i < links->n; i++) {
    const node *item = links->val[i];
    char where[48], what[96];
    snprintf(where, sizeof where, "macro.satellite[%zu]", i);
    if ((st = want_map(ld, item, where, "a mapping {variable, factor and per_unit, or region, "
                                        "sector and pd_elasticity or lgd_per_unit}")) != CAS_OK ||
        (st = check_keys(ld, item, where, link_keys)) != CAS_OK)
      return st;
    cas_macro_link *l = &sc->macro_links[sc->nmacro_links++];
    if ((v = map_find(item, "variable", NULL)) == NULL)
      return fail(ld, item, "%s: missing 'variable' (the macro variable the link reads)", where);
    snprintf(what, sizeof what, "%s.variable", where);
    if ((st = want_text(ld, v, what, "a name of macro.variables")) != CAS_OK) return st;
    int known = 0;
    for (size_t k = 0; k < sc->nmacro_vars; k++) known |= strcmp(sc->macro_vars[k].name, v->text) == 0;
    if (!known) {
      char list[512] = "";
      size_t used = 0;
      for (size_t k = 0; k < sc->nmacro_vars && used < sizeof list; k++) {
        int w = snprintf(list + used, sizeof list - used, "%s%s", k ? ", " : "", sc->macro_vars[k].name);
        if (w < 0) break;
        used += (size_t)w;
      }
      return fail(ld, v, "%s: unknown variable '%s' (expected one of: %s)", what, v->text, list);
    }
    if ((l->variable = strdup(v->text)) == NULL) return nomem(ld);
    static const char *const effects[] = {"per_unit", "pd_elasticity", "lgd_per_unit"};
    int neffects = 0;
    for (int e = 0; e < 3; e++) {
      if ((v = map_find(item, effects[e], NULL)) == NULL) continue;
      neffects++;
      l->effect = (cas_macro_effect)e;
      snprintf(what, sizeof what, "%s.%s", where, effects[e]);
      if ((st = get_number(ld, v, what, &R_COEF, &l->coefficient)) != CAS_OK) return st;
    }
    if (neffects != 1)
      return fail(ld, item, "%s: a link has exactly one effect: per_unit (with factor), "
                            "pd_elasticity or lgd_per_unit (got %d)", where, neffects);
    const node *f = map_find(item, "factor", NULL);
    if ((l->effect == CAS_MACRO_FACTOR) != (f != NULL))
      return fail(ld, f ? map_key(item, "factor") : item,
                  "%s: factor goes with per_unit (a factor shift per unit of the variable), and "
                  "region and sector with pd_elasticity or lgd_per_unit", where);
    if (f != NULL && (map_find(item, "region", NULL) || map_find(item, "sector", NULL)))
      return fail(ld, map_key(item, map_find(item, "region", NULL) ? "region" : "sector"),
                  "%s: a factor link applies to every loan loading on its factor (no region or "
                  "sector)", where);
    const char *keys[3] = {"factor", "region", "sector"};
    char **slots[3] = {&l->factor, &l->region, &l->sector};
    for (int k = 0; k < 3; k++) {
      if ((v = map_find(item, keys[k], NULL)) == NULL) continue;
      snprintf(what, sizeof what, "%s.%s", where, keys[k]);
      if ((st = want_text(ld, v, what, "a name")) != CAS_OK) return st;
      if ((*slots[k] = strdup(v->text)) == NULL) return nomem(ld);
    }
  }
  return CAS_OK;
}

/* The satellite model's shocks, after the scenario's own: names resolved
 * against the bound classification and factor model, each effect checked
 * like a shock's (the error points at the link). A link on a variable
 * given year by year makes a shock whose effect changes by year. */
static cas_status bind_macro(loader *ld, const node *top, cas_scenario *sc) {
  if (sc->nmacro_links == 0) return CAS_OK;
  const node *links = map_find(map_find(top, "macro", NULL), "satellite", NULL);
  cas_shock *all = realloc(sc->shocks, (sc->nshocks + sc->nmacro_links) * sizeof *all);
  if (all == NULL) return nomem(ld);
  sc->shocks = all;
  cas_status st;
  int years = sc->horizon_years;
  for (size_t i = 0; i < sc->nmacro_links; i++) {
    const cas_macro_link *l = &sc->macro_links[i];
    const node *item = links->val[i];
    char where[48], what[96];
    snprintf(where, sizeof where, "macro.satellite[%zu]", i);
    const cas_macro_variable *mv = NULL;
    for (size_t k = 0; k < sc->nmacro_vars; k++)
      if (strcmp(sc->macro_vars[k].name, l->variable) == 0) mv = &sc->macro_vars[k];
    cas_shock sh = {.region = -1, .sector = -1, .city = -1, .factor = -1, .pd_multiplier = 1.0,
                    .ead_multiplier = 1.0, .line = item->line, .col = item->col,
                    .file = item->file, .derived = 1, .pd_at = item, .ead_at = item};
    const node *v;
    if ((v = map_find(item, "region", NULL)) != NULL) {
      snprintf(what, sizeof what, "%s.region", where);
      if ((st = class_name(ld, v, what, "region", &sc->tax->regions, &sh.region)) != CAS_OK) return st;
    }
    if ((v = map_find(item, "sector", NULL)) != NULL) {
      snprintf(what, sizeof what, "%s.sector", where);
      if ((st = class_name(ld, v, what, "sector", &sc->tax->sectors, &sh.sector)) != CAS_OK) return st;
    }
    const char *key = l->effect == CAS_MACRO_FACTOR ? "per_unit"
                      : l->effect == CAS_MACRO_PD  ? "pd_elasticity" : "lgd_per_unit";
    const node *at = map_find(item, key, NULL);
    if (l->effect == CAS_MACRO_FACTOR) {
      snprintf(what, sizeof what, "%s.factor", where);
      if ((st = factor_name(ld, sc->factors, map_find(item, "factor", NULL), what, &sh.factor)) != CAS_OK)
        return st;
    }
    /* The effect in every year: the shock's fields in each year, as for a
     * shock of the scenario. */
    int e = l->effect == CAS_MACRO_FACTOR ? EFFECT_SHIFT
            : l->effect == CAS_MACRO_PD   ? EFFECT_PD : EFFECT_LGD;
    double values[CAS_MAX_YEARS * CAS_SHOCK_NEFFECTS];
    for (int t = 0; t < years; t++) {
      double x = mv == NULL ? 0.0 : mv->by_year ? mv->by_year[t] : mv->value;
      double effect = l->coefficient * x;
      char year[32] = "";
      if (mv != NULL && mv->by_year != NULL && years > 1)
        snprintf(year, sizeof year, " in year %d", t + 1);
      if (l->effect == CAS_MACRO_FACTOR) {
        if (!(effect >= -10.0 && effect <= 10.0))
          return fail(ld, at, "%s: %s x %s = %.6g SD%s, a factor shift out of [-10, 10]", where,
                      key, l->variable, effect, year);
      } else if (l->effect == CAS_MACRO_PD) {
        effect = exp(effect);
        if (!(effect >= CAS_PD_MULTIPLIER_MIN && effect <= CAS_PD_MULTIPLIER_MAX))
          return fail(ld, at, "%s: exp(%s x %s) = %.6g%s, a PD multiplier out of [0.001, 1000]",
                      where, key, l->variable, effect, year);
      } else {
        if (!(effect >= -1.0 && effect <= 1.0))
          return fail(ld, at, "%s: %s x %s = %.6g%s, an LGD add-on out of [-1, 1]", where, key,
                      l->variable, effect, year);
      }
      for (int k = 0; k < CAS_SHOCK_NEFFECTS; k++)
        values[t * CAS_SHOCK_NEFFECTS + k] = *shock_effect(&sh, k);
      values[t * CAS_SHOCK_NEFFECTS + e] = effect;
    }
    *shock_effect(&sh, e) = values[e];
    if (mv != NULL && mv->by_year != NULL) {
      size_t size = (size_t)years * CAS_SHOCK_NEFFECTS * sizeof *sh.by_year;
      if ((sh.by_year = malloc(size)) == NULL) return nomem(ld);
      memcpy(sh.by_year, values, size);
      sh.per_year = 1u << e;
    }
    sc->shocks[sc->nshocks++] = sh;
  }
  return CAS_OK;
}

/* output: {per_path: auto | [segment, region, sector], realised_lgd: auto | true | false} */
static cas_status decode_output(loader *ld, const node *top, cas_scenario *sc) {
  sc->per_path_auto = 1;
  sc->per_path = 0;
  sc->realised_lgd = CAS_REALISED_LGD_AUTO;
  const node *o = map_find(top, "output", NULL), *v;
  if (o == NULL) return CAS_OK;
  cas_status st;
  if ((st = want_map(ld, o, "output", "a mapping (per_path, realised_lgd)")) != CAS_OK ||
      (st = check_keys(ld, o, "output", output_keys)) != CAS_OK)
    return st;
  if ((v = map_find(o, "realised_lgd", NULL)) != NULL) {
    if ((st = want_text(ld, v, "output.realised_lgd", "auto, true or false")) != CAS_OK) return st;
    int k = -1;
    for (int j = 0; realised_lgd_names[j]; j++)
      if (strcmp(v->text, realised_lgd_names[j]) == 0) k = j;
    if (k < 0) return fail(ld, v, "output.realised_lgd: got '%s', expected auto, true or false", v->text);
    sc->realised_lgd = k;
  }
  if ((v = map_find(o, "per_path", NULL)) == NULL) return CAS_OK;
  static const char expected[] =
      "auto or a sequence of groupings stored per path (segment, region, sector; [] for none)";
  if (v->kind == NODE_SCALAR && !v->null && strcmp(v->text, "auto") == 0) return CAS_OK;
  if ((st = want_seq(ld, v, "output.per_path", expected)) != CAS_OK) return st;
  sc->per_path_auto = 0;
  for (size_t i = 0; i < v->n; i++) {
    char what[48];
    snprintf(what, sizeof what, "output.per_path[%zu]", i);
    if ((st = want_text(ld, v->val[i], what, "segment, region or sector")) != CAS_OK) return st;
    int k = -1;
    for (int j = 0; per_path_names[j]; j++)
      if (strcmp(v->val[i]->text, per_path_names[j]) == 0) k = j;
    if (k < 0)
      return fail(ld, v->val[i], "%s: got '%s', expected segment, region or sector", what,
                  v->val[i]->text);
    if (sc->per_path & (1u << k))
      return fail(ld, v->val[i], "%s: '%s' is already listed", what, v->val[i]->text);
    sc->per_path |= 1u << k;
  }
  return CAS_OK;
}

/* importance_sampling: off | {level: a} | {loss: x} */
static cas_status decode_importance(loader *ld, const node *top, cas_scenario *sc) {
  sc->importance.mode = CAS_IS_OFF;
  sc->importance.plain_share = 0.0;
  const node *v = map_find(top, "importance_sampling", NULL), *k;
  if (v == NULL) return CAS_OK;
  static const char expected[] = "off, {level: A} (A in (0, 1), e.g. 0.999) or {loss: X} (CNY)";
  if (v->kind == NODE_SCALAR && !v->null && strcmp(v->text, "off") == 0) return CAS_OK;
  cas_status st;
  if ((st = want_map(ld, v, "importance_sampling", expected)) != CAS_OK ||
      (st = check_keys(ld, v, "importance_sampling", importance_keys)) != CAS_OK)
    return st;
  const node *level = map_find(v, "level", NULL), *loss = map_find(v, "loss", NULL);
  if ((level == NULL) == (loss == NULL))
    return fail(ld, v, "importance_sampling: got %s, expected one of level and loss",
                level ? "both level and loss" : "neither level nor loss");
  static const range R_IS_LEVEL = {0, 1, 1, 1, "a confidence level in (0, 1), e.g. 0.999"};
  static const range R_IS_LOSS = {0, 1e300, 1, 0, "a loss in CNY above 0"};
  static const range R_PLAIN = {0, 1, 0, 1, "a share in [0, 1) of the paths drawn without the shift"};
  if ((k = map_find(v, "plain_share", NULL)) != NULL &&
      (st = get_number(ld, k, "importance_sampling.plain_share", &R_PLAIN,
                       &sc->importance.plain_share)) != CAS_OK)
    return st;
  const node *at = level ? level : loss;
  sc->importance.at_line = at->line;
  sc->importance.at_col = at->col;
  sc->importance.at_file = at->file;
  if ((k = level) != NULL) {
    sc->importance.mode = CAS_IS_LEVEL;
    return get_number(ld, k, "importance_sampling.level", &R_IS_LEVEL, &sc->importance.level);
  }
  sc->importance.mode = CAS_IS_LOSS;
  return get_number(ld, loss, "importance_sampling.loss", &R_IS_LOSS, &sc->importance.loss);
}

unsigned cas_scenario_per_path(const cas_scenario *sc, int nsegments) {
  if (!sc->per_path_auto) return sc->per_path;
  return nsegments <= CAS_PER_PATH_AUTO_SEGMENTS ? CAS_PER_PATH_SEGMENT
                                                 : CAS_PER_PATH_REGION | CAS_PER_PATH_SECTOR;
}

static cas_status decode(loader *ld, const node *top, cas_scenario *sc) {
  cas_status st = check_keys(ld, top, "scenario", top_keys);
  if (st == CAS_OK) st = decode_header(ld, top, sc);
  if (st == CAS_OK) st = decode_portfolio(ld, top, sc);
  if (st == CAS_OK) st = decode_classification(ld, top, sc);
  if (st == CAS_OK) st = decode_network(ld, top, sc);
  if (st == CAS_OK) st = decode_model(ld, top, sc);
  if (st == CAS_OK) st = decode_shocks(ld, top, sc);
  if (st == CAS_OK) st = decode_contagion(ld, top, sc);
  if (st == CAS_OK) st = decode_macro(ld, top, sc);
  if (st == CAS_OK) st = decode_mitigants(ld, top, sc);
  if (st == CAS_OK) st = decode_output(ld, top, sc);
  if (st == CAS_OK) st = decode_importance(ld, top, sc);
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
  if (st == CAS_OK) {
    /* The tree stays with the scenario: binding reads it. */
    sc->tree = malloc(sizeof *sc->tree);
    if (sc->tree == NULL) st = nomem(&ld);
    else {
      sc->tree->mem = ld.mem;
      sc->tree->top = top;
      ld.mem = (arena){0};
    }
  }
  if (st == CAS_OK) {
    /* Bind now when the classification is known without the book. */
    cas_taxonomy *known = sc->declared;
    cas_taxonomy *book = NULL;
    if (known == NULL && sc->portfolio.source == CAS_PORTFOLIO_BUILTIN) {
      /* the built-in book's own classification (its model declares it) */
      const cas_book_model *m = cas_book_lookup(sc->portfolio.builtin);
      known = book = m ? m->classification() : NULL;
      if (known == NULL) st = nomem(&ld);
    }
    if (st == CAS_OK && known != NULL) st = cas_scenario_bind(sc, known, err);
    cas_taxonomy_destroy(book);
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

/* model.lgd_sd by sector of the bound classification. */
static cas_status bind_lgd_sd(loader *ld, const node *top, cas_scenario *sc) {
  int n = sc->tax->sectors.n;
  sc->lgd_sd = malloc((size_t)(n ? n : 1) * sizeof *sc->lgd_sd);
  if (sc->lgd_sd == NULL) return nomem(ld);
  for (int s = 0; s < n; s++) sc->lgd_sd[s] = CAS_LGD_SD_DEFAULT;
  const node *model = map_find(top, "model", NULL);
  const node *v = model ? map_find(model, "lgd_sd", NULL) : NULL;
  if (v == NULL) return CAS_OK;
  cas_status st;
  if (v->kind != NODE_MAP) {
    double sd;
    if ((st = get_number(ld, v, "model.lgd_sd", &R_LGD_SD, &sd)) != CAS_OK) return st;
    for (int s = 0; s < n; s++) sc->lgd_sd[s] = sd;
    return CAS_OK;
  }
  for (size_t i = 0; i < v->n; i++) {
    int s;
    if ((st = class_name(ld, v->key[i], "model.lgd_sd", "sector", &sc->tax->sectors, &s)) != CAS_OK)
      return st;
    char what[160];
    snprintf(what, sizeof what, "model.lgd_sd.%s", v->key[i]->text);
    if ((st = get_number(ld, v->val[i], what, &R_LGD_SD, &sc->lgd_sd[s])) != CAS_OK) return st;
  }
  return CAS_OK;
}

/* One IRB class name: *out its cas_irb_class. */
static cas_status irb_class_name(loader *ld, const node *v, const char *what, int *out) {
  char list[128];
  join_names(cas_irb_class_names, list, sizeof list);
  char expected[160];
  snprintf(expected, sizeof expected, "an IRB asset class (%s)", list);
  cas_status st = want_text(ld, v, what, expected);
  if (st != CAS_OK) return st;
  for (int k = 0; k < CAS_IRB_NCLASSES; k++)
    if (strcmp(v->text, cas_irb_class_names[k]) == 0) {
      *out = k;
      return CAS_OK;
    }
  return fail(ld, v, "%s: unknown IRB asset class '%s' (expected one of: %s)", what, v->text, list);
}

/* model.irb_class by sector of the bound classification. */
static cas_status bind_irb_class(loader *ld, const node *top, cas_scenario *sc) {
  int n = sc->tax->sectors.n;
  sc->irb_class = malloc((size_t)(n ? n : 1) * sizeof *sc->irb_class);
  if (sc->irb_class == NULL) return nomem(ld);
  for (int s = 0; s < n; s++) sc->irb_class[s] = CAS_IRB_CORPORATE;
  const node *model = map_find(top, "model", NULL);
  const node *v = model ? map_find(model, "irb_class", NULL) : NULL;
  if (v == NULL) return CAS_OK;
  cas_status st;
  if (v->kind != NODE_MAP) {
    int k;
    if ((st = irb_class_name(ld, v, "model.irb_class", &k)) != CAS_OK) return st;
    for (int s = 0; s < n; s++) sc->irb_class[s] = k;
    return CAS_OK;
  }
  for (size_t i = 0; i < v->n; i++) {
    int s;
    if ((st = class_name(ld, v->key[i], "model.irb_class", "sector", &sc->tax->sectors, &s)) != CAS_OK)
      return st;
    char what[160];
    snprintf(what, sizeof what, "model.irb_class.%s", v->key[i]->text);
    if ((st = irb_class_name(ld, v->val[i], what, &sc->irb_class[s])) != CAS_OK) return st;
  }
  return CAS_OK;
}

static void unbind(cas_scenario *sc) {
  free(sc->lgd_sd);
  sc->lgd_sd = NULL;
  free(sc->irb_class);
  sc->irb_class = NULL;
  cas_taxonomy_destroy(sc->tax);
  cas_factor_model_destroy(sc->factors);
  for (size_t i = 0; i < sc->nshocks; i++) free(sc->shocks[i].by_year);
  free(sc->shocks);
  free(sc->contagion.spillover);
  sc->tax = NULL;
  sc->factors = NULL;
  sc->shocks = NULL;
  sc->contagion.spillover = NULL;
  sc->nshocks = sc->contagion.nspillover = 0;
}

cas_status cas_scenario_bind(cas_scenario *sc, const cas_taxonomy *tax, cas_error *err) {
  if (sc->tax != NULL && cas_taxonomy_equal(sc->tax, tax)) return CAS_OK;
  unbind(sc);
  loader ld = {.err = err};
  const node *top = sc->tree->top;
  sc->year = 0;
  cas_status st = CAS_OK;
  if ((sc->tax = cas_taxonomy_copy(tax)) == NULL) st = nomem(&ld);
  if (st == CAS_OK) st = bind_model(&ld, top, sc->tax, &sc->factors);
  if (st == CAS_OK) st = bind_lgd_sd(&ld, top, sc);
  if (st == CAS_OK) st = bind_irb_class(&ld, top, sc);
  if (st == CAS_OK) st = bind_shocks(&ld, top, sc);
  if (st == CAS_OK) st = bind_macro(&ld, top, sc);
  if (st == CAS_OK) st = bind_mitigants(&ld, top, sc);
  if (st == CAS_OK) st = check_pd_products(&ld, sc);
  const node *c = map_find(top, "contagion", NULL), *v;
  if (st == CAS_OK && c != NULL && (v = map_find(c, "spillover", NULL)) != NULL)
    st = bind_spillover(&ld, v, sc);
  if (st != CAS_OK) unbind(sc);
  return st;
}

cas_status cas_scenario_load(const char *path, cas_scenario **out, cas_error *err) {
  *out = NULL;
  char *text;
  size_t len;
  int e = read_all(path, &text, &len);
  if (e == ENOMEM) return cas_error_set(err, CAS_ERR_NOMEM, "out of memory reading '%s'", path);
  if (e != 0) return cas_error_set(err, CAS_ERR_INPUT, "cannot read scenario '%s': %s", path, read_error(e));
  return load(path, text, len, out, err);
}

cas_status cas_scenario_load_text(const char *text, const char *path, cas_scenario **out,
                                  cas_error *err) {
  *out = NULL;
  char *copy = strdup(text);
  if (copy == NULL) return cas_error_set(err, CAS_ERR_NOMEM, "out of memory loading '%s'", path);
  return load(path, copy, strlen(copy), out, err);
}

void cas_scenario_set_year(cas_scenario *sc, int year) {
  assert(year >= 0 && year < sc->horizon_years);
  for (size_t i = 0; i < sc->nshocks; i++) {
    cas_shock *sh = &sc->shocks[i];
    if (sh->by_year == NULL) continue;
    for (int e = 0; e < CAS_SHOCK_NEFFECTS; e++)
      *shock_effect(sh, e) = sh->by_year[year * CAS_SHOCK_NEFFECTS + e];
  }
  sc->year = year;
}

cas_status cas_scenario_add_factor_shift(cas_scenario *sc, int factor, const double *shift,
                                         cas_error *err) {
  int years = sc->horizon_years > 0 ? sc->horizon_years : 1;
  cas_shock *all = realloc(sc->shocks, (sc->nshocks + 1) * sizeof *all);
  if (!all) return cas_error_set(err, CAS_ERR_NOMEM, "out of memory (shocks)");
  sc->shocks = all;
  cas_shock sh = {.region = -1, .sector = -1, .city = -1, .factor = factor,
                  .pd_multiplier = 1.0, .ead_multiplier = 1.0, .factor_shift = shift[0],
                  .file = sc->nfiles ? sc->file_paths[0] : NULL};
  if (years > 1) {
    sh.by_year = calloc((size_t)years * CAS_SHOCK_NEFFECTS, sizeof *sh.by_year);
    if (!sh.by_year) return cas_error_set(err, CAS_ERR_NOMEM, "out of memory (shocks)");
    for (int t = 0; t < years; t++) {
      double *e = &sh.by_year[t * CAS_SHOCK_NEFFECTS];
      e[EFFECT_PD] = e[EFFECT_EAD] = 1.0;
      e[EFFECT_SHIFT] = shift[t];
    }
    sh.per_year = 1u << EFFECT_SHIFT;
    sh.factor_shift = shift[sc->year];
  }
  sc->shocks[sc->nshocks++] = sh;
  return CAS_OK;
}

void cas_scenario_destroy(cas_scenario *sc) {
  if (sc == NULL) return;
  unbind(sc);
  free(sc->name);
  free(sc->description);
  free(sc->portfolio.file);
  free(sc->network.file);
  cas_taxonomy_destroy(sc->declared);
  for (size_t i = 0; i < sc->nmitigants; i++) {
    cas_mitigant *m = &sc->mitigants[i];
    for (size_t k = 0; k < m->nids; k++) free(m->ids[k]);
    free(m->ids);
    free(m->id_line);
    free(m->id_col);
    free(m->name);
  }
  free(sc->mitigants);
  for (size_t i = 0; i < sc->nmacro_vars; i++) {
    free(sc->macro_vars[i].name);
    free(sc->macro_vars[i].by_year);
  }
  free(sc->macro_vars);
  for (size_t i = 0; i < sc->nmacro_links; i++) {
    free(sc->macro_links[i].variable);
    free(sc->macro_links[i].factor);
    free(sc->macro_links[i].region);
    free(sc->macro_links[i].sector);
  }
  free(sc->macro_links);
  if (sc->tree != NULL) {
    arena_free(&sc->tree->mem);
    free(sc->tree);
  }
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

/* "    KEY: value\n" for effect e of a shock: a flow list of one value per
 * year if it was given as one, else its value. */
static void put_effect(cas_buf *b, const cas_scenario *sc, const cas_shock *sh, int e) {
  cas_buf_printf(b, "    %s: ", cas_shock_effects[e]);
  if (sh->per_year & (1u << e)) {
    cas_buf_put(b, "[");
    for (int t = 0; t < sc->horizon_years; t++) {
      if (t) cas_buf_put(b, ", ");
      put_number(b, sh->by_year[t * CAS_SHOCK_NEFFECTS + e]);
    }
    cas_buf_put(b, "]");
  } else {
    put_number(b, shock_effect_value(sh, e));
  }
  cas_buf_put(b, "\n");
}

static int same_bits(double a, double b) { return memcmp(&a, &b, sizeof a) == 0; }

/* The most frequent correlation among the pairs of factors in [first,
 * first + n) (the first such value on a tie): written as the family's
 * correlation, so that only the pairs that differ from it are listed. */
static double common_pair_value(const cas_factor_model *m, int first, int n) {
  double best = 0.0;
  int best_count = 0, nf = m->nfactors;
  const double *c = m->corr;
  /* Candidates: the first row's values (a common value appears in it when
   * it covers most pairs); counting is O(n^2) per candidate. */
  for (int j = 1; j < n && j < 64; j++) {
    double v = c[first * nf + first + j];
    int count = 0;
    for (int k = 0; k < n; k++)
      for (int l = k + 1; l < n; l++) count += same_bits(c[(first + k) * nf + first + l], v);
    if (count > best_count) {
      best = v;
      best_count = count;
    }
  }
  return best;
}

static void put_names(cas_buf *b, const cas_names *names, int *utf8_ok) {
  cas_buf_put(b, "[");
  for (int i = 0; i < names->n; i++) {
    if (i) cas_buf_put(b, ", ");
    *utf8_ok &= put_string(b, names->name[i]);
  }
  cas_buf_put(b, "]");
}

/* 1 if the families are the default ones (global, region, sector). */
static int default_families(const cas_factor_model *m) {
  static const char *const names[3] = {"global", "region", "sector"};
  if (m->nfamilies != 3) return 0;
  for (int k = 0; k < 3; k++)
    if (strcmp(m->family[k].name, names[k]) != 0 || m->family[k].by != (cas_factor_by)k) return 0;
  return 1;
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
  cas_buf_printf(&b, "\nseed: %" PRIu64 "\npaths: %" PRIu64 "\nlevels: [", sc->seed, sc->paths);
  for (int l = 0; l < sc->nlevels; l++) {
    if (l) cas_buf_put(&b, ", ");
    put_number(&b, sc->levels[l]);
  }
  cas_buf_put(&b, "]\n");

  cas_buf_put(&b, "portfolio:\n");
  if (sc->portfolio.source == CAS_PORTFOLIO_FILE) {
    cas_buf_put(&b, "  file: ");
    utf8_ok &= put_string(&b, sc->portfolio.file);
    cas_buf_put(&b, "\n");
  } else {
    cas_buf_put(&b, "  builtin: ");
    utf8_ok &= put_string(&b, sc->portfolio.builtin);
    cas_buf_put(&b, "\n");
  }
  cas_buf_printf(&b, "  loans: %" PRIu64 "\n  seed: %" PRIu64 "\n", sc->portfolio.loans,
            sc->portfolio.seed);

  cas_buf_put(&b, "network:\n");
  if (sc->network.source == CAS_NETWORK_FILE) {
    cas_buf_put(&b, "  file: ");
    utf8_ok &= put_string(&b, sc->network.file);
    cas_buf_put(&b, "\n");
  } else {
    cas_buf_put(&b, "  builtin: ");
    utf8_ok &= put_string(&b, sc->network.source == CAS_NETWORK_BUILTIN ? sc->network.builtin
                                                                        : NETWORK_NONE);
    cas_buf_put(&b, "\n");
  }
  cas_buf_printf(&b, "  seed: %" PRIu64 "\n", sc->network.seed);

  const cas_taxonomy *tax = sc->tax;
  const cas_factor_model *m = sc->factors;
  if (tax == NULL || m == NULL) {
    cas_buf_free(&b);
    return cas_error_set(err, CAS_ERR_INTERNAL,
                         "scenario '%s': written before it was bound to a classification", sc->name);
  }
  if (sc->portfolio.source == CAS_PORTFOLIO_FILE) {
    /* The classification is part of the result: declare it. */
    if (strcmp(tax->source, "yrd") == 0) {
      cas_buf_put(&b, "classification: yrd\n");
    } else {
      cas_buf_put(&b, "classification:\n  regions: ");
      put_names(&b, &tax->regions, &utf8_ok);
      cas_buf_put(&b, "\n  sectors: ");
      put_names(&b, &tax->sectors, &utf8_ok);
      if (!tax->cities_open || tax->cities.n > 0) {
        cas_buf_put(&b, "\n  cities: ");
        put_names(&b, &tax->cities, &utf8_ok);
      }
      cas_buf_put(&b, "\n");
    }
  }

  cas_buf_put(&b, "model:\n  copula: ");
  utf8_ok &= put_string(&b, sc->copula);
  if (sc->copula_df > 0.0) {
    cas_buf_put(&b, "\n  degrees_of_freedom: ");
    put_number(&b, sc->copula_df);
  }
  cas_buf_put(&b, "\n  lgd: ");
  utf8_ok &= put_string(&b, sc->lgd_model);
  const cas_lgd_model *lm = cas_lgd_lookup(sc->lgd_model);
  if (lm && lm->stochastic) {
    cas_buf_put(&b, "\n  lgd_downturn: ");
    put_number(&b, sc->lgd_downturn);
    cas_buf_put(&b, "\n  lgd_sd: {");
    for (int s = 0; s < tax->sectors.n; s++) {
      if (s) cas_buf_put(&b, ", ");
      utf8_ok &= put_string(&b, tax->sectors.name[s]);
      cas_buf_put(&b, ": ");
      put_number(&b, sc->lgd_sd[s]);
    }
    cas_buf_put(&b, "}");
  }
  cas_buf_put(&b, "\n  irb_class: {");
  for (int s = 0; s < tax->sectors.n; s++) {
    if (s) cas_buf_put(&b, ", ");
    utf8_ok &= put_string(&b, tax->sectors.name[s]);
    cas_buf_printf(&b, ": %s", cas_irb_class_names[sc->irb_class[s]]);
  }
  cas_buf_put(&b, "}\n  irb_maturity: ");
  put_number(&b, sc->irb_maturity);
  int nf = m->nfactors, defaults = default_families(m);
  double *within = calloc((size_t)m->nfamilies, sizeof *within);
  if (within == NULL) b.failed = 1;
  for (int k = 0; within != NULL && k < m->nfamilies; k++)
    if (m->family[k].by != CAS_BY_NONE)
      within[k] = common_pair_value(m, m->family[k].first, m->family[k].count);
  if (!defaults) {
    cas_buf_put(&b, "\n  factors:");
    for (int k = 0; k < m->nfamilies; k++) {
      cas_buf_put(&b, "\n    - {name: ");
      utf8_ok &= put_string(&b, m->family[k].name);
      cas_buf_printf(&b, ", by: %s", cas_factor_by_names[m->family[k].by]);
      if (m->family[k].by != CAS_BY_NONE && within != NULL) {
        cas_buf_put(&b, ", correlation: ");
        put_number(&b, within[k]);
      }
      cas_buf_put(&b, "}");
    }
  }
  cas_buf_put(&b, "\n  loadings:\n");
  for (int s = 0; s < tax->sectors.n; s++) {
    cas_buf_put(&b, "    ");
    utf8_ok &= put_string(&b, tax->sectors.name[s]);
    cas_buf_put(&b, ": {");
    for (int k = 0; k < m->nfamilies; k++) {
      if (k) cas_buf_put(&b, ", ");
      utf8_ok &= put_string(&b, m->family[k].name);
      cas_buf_put(&b, ": ");
      put_number(&b, m->family_loading[s * m->nfamilies + k]);
    }
    cas_buf_put(&b, "}\n");
  }
  if (defaults && within != NULL) {
    cas_buf_put(&b, "  region_correlation: ");
    put_number(&b, within[1]);
    cas_buf_put(&b, "\n  sector_correlation: ");
    put_number(&b, within[2]);
    cas_buf_put(&b, "\n");
  }
  cas_buf_put(&b, "  correlations:");
  int npairs = 0;
  for (int i = 0; within != NULL && i < nf; i++)
    for (int j = i + 1; j < nf; j++) {
      double implied = 0.0;
      for (int k = 0; k < m->nfamilies; k++) {
        const cas_factor_family *f = &m->family[k];
        if (i >= f->first && j < f->first + f->count) implied = within[k];
      }
      if (same_bits(m->corr[i * nf + j], implied)) continue;
      cas_buf_put(&b, "\n    - {factors: [");
      utf8_ok &= put_string(&b, m->names.name[i]);
      cas_buf_put(&b, ", ");
      utf8_ok &= put_string(&b, m->names.name[j]);
      cas_buf_put(&b, "], value: ");
      put_number(&b, m->corr[i * nf + j]);
      cas_buf_put(&b, "}");
      npairs++;
    }
  cas_buf_put(&b, npairs ? "\n" : " []\n");
  free(within);
  cas_buf_printf(&b, "  horizon_years: %d\n  factor_autocorrelation: ", sc->horizon_years);
  put_number(&b, sc->factor_autocorrelation);
  cas_buf_put(&b, "\n");

  cas_buf_printf(&b, "factor_shift_mode: \"%s\"\n", cas_shift_mode_names[sc->factor_shift_mode]);
  size_t own = 0;
  for (size_t i = 0; i < sc->nshocks; i++) own += !sc->shocks[i].derived;
  cas_buf_put(&b, own ? "shocks:\n" : "shocks: []\n");
  for (size_t i = 0; i < sc->nshocks; i++) {
    const cas_shock *sh = &sc->shocks[i];
    if (sh->derived) continue;   /* written as the macro scenario below */
    cas_buf_printf(&b, "  # shocks[%zu]\n", i);
    if (sh->region >= 0) {
      cas_buf_put(&b, "  - region: ");
      utf8_ok &= put_string(&b, tax->regions.name[sh->region]);
      cas_buf_put(&b, "\n");
    } else {
      cas_buf_put(&b, "  - # region: all regions\n");
    }
    if (sh->sector >= 0) {
      cas_buf_put(&b, "    sector: ");
      utf8_ok &= put_string(&b, tax->sectors.name[sh->sector]);
      cas_buf_put(&b, "\n");
    } else {
      cas_buf_put(&b, "    # sector: all sectors\n");
    }
    if (sh->city >= 0) {
      cas_buf_put(&b, "    city: ");
      utf8_ok &= put_string(&b, tax->cities.name[sh->city]);
      cas_buf_put(&b, "\n");
    }
    for (int e = EFFECT_PD; e <= EFFECT_EAD; e++) put_effect(&b, sc, sh, e);
    if (sh->ccf_add != 0.0 || (sh->per_year & (1u << EFFECT_CCF))) put_effect(&b, sc, sh, EFFECT_CCF);
    if (sh->collateral_haircut != 0.0 || (sh->per_year & (1u << EFFECT_HAIRCUT)))
      put_effect(&b, sc, sh, EFFECT_HAIRCUT);
    if (sh->factor >= 0) {
      cas_buf_put(&b, "    factor: ");
      utf8_ok &= put_string(&b, m->names.name[sh->factor]);
      cas_buf_put(&b, "\n");
      put_effect(&b, sc, sh, EFFECT_SHIFT);
    }
  }

  for (size_t i = 0; i < sc->nmitigants; i++) {
    const cas_mitigant *mg = &sc->mitigants[i];
    cas_buf_put(&b, i ? "\n  - {name: " : "mitigants:\n  - {name: ");
    utf8_ok &= put_string(&b, mg->name);
    cas_buf_printf(&b, ", kind: %s", cas_mitigant_kinds[mg->kind]);
    const char *keys[3] = {"region", "sector", "city"};
    const cas_names *names[3] = {&tax->regions, &tax->sectors, &tax->cities};
    int at[3] = {mg->region, mg->sector, mg->city};
    for (int k = 0; k < 3; k++)
      if (at[k] >= 0) {
        cas_buf_printf(&b, ", %s: ", keys[k]);
        utf8_ok &= put_string(&b, names[k]->name[at[k]]);
      }
    if (mg->nids) {
      cas_buf_put(&b, ", ids: [");
      for (size_t k = 0; k < mg->nids; k++) {
        if (k) cas_buf_put(&b, ", ");
        utf8_ok &= put_string(&b, mg->ids[k]);
      }
      cas_buf_put(&b, "]");
    }
    cas_buf_put(&b, ", share: ");
    put_number(&b, mg->share);
    if (isfinite(mg->cap_per_loan)) {
      cas_buf_put(&b, ", cap_per_loan: ");
      put_number(&b, mg->cap_per_loan);
    }
    if (isfinite(mg->cap_per_year)) {
      cas_buf_put(&b, ", cap_per_year: ");
      put_number(&b, mg->cap_per_year);
    }
    cas_buf_put(&b, ", cap: ");
    put_number(&b, mg->cap);
    cas_buf_put(&b, i + 1 == sc->nmitigants ? "}\n" : "}");
  }
  if (sc->nmacro_vars || sc->nmacro_links) {
    cas_buf_put(&b, "macro:\n  variables:");
    for (size_t i = 0; i < sc->nmacro_vars; i++) {
      cas_buf_put(&b, "\n    ");
      utf8_ok &= put_string(&b, sc->macro_vars[i].name);
      cas_buf_put(&b, ": ");
      const cas_macro_variable *mv = &sc->macro_vars[i];
      if (mv->by_year == NULL) {
        put_number(&b, mv->value);
        continue;
      }
      cas_buf_put(&b, "[");
      for (int t = 0; t < sc->horizon_years; t++) {
        if (t) cas_buf_put(&b, ", ");
        put_number(&b, mv->by_year[t]);
      }
      cas_buf_put(&b, "]");
    }
    cas_buf_put(&b, sc->nmacro_vars ? "\n  satellite:" : " {}\n  satellite:");
    for (size_t i = 0; i < sc->nmacro_links; i++) {
      const cas_macro_link *l = &sc->macro_links[i];
      cas_buf_put(&b, "\n    - {variable: ");
      utf8_ok &= put_string(&b, l->variable);
      const char *names[3] = {"factor", "region", "sector"};
      const char *vals[3] = {l->factor, l->region, l->sector};
      for (int k = 0; k < 3; k++)
        if (vals[k]) {
          cas_buf_printf(&b, ", %s: ", names[k]);
          utf8_ok &= put_string(&b, vals[k]);
        }
      cas_buf_printf(&b, ", %s: ", l->effect == CAS_MACRO_FACTOR ? "per_unit"
                                   : l->effect == CAS_MACRO_PD  ? "pd_elasticity" : "lgd_per_unit");
      put_number(&b, l->coefficient);
      cas_buf_put(&b, "}");
    }
    cas_buf_put(&b, sc->nmacro_links ? "\n" : " []\n");
  }
  cas_buf_put(&b, "contagion:\n  model: ");
  utf8_ok &= put_string(&b, sc->contagion.model);
  cas_buf_put(&b, "\n  supply_chain_scale: ");
  put_number(&b, sc->contagion.supply_chain_scale);
  cas_buf_put(&b, "\n  guarantee_scale: ");
  put_number(&b, sc->contagion.guarantee_scale);
  cas_buf_printf(&b, "\n  max_rounds: %" PRIu32 "\n", sc->contagion.max_rounds);
  cas_buf_put(&b, sc->contagion.nspillover ? "  spillover:\n" : "  spillover: []\n");
  for (size_t i = 0; i < sc->contagion.nspillover; i++) {
    const cas_spillover *sp = &sc->contagion.spillover[i];
    cas_buf_put(&b, "    - {region: ");
    utf8_ok &= put_string(&b, tax->regions.name[cas_taxonomy_segment_region(tax, sp->segment)]);
    cas_buf_put(&b, ", sector: ");
    utf8_ok &= put_string(&b, tax->sectors.name[cas_taxonomy_segment_sector(tax, sp->segment)]);
    cas_buf_put(&b, ", factor: ");
    utf8_ok &= put_string(&b, m->names.name[sp->factor]);
    cas_buf_put(&b, ", beta: ");
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
  if (sc->per_path_auto) {
    cas_buf_put(&b, "output: {per_path: auto");
  } else {
    cas_buf_put(&b, "output: {per_path: [");
    for (int j = 0, first = 1; per_path_names[j]; j++)
      if (sc->per_path & (1u << j)) {
        cas_buf_printf(&b, "%s%s", first ? "" : ", ", per_path_names[j]);
        first = 0;
      }
    cas_buf_put(&b, "]");
  }
  cas_buf_printf(&b, ", realised_lgd: %s}\n", realised_lgd_names[sc->realised_lgd]);
  if (sc->importance.mode == CAS_IS_OFF) {
    cas_buf_put(&b, "importance_sampling: off\n");
  } else {
    cas_buf_put(&b, sc->importance.mode == CAS_IS_LEVEL ? "importance_sampling: {level: "
                                                        : "importance_sampling: {loss: ");
    put_number(&b, sc->importance.mode == CAS_IS_LEVEL ? sc->importance.level : sc->importance.loss);
    cas_buf_put(&b, ", plain_share: ");
    put_number(&b, sc->importance.plain_share);
    cas_buf_put(&b, "}\n");
  }

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
