/*
 * fuzz_portfolio.c: fuzz target for the portfolio CSV reader
 * (cas_portfolio_load_csv, portfolio.h).
 *
 * Checks, for any file content:
 * - the reader neither crashes, hangs, leaks nor trips a sanitizer; it
 *   returns CAS_OK or CAS_ERR_INPUT with a message naming the file, and
 *   no portfolio on failure;
 * - a loaded portfolio holds only valid values (EAD > 0 and finite, PD in
 *   (0, 1), LGD in [0, 1], known region and sector, park in range, ids
 *   inside the id pool);
 * - round trip: exported (cas_portfolio_export_csv) and read back, it
 *   gives the same loans, value for value.
 */
#include <math.h>

#include "fuzz_common.h"
#include "portfolio.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_valid(const cas_portfolio *p) {
  FUZZ_CHECK(p->n > 0, "empty portfolio loaded");
  for (size_t i = 0; i < p->n; i++) {
    FUZZ_CHECK(isfinite(p->ead[i]) && p->ead[i] > 0, "loan %zu: ead %g", i, p->ead[i]);
    FUZZ_CHECK(p->pd[i] > 0 && p->pd[i] < 1, "loan %zu: pd %g", i, p->pd[i]);
    FUZZ_CHECK(p->lgd[i] >= 0 && p->lgd[i] <= 1, "loan %zu: lgd %g", i, p->lgd[i]);
    FUZZ_CHECK(p->region[i] < CAS_NREGIONS, "loan %zu: region %d", i, p->region[i]);
    FUZZ_CHECK(p->sector[i] < CAS_NSECTORS, "loan %zu: sector %d", i, p->sector[i]);
    FUZZ_CHECK(p->park[i] >= -1 && p->park[i] < p->npark, "loan %zu: park %d", i, p->park[i]);
    FUZZ_CHECK(p->id_offset[i] < p->id_pool_size, "loan %zu: id offset", i);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *path = fuzz_file(data, size);
  cas_error err = {0};
  cas_portfolio *p = NULL;
  cas_status st = cas_portfolio_load_csv(path, &p, &err);
  if (st != CAS_OK) {
    FUZZ_CHECK(p == NULL, "portfolio returned on failure");
    fuzz_check_error(st, &err, path);
    return 0;
  }
  check_valid(p);

  char out[64];
  snprintf(out, sizeof out, "/dev/shm/cascade-fuzz-%d.csv", (int)getpid());
  st = cas_portfolio_export_csv(p, out, &err);
  FUZZ_CHECK(st == CAS_OK, "export failed: %s", err.msg);
  cas_portfolio *q = NULL;
  st = cas_portfolio_load_csv(out, &q, &err);
  unlink(out);
  FUZZ_CHECK(st == CAS_OK, "exported portfolio does not load: %s", err.msg);
  FUZZ_CHECK(q->n == p->n, "%zu loans, %zu after export", p->n, q->n);
  for (size_t i = 0; i < p->n; i++) {
    char a[32], b[32], pa[32], pb[32];
    FUZZ_CHECK(strcmp(cas_portfolio_id(p, i, a, sizeof a), cas_portfolio_id(q, i, b, sizeof b)) == 0,
               "loan %zu: id changes on export", i);
    FUZZ_CHECK(p->ead[i] == q->ead[i] && p->pd[i] == q->pd[i] && p->lgd[i] == q->lgd[i] &&
                   p->region[i] == q->region[i] && p->sector[i] == q->sector[i] &&
                   p->city[i] == q->city[i],
               "loan %zu changes on export", i);
    FUZZ_CHECK(strcmp(cas_portfolio_park_name(p, p->park[i], pa, sizeof pa),
                      cas_portfolio_park_name(q, q->park[i], pb, sizeof pb)) == 0,
               "loan %zu: park changes on export", i);
  }
  cas_portfolio_destroy(q);
  cas_portfolio_destroy(p);
  return 0;
}
