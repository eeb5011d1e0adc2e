/*
 * network.c: loading and exporting the links along which defaults spread
 * (network.h). The built-in network is a model of models/networks
 * (models/networks/yrd.c). docs/NETWORK.md is the user's description.
 *
 * Link CSV format (cas_network_load_csv)
 *   One header row naming the columns, in any order: from, to, type and
 *   weight are required, amount is optional (a file of supply-chain links
 *   needs none); names are exact (lower case), each at most once. Then one
 *   link per line: from and to are loan ids of the portfolio
 *   (cas_portfolio_id), type is supply_chain or guarantee, weight a number
 *   in [0, CAS_LINK_WEIGHT_MAX] [SD], amount a finite number > 0 [CNY] for a
 *   guarantee and empty or 0 for a supply chain. Accepted around that, as
 *   for portfolio files (csv.h reads both): a UTF-8 byte-order mark, CRLF
 *   or LF line ends, spaces and tabs around fields, blank lines (skipped),
 *   fields in double quotes ("" for a quote inside; a quoted field cannot
 *   span lines).
 *
 * Error positions: "path:line:col: reason (got X, expected Y)", line the
 *   1-based physical line, col the 1-based character (UTF-8 code point,
 *   byte-order mark not counted) where the offending field starts after its
 *   leading spaces (at its opening quote if quoted), as in portfolio.c.
 *   Within a row the fields are checked left to right (ids looked up, type,
 *   weight range, amount a number), then the row as a whole: self-link (at
 *   the to field), then the amount against the type (at the amount field, or
 *   at the type field when there is no amount column). Duplicates (same
 *   from, to and type) are found after reading, so that the check costs a
 *   sort rather than a table of every link; the report is still that of the
 *   first bad line: a duplicate on an earlier line than a row error wins.
 *   It points at the from field of the later line and names the earlier.
 *
 * Scale: ids of a CSV portfolio are found through an open-addressing hash
 *   table (linear probing, load <= 2/3) built once, whose 64-bit slots pack
 *   32 bits of the hash above the loan index + 1, so that a probe rarely
 *   reads the id text; built-in ids ("YRD" + 9 digits) are parsed. Links are
 *   read into growing arrays, then bucketed by source with a stable counting
 *   sort (so a source's links keep file order) into the compressed rows of
 *   cas_network. Duplicates: each source's (target, type) keys are sorted
 *   with the link's position packed in the low bits, so equal keys come out
 *   in file order. Peak memory while loading: 25 bytes per link read, plus
 *   the network itself (21 bytes per link, 8 per loan), plus 4 bytes per
 *   link of positions.
 */
#include "network.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "csv.h"
#include "memory.h"
#include "network_build.h"

const char *const cas_link_type_names[CAS_NLINK_TYPES] = {"supply_chain", "guarantee"};

/* Sort keys give the type one bit, and the counts assume two types. */
_Static_assert(CAS_NLINK_TYPES == 2, "network.c assumes two link types");

enum {
  SMALL_DEGREE = 4096  /* sources up to this many links are scanned in parallel */
};

#define POS_BITS 31  /* position of a link within its source, in sort keys */

/* ======================================================================
 * Small helpers
 * ====================================================================== */

/* realloc of *p to n elements of size bytes; -1 when out of memory. */
static int grow(void *p, size_t n, size_t size) {
  void **q = (void **)p;
  void *r = realloc(*q, (n ? n : 1) * size);
  if (!r) return -1;
  *q = r;
  return 0;
}

/* ======================================================================
 * Links in arrival order (rows of a file, or generation order)
 * ====================================================================== */

int cas_linklist_reserve(cas_linklist *L, size_t cap) {
  if (cap <= L->cap) return 0;
  if (grow(&L->from, cap, sizeof *L->from) || grow(&L->to, cap, sizeof *L->to) ||
      grow(&L->weight, cap, sizeof *L->weight) || grow(&L->amount, cap, sizeof *L->amount) ||
      grow(&L->type, cap, sizeof *L->type))
    return -1;
  L->cap = cap;
  return 0;
}

void cas_linklist_free(cas_linklist *L) {
  free(L->from);
  free(L->to);
  free(L->weight);
  free(L->amount);
  free(L->type);
  memset(L, 0, sizeof *L);
}

/* ======================================================================
 * The network: allocation, rows by source, repeated links, statistics
 * ====================================================================== */

void cas_network_destroy(cas_network *net) {
  if (!net) return;
  free(net->offset);
  free(net->target);
  free(net->weight);
  free(net->amount);
  free(net->type);
  free(net);
}

static cas_network *network_alloc(size_t nloans, size_t nlinks) {
  cas_network *net = calloc(1, sizeof *net);
  if (!net) return NULL;
  size_t m = nlinks ? nlinks : 1;
  net->offset = malloc((nloans + 1) * sizeof *net->offset);
  net->target = malloc(m * sizeof *net->target);
  net->weight = malloc(m * sizeof *net->weight);
  net->amount = malloc(m * sizeof *net->amount);
  net->type = malloc(m * sizeof *net->type);
  if (!net->offset || !net->target || !net->weight || !net->amount || !net->type) {
    cas_network_destroy(net);
    return NULL;
  }
  net->nloans = nloans;
  net->nlinks = nlinks;
  return net;
}

/* Buckets the links of L by source into a new network: a stable counting
 * sort, so a source's links keep their order in L. If row is not NULL,
 * row[p] receives the index in L of the link at position p. Each thread
 * owns a range of sources and reads all of L: the scattered writes, which
 * dominate, are shared out and every source is still filled in order. */
cas_network *cas_network_from_list(const cas_linklist *L, size_t nloans, uint32_t *row) {
  cas_network *net = network_alloc(nloans, L->n);
  if (!net) return NULL;
  uint64_t *off = net->offset;
  memset(off, 0, (nloans + 1) * sizeof *off);
#pragma omp parallel
  {
    size_t t = (size_t)cas_thread_num(), nt = (size_t)cas_team_size();
    uint32_t lo = (uint32_t)(nloans * t / nt), hi = (uint32_t)(nloans * (t + 1) / nt);
    for (size_t k = 0; k < L->n; k++)
      if (L->from[k] >= lo && L->from[k] < hi) off[L->from[k]]++;
#pragma omp barrier
#pragma omp single
    {
      uint64_t sum = 0;
      for (size_t i = 0; i < nloans; i++) {
        uint64_t c = off[i];
        off[i] = sum;
        sum += c;
      }
    }
    for (size_t k = 0; k < L->n; k++) {
      uint32_t f = L->from[k];
      if (f < lo || f >= hi) continue;
      uint64_t p = off[f]++;
      net->target[p] = L->to[k];
      net->weight[p] = L->weight[k];
      net->amount[p] = L->amount[k];
      net->type[p] = L->type[k];
      if (row) row[p] = (uint32_t)k;
    }
  }
  /* off[i] is now the end of source i, that is the start of i + 1. */
  memmove(off + 1, off, nloans * sizeof *off);
  off[0] = 0;
  return net;
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return (x > y) - (x < y);
}

static void sort_u64(uint64_t *k, size_t n) {
  if (n > 24) {
    qsort(k, n, sizeof *k, cmp_u64);
    return;
  }
  for (size_t i = 1; i < n; i++) {
    uint64_t v = k[i];
    size_t j = i;
    while (j > 0 && k[j - 1] > v) {
      k[j] = k[j - 1];
      j--;
    }
    k[j] = v;
  }
}

/* Scans the links of source i for repeats of an earlier (target, type) of
 * the same source. keys and keep: scratch of at least the source's degree.
 * drop: removes the repeats, packing the kept links at the start of the
 * source's rows in their order, and returns the new degree. Otherwise
 * returns the degree and, if there is a repeat, sets *rep to the position
 * of the earliest repeat and *orig to that of its original. */
static uint64_t scan_source(cas_network *net, size_t i, uint64_t *keys, uint8_t *keep, int drop, uint64_t *rep,
                            uint64_t *orig) {
  uint64_t start = net->offset[i], deg = net->offset[i + 1] - start;
  if (deg < 2) return deg;
  for (uint64_t j = 0; j < deg; j++)
    keys[j] = (((uint64_t)net->target[start + j] << 1 | net->type[start + j]) << POS_BITS) | j;
  sort_u64(keys, (size_t)deg);
  const uint64_t pos_mask = ((uint64_t)1 << POS_BITS) - 1;
  int any = 0;
  uint64_t best = UINT64_MAX, best_orig = 0, r = 0;
  if (drop) memset(keep, 1, (size_t)deg);
  for (uint64_t j = 1; j < deg; j++) {
    if ((keys[j] >> POS_BITS) != (keys[j - 1] >> POS_BITS)) {
      r = j; /* first of a run of equal (target, type): the original */
      continue;
    }
    any = 1;
    if (drop) {
      keep[keys[j] & pos_mask] = 0;
    } else if ((keys[j] & pos_mask) < best) {
      best = keys[j] & pos_mask;
      best_orig = keys[r] & pos_mask;
    }
  }
  if (!any) return deg;
  if (!drop) {
    *rep = start + best;
    *orig = start + best_orig;
    return deg;
  }
  uint64_t w = start;
  for (uint64_t j = 0; j < deg; j++) {
    if (!keep[j]) continue;
    uint64_t p = start + j;
    if (p != w) {
      net->target[w] = net->target[p];
      net->weight[w] = net->weight[p];
      net->amount[w] = net->amount[p];
      net->type[w] = net->type[p];
    }
    w++;
  }
  return w - start;
}

/* Repeats over the whole network. drop: removes them (generator). Else
 * finds the repeat earliest in arrival order, row[p] being the arrival
 * index of position p: *found = 1, *rep_row and *orig_row its rows. */
cas_status cas_network_scan_repeats(cas_network *net, const uint32_t *row, int drop, int *found,
                                    uint64_t *rep_row, uint64_t *orig_row) {
  size_t n = net->nloans;
  uint64_t maxdeg = 0;
  for (size_t i = 0; i < n; i++)
    if (net->offset[i + 1] - net->offset[i] > maxdeg) maxdeg = net->offset[i + 1] - net->offset[i];
  if (found) *found = 0;
  if (maxdeg < 2) return CAS_OK;
  if (maxdeg > ((uint64_t)1 << POS_BITS))
    return CAS_ERR_INTERNAL; /* callers bound degrees well below */
  int nt = cas_max_threads();
  size_t small = maxdeg < SMALL_DEGREE ? (size_t)maxdeg : SMALL_DEGREE;
  uint64_t *keys = malloc((size_t)nt * small * sizeof *keys);
  uint8_t *keep = malloc((size_t)nt * small);
  uint32_t *newdeg = drop ? malloc(n * sizeof *newdeg) : NULL;
  uint64_t *best = calloc((size_t)nt * 2, sizeof *best);
  uint64_t *big_keys = NULL;
  uint8_t *big_keep = NULL;
  if (maxdeg > SMALL_DEGREE) {
    big_keys = malloc((size_t)maxdeg * sizeof *big_keys);
    big_keep = malloc((size_t)maxdeg);
  }
  if (!keys || !keep || (drop && !newdeg) || !best || (maxdeg > SMALL_DEGREE && (!big_keys || !big_keep))) {
    free(keys);
    free(keep);
    free(newdeg);
    free(best);
    free(big_keys);
    free(big_keep);
    return CAS_ERR_NOMEM;
  }
  for (int t = 0; t < nt; t++) best[2 * t] = UINT64_MAX;
  long nl = (long)n;
#pragma omp parallel
  {
    int t = cas_thread_num();
    uint64_t *k = keys + (size_t)t * small;
    uint8_t *kp = keep + (size_t)t * small;
#pragma omp for schedule(dynamic, 4096)
    for (long il = 0; il < nl; il++) {
      size_t i = (size_t)il;
      uint64_t deg = net->offset[i + 1] - net->offset[i];
      if (deg > SMALL_DEGREE) continue;
      uint64_t rep = UINT64_MAX, orig = 0;
      uint64_t d = scan_source(net, i, k, kp, drop, &rep, &orig);
      if (drop) {
        newdeg[i] = (uint32_t)d;
      } else if (rep != UINT64_MAX && row[rep] < best[2 * t]) {
        best[2 * t] = row[rep];
        best[2 * t + 1] = row[orig];
      }
    }
  }
  for (size_t i = 0; i < n; i++) {
    uint64_t deg = net->offset[i + 1] - net->offset[i];
    if (deg <= SMALL_DEGREE) continue;
    uint64_t rep = UINT64_MAX, orig = 0;
    uint64_t d = scan_source(net, i, big_keys, big_keep, drop, &rep, &orig);
    if (drop) {
      newdeg[i] = (uint32_t)d;
    } else if (rep != UINT64_MAX && row[rep] < best[0]) {
      best[0] = row[rep];
      best[1] = row[orig];
    }
  }
  if (drop) {
    /* Pack the sources' kept links together, moving left only. */
    uint64_t w = 0;
    for (size_t i = 0; i < n; i++) {
      uint64_t start = net->offset[i], d = newdeg[i];
      if (start != w && d) {
        memmove(net->target + w, net->target + start, d * sizeof *net->target);
        memmove(net->weight + w, net->weight + start, d * sizeof *net->weight);
        memmove(net->amount + w, net->amount + start, d * sizeof *net->amount);
        memmove(net->type + w, net->type + start, d * sizeof *net->type);
      }
      net->offset[i] = w;
      w += d;
    }
    net->offset[n] = w;
    net->nlinks = (size_t)w;
  } else {
    for (int t = 0; t < nt; t++)
      if (best[2 * t] != UINT64_MAX && (!*found || best[2 * t] < *rep_row)) {
        *found = 1;
        *rep_row = best[2 * t];
        *orig_row = best[2 * t + 1];
      }
  }
  free(keys);
  free(keep);
  free(newdeg);
  free(best);
  free(big_keys);
  free(big_keep);
  return CAS_OK;
}

/* Links by type and across regions. */
void cas_network_count(cas_network *net, const cas_portfolio *pf) {
  uint64_t guarantees = 0, cross = 0;
  long n = (long)net->nloans;
#pragma omp parallel for schedule(static) reduction(+ : guarantees, cross)
  for (long il = 0; il < n; il++) {
    size_t i = (size_t)il;
    for (uint64_t p = net->offset[i]; p < net->offset[i + 1]; p++) {
      guarantees += net->type[p] == CAS_LINK_GUARANTEE;
      cross += pf->region[i] != pf->region[net->target[p]];
    }
  }
  net->links_by_type[CAS_LINK_GUARANTEE] = guarantees;
  net->links_by_type[CAS_LINK_SUPPLY_CHAIN] = (uint64_t)net->nlinks - guarantees;
  net->cross_region_links = cross;
}

/* Gives back the unused tail of the link arrays (best effort). */
void cas_network_trim(cas_network *net) {
  size_t m = net->nlinks ? net->nlinks : 1;
  void *p;
  if ((p = realloc(net->target, m * sizeof *net->target)) != NULL) net->target = p;
  if ((p = realloc(net->weight, m * sizeof *net->weight)) != NULL) net->weight = p;
  if ((p = realloc(net->amount, m * sizeof *net->amount)) != NULL) net->amount = p;
  if ((p = realloc(net->type, m * sizeof *net->type)) != NULL) net->type = p;
}

/* ======================================================================
 * Loan ids: text -> portfolio index
 * ====================================================================== */

typedef struct idmap {
  const cas_portfolio *pf;
  uint64_t *slot; /* (hash >> 32) << 32 | (index + 1); 0 empty. NULL: implicit ids */
  size_t mask;
} idmap;

static int idmap_build(idmap *m, const cas_portfolio *pf) {
  m->pf = pf;
  m->slot = NULL;
  if (!pf->id_pool) return 0;
  size_t cap = 16;
  while (cap < pf->n + pf->n / 2) cap *= 2;
  m->slot = calloc(cap, sizeof *m->slot);
  if (!m->slot) return -1;
  m->mask = cap - 1;
  for (size_t i = 0; i < pf->n; i++) {
    const char *id = pf->id_pool + pf->id_offset[i];
    uint64_t h = cas_csv_hash(id, strlen(id));
    size_t j = (size_t)h & m->mask;
    while (m->slot[j]) j = (j + 1) & m->mask;
    m->slot[j] = (h >> 32) << 32 | (uint64_t)(i + 1);
  }
  return 0;
}

/* Index of the loan with id s, or -1. */
static int64_t idmap_find(const idmap *m, const char *s) {
  size_t len = strlen(s);
  if (!m->slot) {
    /* Built-in book: "YRD" and exactly nine digits, below the loan count. */
    if (len != 12 || memcmp(s, "YRD", 3) != 0) return -1;
    uint64_t v = 0;
    for (int k = 3; k < 12; k++) {
      if (s[k] < '0' || s[k] > '9') return -1;
      v = v * 10 + (uint64_t)(s[k] - '0');
    }
    return v < m->pf->n ? (int64_t)v : -1;
  }
  uint64_t h = cas_csv_hash(s, len);
  uint64_t tag = h >> 32;
  for (size_t j = (size_t)h & m->mask;; j = (j + 1) & m->mask) {
    uint64_t v = m->slot[j];
    if (!v) return -1;
    if ((v >> 32) == tag) {
      size_t i = (size_t)(uint32_t)v - 1;
      if (strcmp(m->pf->id_pool + m->pf->id_offset[i], s) == 0) return (int64_t)i;
    }
  }
}

/* ======================================================================
 * CSV loader
 * ====================================================================== */

enum { LCOL_FROM, LCOL_TO, LCOL_TYPE, LCOL_WEIGHT, LCOL_AMOUNT, NLCOLS };
static const char *const lcol_names[NLCOLS] = {"from", "to", "type", "weight", "amount"};
static const int lcol_required[NLCOLS] = {1, 1, 1, 1, 0};
static const cas_csv_columns lcolumns = {lcol_names, lcol_required, NLCOLS};

typedef struct link_loader {
  cas_csv_reader csv;
  const cas_portfolio *pf;
  int col_of[NLCOLS];        /* field index of each column, or -1 */
  int kind_of[NLCOLS];       /* column of each field index */
  int ncols;
  idmap ids;
  cas_linklist links;
} link_loader;

#define FAIL_AT(off, ...) cas_csv_fail(&L->csv, (off), __VA_ARGS__)

static cas_status parse_row(link_loader *L, char *s, size_t n) {
  cas_csv_field f[NLCOLS + 1];
  cas_status st = cas_csv_split_row(&L->csv, s, n, f, L->ncols);
  if (st) return st;
  int count = L->ncols;
  cas_linklist *links = &L->links;
  if (links->n >= UINT32_MAX)
    return FAIL_AT(0, "too many links (got more than %lu, expected fewer)", (unsigned long)UINT32_MAX);
  if (links->n == links->cap && cas_linklist_reserve(links, links->cap ? 2 * links->cap : 4096))
    return cas_csv_nomem(&L->csv);
  char g[CAS_CSV_QUOTE_SIZE];
  int64_t from = -1, to = -1;
  int type = -1, have_amount = 0;
  double weight = 0.0, amount = 0.0;
  for (int k = 0; k < count; k++) {
    const char *t = f[k].text;
    switch (L->kind_of[k]) {
    case LCOL_FROM:
    case LCOL_TO: {
      int64_t i = idmap_find(&L->ids, t);
      if (i < 0)
        return FAIL_AT(f[k].start, "unknown loan id in %s (got %s, expected an id of the portfolio)",
                       lcol_names[L->kind_of[k]], cas_csv_quote(t, g, sizeof g));
      if (L->kind_of[k] == LCOL_FROM)
        from = i;
      else
        to = i;
      break;
    }
    case LCOL_TYPE:
      for (int y = 0; y < CAS_NLINK_TYPES; y++)
        if (strcmp(t, cas_link_type_names[y]) == 0) type = y;
      if (type < 0)
        return FAIL_AT(f[k].start, "unknown link type %s (expected one of: supply_chain, guarantee)",
                       cas_csv_quote(t, g, sizeof g));
      break;
    case LCOL_WEIGHT:
      if (!cas_csv_number(t, &weight))
        return FAIL_AT(f[k].start, "weight is not a number (got %s, expected a decimal number)", cas_csv_quote(t, g, sizeof g));
      if (!(weight >= 0.0 && weight <= CAS_LINK_WEIGHT_MAX))
        return FAIL_AT(f[k].start, "weight out of range (got %s, expected a latent shift in [0, %g] [SD])",
                       cas_csv_quote(t, g, sizeof g), CAS_LINK_WEIGHT_MAX);
      break;
    case LCOL_AMOUNT:
      if (*t) {
        if (!cas_csv_number(t, &amount))
          return FAIL_AT(f[k].start, "amount is not a number (got %s, expected a decimal number)", cas_csv_quote(t, g, sizeof g));
        have_amount = 1;
      }
      break;
    }
  }
  if (from == to) {
    const cas_csv_field *ft = &f[L->col_of[LCOL_TO]];
    return FAIL_AT(ft->start, "self-link (got %s as both from and to, expected two different loans)",
                   cas_csv_quote(ft->text, g, sizeof g));
  }
  int acol = L->col_of[LCOL_AMOUNT];
  if (type == CAS_LINK_GUARANTEE) {
    if (acol < 0)
      return FAIL_AT(f[L->col_of[LCOL_TYPE]].start,
                     "guarantee without an amount (got no amount column, expected an amount > 0 [CNY])");
    if (!have_amount)
      return FAIL_AT(f[acol].start, "guarantee without an amount (got '', expected an amount > 0 [CNY])");
    if (!(amount > 0.0 && amount <= CAS_AMOUNT_MAX))
      return FAIL_AT(f[acol].start, "amount out of range (got %s, expected an amount > 0 and at most 1e15 [CNY] for a guarantee)",
                     cas_csv_quote(f[acol].text, g, sizeof g));
  } else {
    if (have_amount && amount != 0.0)
      return FAIL_AT(f[acol].start, "amount on a supply_chain link (got %s, expected empty or 0)",
                     cas_csv_quote(f[acol].text, g, sizeof g));
    amount = 0.0;
  }
  cas_linklist_put(links, links->n++, (uint32_t)from, (uint32_t)to, type, weight, amount);
  return CAS_OK;
}

/* Character column of the from field on a given line of the file (read
 * again: only needed for the message about a duplicate); 0 if the file
 * cannot be read again. */
static long from_col_on_line(const link_loader *L, long target) {
  cas_csv_reader r;
  if (L->csv.mem ? cas_csv_open_mem(&r, L->csv.path, L->csv.mem, L->csv.mem_size, "links", NULL)
                 : cas_csv_open(&r, L->csv.path, "links", NULL))
    return 0;
  long col = 0, n;
  char *s;
  cas_status st = CAS_OK;
  while ((n = cas_csv_next(&r, &s, &st)) >= 0) {
    if (r.lineno < target) continue;
    cas_csv_field f[NLCOLS + 1];
    int count;
    if (cas_csv_split(&r, s, (size_t)n, f, NLCOLS + 1, &count) == CAS_OK && count > L->col_of[LCOL_FROM])
      col = cas_csv_column(&r, f[L->col_of[LCOL_FROM]].start);
    break;
  }
  cas_csv_close(&r);
  return col;
}

/* Reads the header and every row (until the first bad one). */
static cas_status read_links(link_loader *L) {
  cas_status st = cas_csv_header(&L->csv, &lcolumns, L->col_of, L->kind_of, &L->ncols);
  char *s;
  for (long n; !st && (n = cas_csv_next(&L->csv, &s, &st)) >= 0;) st = parse_row(L, s, (size_t)n);
  return st;
}

cas_status cas_network_load_csv(const char *path, const cas_portfolio *pf, cas_network **out, cas_error *err) {
  return cas_network_load_csv_mem(path, NULL, 0, pf, out, err);
}

static cas_status load_links(const char *path, const void *data, size_t size,
                             const cas_portfolio *pf, cas_network **out, cas_error *err);

cas_status cas_network_load_csv_mem(const char *path, const void *data, size_t size,
                                    const cas_portfolio *pf, cas_network **out, cas_error *err) {
  int pages = cas_small_pages_begin();   /* arrays written in sequence (memory.h) */
  cas_status st = load_links(path, data, size, pf, out, err);
  cas_small_pages_end(pages);
  return st;
}

static cas_status load_links(const char *path, const void *data, size_t size,
                             const cas_portfolio *pf, cas_network **out, cas_error *err) {
  *out = NULL;
  if (pf->n > UINT32_MAX)
    return cas_error_set(err, CAS_ERR_INPUT, "%s: portfolio too large for a network (got %zu loans, expected at most %lu)",
                         path, pf->n, (unsigned long)UINT32_MAX);
  link_loader L = {.pf = pf};
  cas_status st = data ? cas_csv_open_mem(&L.csv, path, data, size, "links", err)
                       : cas_csv_open(&L.csv, path, "links", err);
  if (st) return st;
  st = idmap_build(&L.ids, pf) ? cas_csv_nomem(&L.csv) : read_links(&L);
  free(L.ids.slot);
  L.ids.slot = NULL;

  /* Rows read so far (all of them, or those before the first bad row):
   * into rows by source, then duplicates, which win over a later error. */
  cas_network *net = NULL;
  uint32_t *row = NULL;
  if (st == CAS_OK || (st == CAS_ERR_INPUT && L.csv.header_line > 0)) {
    cas_status bad = st;
    row = malloc((L.links.n ? L.links.n : 1) * sizeof *row);
    net = row ? cas_network_from_list(&L.links, pf->n, row) : NULL;
    cas_linklist_free(&L.links);
    int found = 0;
    uint64_t rep = 0, orig = 0;
    cas_status sst = net ? cas_network_scan_repeats(net, row, 0, &found, &rep, &orig) : CAS_ERR_NOMEM;
    if (sst && !bad) {
      st = sst == CAS_ERR_NOMEM ? cas_csv_nomem(&L.csv)
                                : cas_error_set(err, CAS_ERR_INPUT,
                                                "%s: too many links from one loan (got more than %llu, expected fewer)",
                                                path, 1ULL << POS_BITS);
    } else if (sst == CAS_OK && found) {
      /* rep is a row index; the network's position p holds row[p]. */
      uint64_t p = 0;
      while (row[p] != rep) p++;
      size_t from = 0;
      while (net->offset[from + 1] <= p) from++;
      char b1[32], b2[32], g1[CAS_CSV_QUOTE_SIZE], g2[CAS_CSV_QUOTE_SIZE];
      long line = cas_csv_row_line(&L.csv, rep);
      st = cas_error_at(err, CAS_ERR_INPUT, path, line, from_col_on_line(&L, line),
                        "duplicate link from %s to %s of type %s (first seen on line %ld)",
                        cas_csv_quote(cas_portfolio_id(pf, from, b1, sizeof b1), g1, sizeof g1),
                        cas_csv_quote(cas_portfolio_id(pf, net->target[p], b2, sizeof b2), g2, sizeof g2),
                        cas_link_type_names[net->type[p]], cas_csv_row_line(&L.csv, orig));
    }
  }
  free(row);
  cas_csv_close(&L.csv);
  cas_linklist_free(&L.links);
  if (st) {
    cas_network_destroy(net);
    return st;
  }
  cas_network_count(net, pf);
  snprintf(net->source, sizeof net->source, "file:%s", path);
  *out = net;
  return CAS_OK;
}

/* ======================================================================
 * CSV export
 * ====================================================================== */

/* Appends t to buf (at *len) as a CSV field, quoted when the loader would
 * otherwise read it differently; buf has room for 2 strlen(t) + 3 bytes. */
static void append_field(char *buf, size_t *len, const char *t) {
  size_t n = strlen(t), w = *len;
  int q = n == 0 || strpbrk(t, ",\"\r\n") != NULL || t[0] == ' ' || t[0] == '\t' || t[n - 1] == ' ' ||
          t[n - 1] == '\t';
  if (!q) {
    memcpy(buf + w, t, n);
    *len = w + n;
    return;
  }
  buf[w++] = '"';
  for (; *t; t++) {
    if (*t == '"') buf[w++] = '"';
    buf[w++] = *t;
  }
  buf[w++] = '"';
  *len = w;
}

/* Id of loan i; the built-in book's implicit ids ("YRD" + 9 digits) are
 * written here without printf (the export writes two per link). */
static const char *loan_id(const cas_portfolio *pf, size_t i, char buf[16]) {
  if (pf->id_pool || i >= 1000000000u) return cas_portfolio_id(pf, i, buf, 16);
  memcpy(buf, "YRD", 3);
  for (int k = 11; k >= 3; k--) {
    buf[k] = (char)('0' + i % 10);
    i /= 10;
  }
  buf[12] = '\0';
  return buf;
}

/* A number as the shortest of %.15g, %.16g, %.17g that reads back as v,
 * remembered for the next call with the same v (weights and the amounts
 * of one borrower repeat). */
typedef struct number_cache {
  double v;
  int valid;
  char text[40];
} number_cache;

static const char *number_text(number_cache *c, double v) {
  if (c->valid && memcmp(&c->v, &v, sizeof v) == 0) return c->text;
  for (int prec = 15; prec <= 17; prec++) {
    snprintf(c->text, sizeof c->text, "%.*g", prec, v);
    if (prec == 17 || strtod(c->text, NULL) == v) break;
  }
  c->v = v;
  c->valid = 1;
  return c->text;
}

cas_status cas_network_export_csv(const cas_network *net, const cas_portfolio *pf, const char *path, cas_error *err) {
  if (net->nloans != pf->n)
    return cas_error_set(err, CAS_ERR_INTERNAL, "%s: network of %zu loans for a portfolio of %zu", path,
                         net->nloans, pf->n);
  cas_csv_writer w;
  cas_status st = cas_csv_create(&w, path, err);
  if (st != CAS_OK) return st;
  FILE *f = w.f;
  fputs("from,to,type,weight,amount\n", f);
  /* One line: two ids (quoted, at most 2 x their length + 3 each), the
   * type, two numbers of at most 24 characters, separators. */
  size_t idmax = 16;
  if (pf->id_pool)
    for (size_t i = 0; i < pf->n; i++) {
      size_t l = strlen(pf->id_pool + pf->id_offset[i]);
      if (l > idmax) idmax = l;
    }
  size_t linecap = 4 * idmax + 128;
  char *line = malloc(linecap);
  if (!line) {
    cas_csv_abandon(&w);
    return cas_error_set(err, CAS_ERR_NOMEM, "%s: out of memory", path);
  }
  char b1[16], b2[16];
  number_cache wc = {0}, ac = {0};
  for (size_t i = 0; i < net->nloans && !ferror(f); i++) {
    if (net->offset[i] == net->offset[i + 1]) continue;
    const char *from = loan_id(pf, i, b1);
    for (uint64_t p = net->offset[i]; p < net->offset[i + 1]; p++) {
      size_t len = 0;
      append_field(line, &len, from);
      line[len++] = ',';
      append_field(line, &len, loan_id(pf, net->target[p], b2));
      line[len++] = ',';
      const char *t = cas_link_type_names[net->type[p]];
      size_t tl = strlen(t);
      memcpy(line + len, t, tl);
      len += tl;
      line[len++] = ',';
      t = number_text(&wc, net->weight[p]);
      tl = strlen(t);
      memcpy(line + len, t, tl);
      len += tl;
      line[len++] = ',';
      if (net->type[p] == CAS_LINK_GUARANTEE) {
        t = number_text(&ac, net->amount[p]);
        tl = strlen(t);
        memcpy(line + len, t, tl);
        len += tl;
      }
      line[len++] = '\n';
      fwrite(line, 1, len, f);
    }
  }
  free(line);
  return cas_csv_commit(&w, err);
}
