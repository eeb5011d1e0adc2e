/*
 * portfolio.c: loading and exporting loan books (portfolio.h). The built-in
 * book is a model of models/books (models/books/yrd.c).
 *
 * CSV format (cas_portfolio_load_csv)
 *   One header row naming the columns, in any order: id, region, sector,
 *   ead, pd, lgd are required, city, park, limit, ccf, maturity,
 *   amortisation and collateral optional (portfolio.h); names are exact
 *   (lower case), each at most once. Then one loan per line. Accepted
 *   around that: a UTF-8 byte-order mark, CRLF or LF line ends, spaces and
 *   tabs around fields, blank lines (skipped), and fields in double quotes
 *   ("a, b" with "" for a quote inside; a quoted field cannot span lines).
 *   region, sector and city are names (cas_name_check) that make the
 *   book's classification in order of first appearance, or must be among
 *   the names a scenario declares (portfolio.h); an empty city or park
 *   means none. Park values are any text, numbered 0, 1, ... in order
 *   of first appearance (park_names keeps the text).
 *
 * Error positions: every message about the file is "path:line:col: reason
 *   (got X, expected Y)". line is the 1-based physical line; col is the
 *   1-based character position (UTF-8 code points, the byte-order mark not
 *   counted) where the offending field starts after its leading spaces (at
 *   its opening quote if quoted). Errors about the whole header (a missing
 *   column) or the whole file (empty) omit col or line. The first error
 *   is the one reported; within a row the fields are checked left to
 *   right, then the id against earlier ids, then the city against the
 *   region. The id check runs once the rows are read (check_ids: over the
 *   rows before the first other error, if any) and reports what the
 *   row-by-row order would have found first: a repeated id on a row before
 *   a bad field wins, the row's position re-read from the file.
 *
 * Scale: the file is read line by line (getline), so memory is the
 *   portfolio itself plus the ids: one pool of NUL-terminated ids with a
 *   64-bit offset per loan, and each id's 64-bit hash. Duplicates are
 *   found after the rows by partitioning the hashes (cas_first_repeat,
 *   repeats.h: sequential passes instead of a table's random probes; the
 *   ids are compared only where hashes agree). Row arrays grow by doubling
 *   and are trimmed at the end.
 */
#include "portfolio.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "csv.h"
#include "ksum.h"
#include "memory.h"
#include "repeats.h"
#include "portfolio_build.h"

/* ======================================================================
 * Small helpers
 * ====================================================================== */

#define MAX_LOANS_CSV 2147483647ULL      /* plan positions fit in 31 bits (run.c) */

/* ---- A pool of NUL-terminated strings, each with its offset. ---- */
typedef struct strpool {
  char *buf;
  size_t size, cap;
  uint64_t *off;
  size_t n, ncap;
} strpool;

static int strpool_add(strpool *p, const char *s, size_t len) {
  if (p->size + len + 1 > p->cap) {
    size_t cap = p->cap ? p->cap : 4096;
    while (cap < p->size + len + 1) cap *= 2;
    char *b = realloc(p->buf, cap);
    if (!b) return -1;
    p->buf = b;
    p->cap = cap;
  }
  if (p->n == p->ncap) {
    size_t ncap = p->ncap ? 2 * p->ncap : 1024;
    uint64_t *o = realloc(p->off, ncap * sizeof *o);
    if (!o) return -1;
    p->off = o;
    p->ncap = ncap;
  }
  memcpy(p->buf + p->size, s, len);
  p->buf[p->size + len] = '\0';
  p->off[p->n++] = p->size;
  p->size += len + 1;
  return 0;
}

static void strpool_free(strpool *p) {
  free(p->buf);
  free(p->off);
  memset(p, 0, sizeof *p);
}

/* ---- Open-addressing set of the strings of a pool. ----
 * Slot: (32-bit hash << 32) | (string index + 1), 0 when empty. The slot
 * position is the hash modulo the power-of-two capacity, probing linearly;
 * capacity stays at least twice the count. */
typedef struct strset {
  uint64_t *slot;
  size_t mask;  /* capacity - 1 */
  size_t count;
} strset;

static int strset_grow(strset *t) {
  size_t cap = t->slot ? 2 * (t->mask + 1) : 1024;
  uint64_t *s = calloc(cap, sizeof *s);
  if (!s) return -1;
  if (t->slot) {
    for (size_t i = 0; i <= t->mask; i++) {
      uint64_t v = t->slot[i];
      if (!v) continue;
      size_t j = (size_t)(v >> 32) & (cap - 1);
      while (s[j]) j = (j + 1) & (cap - 1);
      s[j] = v;
    }
    free(t->slot);
  }
  t->slot = s;
  t->mask = cap - 1;
  return 0;
}

static uint32_t strset_hash(const char *s, size_t len) { return (uint32_t)(cas_csv_hash(s, len) >> 32); }

/* Makes room for one more string; -1 when out of memory. */
static int strset_reserve(strset *t) {
  if (!t->slot || (t->count + 1) * 2 > t->mask + 1) return strset_grow(t);
  return 0;
}

/* Finds s (hash h = strset_hash(s)) in the set, which must have room
 * (strset_reserve); if absent, adds it to pool and set. Returns the
 * string's index in *index and 1 if it was already there, 0 if added, -1
 * when out of memory. */
static int strset_intern(strset *t, strpool *pool, const char *s, size_t len, uint32_t h, size_t *index) {
  size_t j = h & t->mask;
  for (;;) {
    uint64_t v = t->slot[j];
    if (!v) break;
    if ((uint32_t)(v >> 32) == h) {
      size_t k = (size_t)(uint32_t)v - 1;
      const char *other = pool->buf + pool->off[k];
      if (memcmp(other, s, len) == 0 && other[len] == '\0') {
        *index = k;
        return 1;
      }
    }
    j = (j + 1) & t->mask;
  }
  if (strpool_add(pool, s, len)) return -1;
  *index = pool->n - 1;
  t->slot[j] = ((uint64_t)h << 32) | (uint64_t)(*index + 1);
  t->count++;
  return 0;
}

/* ======================================================================
 * Create, destroy, accessors
 * ====================================================================== */

cas_portfolio *cas_portfolio_alloc(size_t cap) {
  cas_portfolio *p = calloc(1, sizeof *p);
  if (!p) return NULL;
  if (cap == 0) cap = 1;
  p->ead = malloc(cap * sizeof *p->ead);
  p->pd = malloc(cap * sizeof *p->pd);
  p->lgd = malloc(cap * sizeof *p->lgd);
  p->region = malloc(cap * sizeof *p->region);
  p->sector = malloc(cap * sizeof *p->sector);
  p->city = malloc(cap * sizeof *p->city);
  p->park = malloc(cap * sizeof *p->park);
  if (!p->ead || !p->pd || !p->lgd || !p->region || !p->sector || !p->city || !p->park) {
    cas_portfolio_destroy(p);
    return NULL;
  }
  return p;
}

/* The arrays with one element a row: X(field) for each (the optional
 * columns' are NULL when the file has none). */
#define ROW_ARRAYS(X)                                                                        \
  X(ead) X(pd) X(lgd) X(region) X(sector) X(city) X(park) X(limit) X(ccf) X(maturity)        \
  X(amortisation) X(collateral)

/* Resizes the row arrays to cap rows (growing or trimming). */
static int portfolio_resize(cas_portfolio *p, size_t cap) {
  void *q;
  if (cap == 0) cap = 1;
#define RESIZE(field)                                   \
  if (p->field) {                                       \
    q = realloc(p->field, cap * sizeof *p->field);      \
    if (!q) return -1;                                  \
    p->field = q;                                       \
  }
  ROW_ARRAYS(RESIZE)
#undef RESIZE
  return 0;
}

void cas_portfolio_destroy(cas_portfolio *p) {
  if (!p) return;
  free(p->ead);
  free(p->pd);
  free(p->lgd);
  free(p->region);
  free(p->sector);
  free(p->city);
  free(p->park);
  free(p->limit);
  free(p->ccf);
  free(p->maturity);
  free(p->amortisation);
  free(p->collateral);
  free(p->id_pool);
  free(p->id_offset);
  free(p->park_names);
  cas_taxonomy_destroy(p->tax);
  free(p);
}

const char *cas_portfolio_id(const cas_portfolio *p, size_t i, char *buf, size_t size) {
  if (p->id_pool) return p->id_pool + p->id_offset[i];
  snprintf(buf, size, "YRD%09zu", i);
  return buf;
}

const char *cas_portfolio_park_name(const cas_portfolio *p, int32_t park, char *buf, size_t size) {
  if (park < 0) return "";
  if (p->park_names && park < p->npark_names) return p->park_names[park];
  snprintf(buf, size, "park-%d", (int)park);
  return buf;
}

cas_status cas_segment_totals_init(cas_segment_totals *t, int n, cas_error *err) {
  size_t m = n > 0 ? (size_t)n : 1;
  *t = (cas_segment_totals){.n = n};
  t->loans = calloc(m, sizeof *t->loans);
  t->ead = calloc(m, sizeof *t->ead);
  t->expected_loss = calloc(m, sizeof *t->expected_loss);
  t->expected_defaults = calloc(m, sizeof *t->expected_defaults);
  if (!t->loans || !t->ead || !t->expected_loss || !t->expected_defaults)
    return cas_error_set(err, CAS_ERR_NOMEM, "out of memory (totals of %d segments)", n);
  return CAS_OK;
}

void cas_segment_totals_free(cas_segment_totals *t) {
  free(t->loans);
  free(t->ead);
  free(t->expected_loss);
  free(t->expected_defaults);
  *t = (cas_segment_totals){0};
}

cas_status cas_portfolio_totals(const cas_portfolio *p, cas_segment_totals *out, cas_error *err) {
  cas_status st = cas_segment_totals_init(out, p->tax->nsegments, err);
  if (st != CAS_OK) return st;
  /* exact to rounding whatever the amounts and counts (ksum.h) */
  size_t nseg = (size_t)p->tax->nsegments;
  cas_ksum *k = calloc(3 * (nseg ? nseg : 1), sizeof *k);
  if (!k) return cas_error_set(err, CAS_ERR_NOMEM, "out of memory (segment totals)");
  for (size_t i = 0; i < p->n; i++) {
    int s = cas_taxonomy_segment(p->tax, p->region[i], p->sector[i]);
    out->loans[s]++;
    double ead = cas_portfolio_ead(p, i);
    cas_ksum_add(&k[3 * (size_t)s], ead);
    cas_ksum_add(&k[3 * (size_t)s + 1], p->pd[i] * p->lgd[i] * ead);
    cas_ksum_add(&k[3 * (size_t)s + 2], p->pd[i]);
  }
  for (size_t s = 0; s < nseg; s++) {
    out->ead[s] = cas_ksum_value(&k[3 * s]);
    out->expected_loss[s] = cas_ksum_value(&k[3 * s + 1]);
    out->expected_defaults[s] = cas_ksum_value(&k[3 * s + 2]);
  }
  free(k);
  return CAS_OK;
}

/* ======================================================================
 * CSV loader
 * ====================================================================== */

enum { COL_ID, COL_REGION, COL_SECTOR, COL_EAD, COL_PD, COL_LGD, COL_CITY, COL_PARK, COL_LIMIT,
       COL_CCF, COL_MATURITY, COL_AMORTISATION, COL_COLLATERAL, NCOLS };

static const char *const col_names[NCOLS] = {"id", "region", "sector", "ead", "pd", "lgd", "city",
                                             "park", "limit", "ccf", "maturity", "amortisation",
                                             "collateral"};
static const int col_required[NCOLS] = {1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0};

/* Values of the amortisation column, by CAS_AMORTISATION_* (empty: bullet). */
static const char *const amortisation_names[] = {"bullet", "linear"};
static const cas_csv_columns columns = {col_names, col_required, NCOLS};

typedef struct loader {
  cas_csv_reader csv;
  int col_of[NCOLS];  /* field index of each column, or -1 */
  int kind_of[NCOLS]; /* column of each field index */
  int ncols;          /* fields per row */
  cas_portfolio *p;
  size_t row_cap;
  strpool ids, parks;
  uint64_t *id_hash;  /* [ids.n] cas_csv_hash of each row's id, for the duplicate check */
  size_t id_hash_cap;
  strset park_set;
  int declared;       /* the classification is declared: values must be in it */
  size_t mapped_rows; /* rows whose memory map_ahead has mapped */
} loader;

#define FAIL_AT(off, ...) cas_csv_fail(&L->csv, (off), __VA_ARGS__)

/* A region, sector or city value: its index in names, added (in order of
 * first appearance) unless the classification is declared. */
static cas_status class_value(loader *L, const cas_csv_field *f, cas_names *names, const char *what,
                              int *out) {
  const char *t = f->text;
  size_t len = strlen(t);
  int k = cas_names_find(names, t, len);
  char g[CAS_CSV_QUOTE_SIZE];
  if (k < 0 && L->declared && !(names == &L->p->tax->cities && L->p->tax->cities_open)) {
    char list[512];
    cas_names_list(names, 12, list, sizeof list);
    return FAIL_AT(f->start, "unknown %s %s (expected one of the %d declared: %s)", what,
                   cas_csv_quote(t, g, sizeof g), names->n, names->n ? list : "none");
  }
  if (k < 0) {
    const char *bad = cas_name_check(t, len);
    if (bad != NULL)
      return FAIL_AT(f->start, "%s %s %s (expected a name of letters, digits, '_' or '-')", what,
                     cas_csv_quote(t, g, sizeof g), bad);
    k = names == &L->p->tax->cities ? cas_taxonomy_add_city(L->p->tax, t, len, -1)
                                     : cas_names_add(names, t, len);
    if (k == -1) return cas_csv_nomem(&L->csv);
    if (k < 0)
      return FAIL_AT(f->start, "too many distinct %s values (got more than %d, expected fewer)", what,
                     CAS_NAMES_MAX);
  }
  *out = k;
  return CAS_OK;
}

static cas_status parse_row(loader *L, char *s, size_t n) {
  cas_csv_field f[NCOLS + 1];
  cas_status st = cas_csv_split_row(&L->csv, s, n, f, L->ncols);
  if (st) return st;
  int count = L->ncols;
  cas_portfolio *p = L->p;
  size_t i = p->n;
  if (i >= MAX_LOANS_CSV)
    return FAIL_AT(0, "too many loans (got more than %llu, expected fewer)", (unsigned long long)MAX_LOANS_CSV);
  if (i == L->row_cap) {
    size_t cap = 2 * L->row_cap;
    if (portfolio_resize(p, cap)) return cas_csv_nomem(&L->csv);
    L->row_cap = cap;
  }
  const cas_csv_field *id = &f[L->col_of[COL_ID]];
  size_t id_len = strlen(id->text);
  char g[CAS_CSV_QUOTE_SIZE];
  int region = -1, city = CAS_NONE;
  size_t city_start = 0, limit_start = 0, ccf_start = 0, amortisation_start = 0;
  double limit = -1.0, ccf = -1.0;   /* -1: empty */
  double maturity = INFINITY, collateral = 0.0;   /* empty: none */
  int amortisation = CAS_AMORTISATION_BULLET;
  int32_t park = -1;
  for (int k = 0; k < count; k++) {
    int c = L->kind_of[k];
    const char *t = f[k].text;
    double v = 0.0;
    switch (c) {
    case COL_ID:
      if (*t == '\0') return FAIL_AT(f[k].start, "empty id (got '', expected a non-empty loan id)");
      break; /* duplicates: after the last row (check_ids) */
    case COL_REGION:
      if ((st = class_value(L, &f[k], &p->tax->regions, "region", &region)) != CAS_OK) return st;
      p->region[i] = (uint16_t)region;
      break;
    case COL_SECTOR: {
      int sector;
      if ((st = class_value(L, &f[k], &p->tax->sectors, "sector", &sector)) != CAS_OK) return st;
      p->sector[i] = (uint16_t)sector;
      break;
    }
    case COL_EAD:
    case COL_PD:
    case COL_LGD:
      if (!cas_csv_number(t, &v))
        return FAIL_AT(f[k].start, "%s is not a number (got %s, expected a decimal number)", col_names[c],
                       cas_csv_quote(t, g, sizeof g));
      if (c == COL_EAD) {
        if (!(v > 0 && v <= CAS_AMOUNT_MAX))
          return FAIL_AT(f[k].start, "ead out of range (got %s, expected an amount > 0 and at most 1e15 [CNY])",
                         cas_csv_quote(t, g, sizeof g));
        p->ead[i] = v;
      } else if (c == COL_PD) {
        if (!(v > 0 && v < 1))
          return FAIL_AT(f[k].start, "pd out of range (got %s, expected a probability in (0, 1))",
                         cas_csv_quote(t, g, sizeof g));
        p->pd[i] = v;
      } else {
        if (!(v >= 0 && v <= 1))
          return FAIL_AT(f[k].start, "lgd out of range (got %s, expected a fraction of EAD in [0, 1])",
                         cas_csv_quote(t, g, sizeof g));
        p->lgd[i] = v;
      }
      break;
    case COL_CITY:
      if (*t) {
        if ((st = class_value(L, &f[k], &p->tax->cities, "city", &city)) != CAS_OK) return st;
        city_start = f[k].start;
      }
      break;
    case COL_LIMIT:
    case COL_CCF:
      if (!*t) break;
      if (!cas_csv_number(t, &v))
        return FAIL_AT(f[k].start, "%s is not a number (got %s, expected a decimal number)", col_names[c],
                       cas_csv_quote(t, g, sizeof g));
      if (c == COL_LIMIT) {
        if (!(v > 0 && v <= CAS_AMOUNT_MAX))
          return FAIL_AT(f[k].start, "limit out of range (got %s, expected an amount > 0 and at most 1e15 [CNY])",
                         cas_csv_quote(t, g, sizeof g));
        limit = v;
        limit_start = f[k].start;
      } else {
        if (!(v >= 0 && v <= 1))
          return FAIL_AT(f[k].start, "ccf out of range (got %s, expected a fraction in [0, 1])",
                         cas_csv_quote(t, g, sizeof g));
        ccf = v;
        ccf_start = f[k].start;
      }
      break;
    case COL_MATURITY:
    case COL_COLLATERAL:
      if (!*t) break;
      if (!cas_csv_number(t, &v))
        return FAIL_AT(f[k].start, "%s is not a number (got %s, expected a decimal number)", col_names[c],
                       cas_csv_quote(t, g, sizeof g));
      if (c == COL_MATURITY) {
        if (!(v > 0 && v <= 1000))
          return FAIL_AT(f[k].start, "maturity out of range (got %s, expected a number of "
                                     "years > 0 and at most 1000, or empty for none)", cas_csv_quote(t, g, sizeof g));
        maturity = v;
      } else {
        if (!(v >= 0 && v <= CAS_AMOUNT_MAX))
          return FAIL_AT(f[k].start, "collateral out of range (got %s, expected an amount >= 0 "
                                     "and at most 1e15 [CNY], or empty for none)", cas_csv_quote(t, g, sizeof g));
        collateral = v == 0.0 ? 0.0 : v;   /* -0 is 0 */
      }
      break;
    case COL_AMORTISATION:
      if (!*t) break;
      if (strcmp(t, amortisation_names[CAS_AMORTISATION_LINEAR]) == 0)
        amortisation = CAS_AMORTISATION_LINEAR;
      else if (strcmp(t, amortisation_names[CAS_AMORTISATION_BULLET]) != 0)
        return FAIL_AT(f[k].start, "unknown amortisation %s (expected linear, bullet or empty for "
                                   "bullet)", cas_csv_quote(t, g, sizeof g));
      amortisation_start = f[k].start;
      break;
    case COL_PARK:
      if (*t) {
        size_t index, len = strlen(t);
        if (strset_reserve(&L->park_set)) return cas_csv_nomem(&L->csv);
        int r = strset_intern(&L->park_set, &L->parks, t, len, strset_hash(t, len), &index);
        if (r < 0) return cas_csv_nomem(&L->csv);
        if (index >= (size_t)INT32_MAX)
          return FAIL_AT(f[k].start, "too many parks (got more than %d, expected fewer)", INT32_MAX);
        park = (int32_t)index;
      }
      break;
    }
  }
  /* The id is kept with its hash; duplicates are looked for once the rows
   * are read (check_ids), in the order this check would have found them. */
  if (L->ids.n == L->id_hash_cap) {
    size_t cap = L->id_hash_cap ? 2 * L->id_hash_cap : 1024;
    uint64_t *h = realloc(L->id_hash, cap * sizeof *h);
    if (!h) return cas_csv_nomem(&L->csv);
    L->id_hash = h;
    L->id_hash_cap = cap;
  }
  if (strpool_add(&L->ids, id->text, id_len)) return cas_csv_nomem(&L->csv);
  L->id_hash[L->ids.n - 1] = cas_csv_hash(id->text, id_len);
  const cas_taxonomy *tax = p->tax;
  if (city != CAS_NONE && tax->city_region[city] >= 0 && tax->city_region[city] != region) {
    char list[512];
    size_t used = 0;
    list[0] = '\0';
    for (int c = 0; c < tax->cities.n && used < sizeof list; c++)
      if (tax->city_region[c] == region) {
        int w = snprintf(list + used, sizeof list - used, "%s%s", used ? ", " : "", tax->cities.name[c]);
        if (w < 0) break;
        used += (size_t)w;
      }
    const char *rn = tax->regions.name[region];
    return FAIL_AT(city_start, "city '%s' is not in region '%s' (expected a city of %s: %s)",
                   tax->cities.name[city], rn, rn, used ? list : "none declared");
  }
  if (p->limit) {
    if (ccf >= 0.0 && limit < 0.0)
      return FAIL_AT(ccf_start, "ccf without a limit (got a ccf, expected a limit on the row: a "
                                "credit line's ccf applies to its undrawn part)");
    if (limit >= 0.0 && limit < p->ead[i])
      return FAIL_AT(limit_start, "limit below the drawn amount (got %.17g, expected at least the "
                                  "ead column's %.17g)", limit, p->ead[i]);
    p->limit[i] = limit >= 0.0 ? limit : p->ead[i];
    p->ccf[i] = limit >= 0.0 ? (ccf >= 0.0 ? ccf : CAS_CCF_DEFAULT) : 0.0;
  }
  if (p->maturity) {
    if (amortisation == CAS_AMORTISATION_LINEAR && maturity == INFINITY)
      return FAIL_AT(amortisation_start, "linear amortisation without a maturity (got no "
                                         "maturity, expected a maturity on the row: a linear loan "
                                         "repays in equal parts until it matures)");
    p->maturity[i] = maturity;
    p->amortisation[i] = (uint8_t)amortisation;
  }
  if (p->collateral) p->collateral[i] = collateral;
  p->city[i] = (uint16_t)city;
  p->park[i] = park;
  p->n = i + 1;
  return CAS_OK;
}

/* Moves the interned park names into one allocation: the pointer array
 * followed by the strings, so that free(park_names) releases all. */
static int finish_parks(loader *L) {
  cas_portfolio *p = L->p;
  p->npark = (int32_t)L->parks.n;
  p->npark_names = (int32_t)L->parks.n;
  if (L->parks.n == 0) return 0;
  size_t head = L->parks.n * sizeof(char *);
  char **names = malloc(head + L->parks.size);
  if (!names) return -1;
  char *text = (char *)names + head;
  memcpy(text, L->parks.buf, L->parks.size);
  for (size_t k = 0; k < L->parks.n; k++) names[k] = text + L->parks.off[k];
  p->park_names = names;
  return 0;
}

/* How the ids of rows a and b compare (cas_first_repeat). */
static int compare_id(const void *ctx, size_t a, size_t b) {
  const strpool *ids = ctx;
  return strcmp(ids->buf + ids->off[a], ids->buf + ids->off[b]);
}

/* The duplicate-id error of the rows whose ids are kept, if any: the first
 * row whose id an earlier row has. Every row before the one that stopped
 * the loader (if one did) has its id kept, and that row too if it passed
 * the point where its id was kept; so a duplicate found here comes before
 * that row's error in the file, or on the same row before it (the order in
 * which parse_row checks), and replaces it. */
static cas_status check_ids(loader *L) {
  size_t repeat, first;
  int r = cas_first_repeat(L->id_hash, L->ids.n, compare_id, &L->ids, &repeat, &first);
  if (r < 0) return cas_csv_nomem(&L->csv);
  if (r == 0) return CAS_OK;
  char g[CAS_CSV_QUOTE_SIZE];
  return cas_csv_fail_row(&L->csv, repeat, L->col_of[COL_ID], L->ncols, "duplicate id %s (first seen on line %ld)",
                          cas_csv_quote(L->ids.buf + L->ids.off[repeat], g, sizeof g),
                          cas_csv_row_line(&L->csv, first));
}

/* The arrays the rows are written to are mapped a chunk of rows ahead of
 * the rows read, in huge pages where the kernel gives them, one call an
 * array (cas_prefault, memory.h), not a page fault a page: on the virtual
 * machines here a fault costs microseconds, and a 10^7-loan book writes
 * 0.6 GB of new memory (docs/PERFORMANCE.md). Within the arrays' current
 * sizes (they grow by doubling, and realloc keeps pages already mapped);
 * the ids' pool ahead by the bytes an id has taken so far on average. */
enum { MAP_ROWS = 1 << 18 };

static void map_ahead(loader *L) {
  cas_portfolio *p = L->p;
  size_t from = p->n;
#define AHEAD(a, n, cap)                                                                     \
  if (a) cas_prefault((a), (n) * sizeof *(a), ((n) + MAP_ROWS < (cap) ? (n) + MAP_ROWS : (cap)) * sizeof *(a), 1);
#define ROW_AHEAD(field) AHEAD(p->field, from, L->row_cap)
  ROW_ARRAYS(ROW_AHEAD)
  AHEAD(L->ids.off, L->ids.n, L->ids.ncap)
  AHEAD(L->id_hash, L->ids.n, L->id_hash_cap)
#undef ROW_AHEAD
#undef AHEAD
  if (L->ids.buf && L->ids.n) {
    size_t per = L->ids.size / L->ids.n + 1, end = L->ids.size + per * MAP_ROWS;
    cas_prefault(L->ids.buf, L->ids.size, end < L->ids.cap ? end : L->ids.cap, 1);
  }
  L->mapped_rows = from + MAP_ROWS < L->row_cap ? from + MAP_ROWS : L->row_cap;
}

static cas_status load(loader *L) {
  cas_status st = cas_csv_header(&L->csv, &columns, L->col_of, L->kind_of, &L->ncols);
  if (!st && (L->col_of[COL_LIMIT] >= 0 || L->col_of[COL_CCF] >= 0)) {
    /* credit lines: their arrays, as long as the others */
    cas_portfolio *p = L->p;
    p->limit = malloc(L->row_cap * sizeof *p->limit);
    p->ccf = malloc(L->row_cap * sizeof *p->ccf);
    if (!p->limit || !p->ccf) return cas_csv_nomem(&L->csv);
  }
  if (!st && (L->col_of[COL_MATURITY] >= 0 || L->col_of[COL_AMORTISATION] >= 0)) {
    cas_portfolio *p = L->p;
    p->maturity = malloc(L->row_cap * sizeof *p->maturity);
    p->amortisation = malloc(L->row_cap * sizeof *p->amortisation);
    if (!p->maturity || !p->amortisation) return cas_csv_nomem(&L->csv);
  }
  if (!st && L->col_of[COL_COLLATERAL] >= 0) {
    cas_portfolio *p = L->p;
    p->collateral = malloc(L->row_cap * sizeof *p->collateral);
    if (!p->collateral) return cas_csv_nomem(&L->csv);
  }
  char *s;
  for (long n; !st && (n = cas_csv_next(&L->csv, &s, &st)) >= 0;) {
    st = parse_row(L, s, (size_t)n);
    /* again every quarter chunk, for the ids' arrays, which grow on
     * their own */
    if (L->p->n >= L->mapped_rows || L->p->n % (MAP_ROWS / 4) == 0) map_ahead(L);
  }
  if (st != CAS_ERR_NOMEM && L->ids.n) {
    cas_status dup = check_ids(L);
    if (dup) return dup;
  }
  if (st) return st;
  if (L->p->n == 0)
    return cas_error_at(L->csv.err, CAS_ERR_INPUT, L->csv.path, L->csv.header_line + 1, 0,
                        "no loans (got only a header, expected at least one data row)");
  /* Hand over ids and parks, trim the row arrays. */
  cas_portfolio *p = L->p;
  if (finish_parks(L)) return cas_csv_nomem(&L->csv);
  char *pool = realloc(L->ids.buf, L->ids.size);
  uint64_t *off = realloc(L->ids.off, L->ids.n * sizeof *off);
  if (pool) L->ids.buf = pool;
  if (off) L->ids.off = off;
  p->id_pool = L->ids.buf;
  p->id_offset = L->ids.off;
  p->id_pool_size = L->ids.size;
  memset(&L->ids, 0, sizeof L->ids);
  if (portfolio_resize(p, p->n) == 0) L->row_cap = p->n;
  snprintf(p->source, sizeof p->source, "file:%s", L->csv.path);
  return cas_taxonomy_finish(p->tax, L->csv.err);
}

cas_status cas_portfolio_load_csv(const char *path, cas_portfolio **out, cas_error *err) {
  return cas_portfolio_load_csv_as(path, NULL, out, err);
}

cas_status cas_portfolio_load_csv_as(const char *path, const cas_taxonomy *declared,
                                     cas_portfolio **out, cas_error *err) {
  return cas_portfolio_load_csv_mem(path, NULL, 0, declared, out, err);
}

cas_status cas_portfolio_load_csv_mem(const char *path, const void *data, size_t size,
                                      const cas_taxonomy *declared, cas_portfolio **out,
                                      cas_error *err) {
  *out = NULL;
  loader L = {.declared = declared != NULL};
  cas_status st = data ? cas_csv_open_mem(&L.csv, path, data, size, "portfolio", err)
                       : cas_csv_open(&L.csv, path, "portfolio", err);
  if (st) return st;
  L.row_cap = 1024;
  L.p = cas_portfolio_alloc(L.row_cap);
  if (L.p) L.p->tax = declared ? cas_taxonomy_copy(declared) : cas_taxonomy_create();
  st = L.p && L.p->tax ? load(&L) : cas_csv_nomem(&L.csv);
  cas_csv_close(&L.csv);
  strpool_free(&L.ids);
  strpool_free(&L.parks);
  free(L.id_hash);
  free(L.park_set.slot);
  if (st) {
    cas_portfolio_destroy(L.p);
    return st;
  }
  *out = L.p;
  return CAS_OK;
}

/* ======================================================================
 * CSV export
 * ====================================================================== */

/* Writes text as a CSV field, quoted when the loader would otherwise
 * change it (commas, quotes, surrounding spaces, empty). */
static void put_field(FILE *f, const char *t) {
  size_t n = strlen(t);
  int quote = n == 0 || strpbrk(t, ",\"\r\n") || t[0] == ' ' || t[0] == '\t' || t[n - 1] == ' ' ||
              t[n - 1] == '\t';
  if (!quote) {
    fputs(t, f);
    return;
  }
  fputc('"', f);
  for (; *t; t++) {
    if (*t == '"') fputc('"', f);
    fputc(*t, f);
  }
  fputc('"', f);
}

cas_status cas_portfolio_export_csv(const cas_portfolio *p, const char *path, cas_error *err) {
  cas_csv_writer w;
  cas_status st = cas_csv_create(&w, path, err);
  if (st != CAS_OK) return st;
  FILE *f = w.f;
  fputs("id,region,sector,ead,pd,lgd,city,park", f);
  if (p->limit) fputs(",limit,ccf", f);
  if (p->maturity) fputs(",maturity,amortisation", f);
  if (p->collateral) fputs(",collateral", f);
  fputc('\n', f);
  char idbuf[32], parkbuf[32];
  for (size_t i = 0; i < p->n && !ferror(f); i++) {
    put_field(f, cas_portfolio_id(p, i, idbuf, sizeof idbuf));
    fprintf(f, ",%s,%s,%.17g,%.17g,%.17g,", p->tax->regions.name[p->region[i]],
            p->tax->sectors.name[p->sector[i]], p->ead[i], p->pd[i], p->lgd[i]);
    if (p->city[i] != CAS_NONE) fputs(p->tax->cities.name[p->city[i]], f);
    fputc(',', f);
    if (p->park[i] >= 0) put_field(f, cas_portfolio_park_name(p, p->park[i], parkbuf, sizeof parkbuf));
    if (p->limit && (p->limit[i] != p->ead[i] || p->ccf[i] != 0.0))
      fprintf(f, ",%.17g,%.17g", p->limit[i], p->ccf[i]);
    else if (p->limit)
      fputs(",,", f);
    if (p->maturity) {   /* empty: no maturity, bullet */
      fputc(',', f);
      if (p->maturity[i] != INFINITY) fprintf(f, "%.17g", p->maturity[i]);
      fputc(',', f);
      if (p->amortisation[i] == CAS_AMORTISATION_LINEAR)
        fputs(amortisation_names[CAS_AMORTISATION_LINEAR], f);
    }
    if (p->collateral) {   /* empty: unsecured */
      fputc(',', f);
      if (p->collateral[i] != 0.0) fprintf(f, "%.17g", p->collateral[i]);
    }
    fputc('\n', f);
  }
  return cas_csv_commit(&w, err);
}
