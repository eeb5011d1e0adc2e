/*
 * fuzz_portfolio.c: fuzz target for the portfolio CSV reader
 * (cas_portfolio_load_csv, portfolio.h).
 *
 * Checks, for any file content:
 * - the reader neither crashes, hangs, leaks nor trips a sanitizer; it
 *   returns CAS_OK or CAS_ERR_INPUT with a message naming the file, and
 *   no portfolio on failure;
 * - a loaded portfolio holds only valid values (EAD > 0 and finite, PD in
 *   (0, 1), LGD in [0, 1], region, sector and city inside its
 *   classification, park in range, ids inside the id pool, maturity > 0
 *   (INFINITY: none), a linear loan with a finite maturity, collateral
 *   finite and >= 0);
 * - round trip: exported (cas_portfolio_export_csv) and read back, it
 *   gives the same loans, value for value (the classification from the
 *   data is rebuilt in the same order);
 * - read against the delta's classification (cas_portfolio_load_csv_as):
 *   if that loads, the classification from the data loads too and gives
 *   every loan the same region, sector and city names.
 */
#include <math.h>

#include "fuzz_common.h"
#include "portfolio.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_valid(const cas_portfolio *p) {
  FUZZ_CHECK(p->n > 0, "empty portfolio loaded");
  FUZZ_CHECK(p->tax != NULL, "no classification");
  FUZZ_CHECK(p->tax->nsegments == p->tax->regions.n * p->tax->sectors.n, "%d segments for %d x %d",
             p->tax->nsegments, p->tax->regions.n, p->tax->sectors.n);
  for (size_t i = 0; i < p->n; i++) {
    FUZZ_CHECK(isfinite(p->ead[i]) && p->ead[i] > 0, "loan %zu: ead %g", i, p->ead[i]);
    FUZZ_CHECK(p->pd[i] > 0 && p->pd[i] < 1, "loan %zu: pd %g", i, p->pd[i]);
    FUZZ_CHECK(p->lgd[i] >= 0 && p->lgd[i] <= 1, "loan %zu: lgd %g", i, p->lgd[i]);
    FUZZ_CHECK(p->region[i] < p->tax->regions.n, "loan %zu: region %d", i, p->region[i]);
    FUZZ_CHECK(p->sector[i] < p->tax->sectors.n, "loan %zu: sector %d", i, p->sector[i]);
    FUZZ_CHECK(p->city[i] == CAS_NONE || p->city[i] < p->tax->cities.n, "loan %zu: city %d", i, p->city[i]);
    FUZZ_CHECK(p->park[i] >= -1 && p->park[i] < p->npark, "loan %zu: park %d", i, p->park[i]);
    FUZZ_CHECK(p->id_offset[i] < p->id_pool_size, "loan %zu: id offset", i);
    if (p->maturity) {
      FUZZ_CHECK(p->maturity[i] > 0, "loan %zu: maturity %g", i, p->maturity[i]);
      FUZZ_CHECK(p->amortisation[i] == CAS_AMORTISATION_BULLET ||
                     (p->amortisation[i] == CAS_AMORTISATION_LINEAR && isfinite(p->maturity[i])),
                 "loan %zu: amortisation %d, maturity %g", i, p->amortisation[i], p->maturity[i]);
    }
    if (p->collateral)
      FUZZ_CHECK(isfinite(p->collateral[i]) && p->collateral[i] >= 0, "loan %zu: collateral %g", i,
                 p->collateral[i]);
  }
}

static cas_taxonomy *yrd;

/* Names of loan i's region, sector and city in p and q are equal. */
static int same_names(const cas_portfolio *p, const cas_portfolio *q, size_t i) {
  const cas_taxonomy *a = p->tax, *b = q->tax;
  if (strcmp(a->regions.name[p->region[i]], b->regions.name[q->region[i]]) != 0) return 0;
  if (strcmp(a->sectors.name[p->sector[i]], b->sectors.name[q->sector[i]]) != 0) return 0;
  if ((p->city[i] == CAS_NONE) != (q->city[i] == CAS_NONE)) return 0;
  return p->city[i] == CAS_NONE || strcmp(a->cities.name[p->city[i]], b->cities.name[q->city[i]]) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *path = fuzz_file(data, size);
  if (yrd == NULL) FUZZ_CHECK((yrd = cas_taxonomy_yrd()) != NULL, "out of memory");
  cas_error err = {0};
  cas_portfolio *p = NULL, *d = NULL;
  cas_status st = cas_portfolio_load_csv_as(path, yrd, &d, &err);
  if (st != CAS_OK) {
    FUZZ_CHECK(d == NULL, "portfolio returned on failure");
    fuzz_check_error(st, &err, path);
  } else {
    check_valid(d);
    FUZZ_CHECK(cas_taxonomy_equal(d->tax, yrd), "declared classification not kept");
  }
  st = cas_portfolio_load_csv(path, &p, &err);
  if (st != CAS_OK) {
    FUZZ_CHECK(p == NULL, "portfolio returned on failure");
    fuzz_check_error(st, &err, path);
    FUZZ_CHECK(d == NULL || st == CAS_ERR_NOMEM, "loads with the delta's classification, not from the data: %s",
               err.msg);
    cas_portfolio_destroy(d);
    return 0;
  }
  check_valid(p);
  if (d != NULL) {
    FUZZ_CHECK(d->n == p->n, "%zu loans declared, %zu from the data", d->n, p->n);
    for (size_t i = 0; i < p->n; i++)
      FUZZ_CHECK(same_names(p, d, i), "loan %zu: other names with the delta's classification", i);
    cas_portfolio_destroy(d);
  }

  char out[64];
  snprintf(out, sizeof out, "/dev/shm/cascade-fuzz-%d.csv", (int)getpid());
  st = cas_portfolio_export_csv(p, out, &err);
  FUZZ_CHECK(st == CAS_OK, "export failed: %s", err.msg);
  cas_portfolio *q = NULL;
  st = cas_portfolio_load_csv(out, &q, &err);
  unlink(out);
  FUZZ_CHECK(st == CAS_OK, "exported portfolio does not load: %s", err.msg);
  FUZZ_CHECK(q->n == p->n, "%zu loans, %zu after export", p->n, q->n);
  FUZZ_CHECK(cas_taxonomy_equal(p->tax, q->tax), "classification changes on export");
  for (size_t i = 0; i < p->n; i++) {
    char a[32], b[32], pa[32], pb[32];
    FUZZ_CHECK(strcmp(cas_portfolio_id(p, i, a, sizeof a), cas_portfolio_id(q, i, b, sizeof b)) == 0,
               "loan %zu: id changes on export", i);
    FUZZ_CHECK(p->ead[i] == q->ead[i] && p->pd[i] == q->pd[i] && p->lgd[i] == q->lgd[i] &&
                   p->region[i] == q->region[i] && p->sector[i] == q->sector[i] &&
                   p->city[i] == q->city[i],
               "loan %zu changes on export", i);
    FUZZ_CHECK(same_names(p, q, i), "loan %zu: names change on export", i);
    FUZZ_CHECK((p->maturity == NULL) == (q->maturity == NULL) &&
                   (p->collateral == NULL) == (q->collateral == NULL) &&
                   (!p->maturity || (p->maturity[i] == q->maturity[i] &&
                                     p->amortisation[i] == q->amortisation[i])) &&
                   (!p->collateral || p->collateral[i] == q->collateral[i]),
               "loan %zu: maturity, amortisation or collateral changes on export", i);
    FUZZ_CHECK(strcmp(cas_portfolio_park_name(p, p->park[i], pa, sizeof pa),
                      cas_portfolio_park_name(q, q->park[i], pb, sizeof pb)) == 0,
               "loan %zu: park changes on export", i);
  }
  cas_portfolio_destroy(q);
  cas_portfolio_destroy(p);
  return 0;
}
