/*
 * test_limits.c: amounts at the edges of what a book may hold give finite
 * totals, exact to rounding (issue 14, numerical limits).
 *
 * One segment of 10^7 loans: one loan of EAD 1e12 and PD 1 - 1e-12 beside
 * 9,999,999 loans of EAD 0.1 and PD 1e-12, under an EAD multiplier of 1000
 * (the largest allowed), so the big loan's stressed EAD is 1e15, the largest
 * amount a book may hold (CAS_AMOUNT_MAX). At 1e15 a double's unit in the
 * last place is 0.125: a plain running sum rounds every one of the small
 * terms (about 100 after the multiplier, 0.1 before) and drifts by up to
 * ulp / 2 per loan, millions of units in all; the totals must instead be
 * within 2 units in the last place of the exact sum, which the test
 * computes as big + (n - 1) x small in long double (exact for these terms:
 * one product and one addition). The bounds themselves are checked on load
 * at the value's place (tests/data/bad_csv, bad_links, bad_yaml).
 */
#include <criterion/criterion.h>

#include "timeout.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "plan.h"
#include "portfolio.h"
#include "portfolio_build.h"
#include "scenario.h"
#include "taxonomy.h"

enum { N = 10000000 };

static double ulp(double x) { return nextafter(fabs(x), INFINITY) - fabs(x); }

static void expect_exact(double got, long double want, const char *what) {
  double w = (double)want;
  cr_assert(isfinite(got), "%s: not finite (%g)", what, got);
  cr_expect_leq(fabs(got - w), 2.0 * ulp(w), "%s: %.17g, exact to rounding %.17g (%.3g units off)",
                what, got, w, fabs(got - w) / ulp(w));
}

Test(limits, totals_of_extreme_books_are_finite_and_exact_to_rounding, .timeout = CAS_TEST_TIMEOUT(300)) {
  char dir[] = "/tmp/cascade-limits-XXXXXX";
  cr_assert_not_null(mkdtemp(dir));
  char yaml[128], csv[128];
  snprintf(yaml, sizeof yaml, "%s/s.yaml", dir);
  snprintf(csv, sizeof csv, "%s/book.csv", dir);
  /* the scenario names a CSV book (the loans below are built in memory) */
  FILE *f = fopen(csv, "w");
  cr_assert_not_null(f);
  fputs("id,region,sector,ead,pd,lgd\na,north,mining,1,0.01,0.5\n", f);
  fclose(f);
  f = fopen(yaml, "w");
  cr_assert_not_null(f);
  fputs("name: limits\npaths: 100\nportfolio: {file: book.csv}\n"
        "classification: {regions: [north], sectors: [mining]}\n"
        "shocks:\n  - {sector: mining, ead_multiplier: 1000}\n", f);
  fclose(f);
  cas_error err = {0};
  cas_scenario *sc = NULL;
  cr_assert_eq(cas_scenario_load(yaml, &sc, &err), CAS_OK, "%s", err.msg);
  unlink(yaml);
  unlink(csv);
  rmdir(dir);

  cas_portfolio *pf = cas_portfolio_alloc(N);
  cr_assert_not_null(pf);
  pf->tax = cas_taxonomy_copy(sc->declared);
  cr_assert_not_null(pf->tax);
  const double big_ead = 1e12, small_ead = 0.1, big_pd = 1.0 - 1e-12, small_pd = 1e-12, lgd = 0.45;
  for (size_t i = 0; i < N; i++) {
    pf->ead[i] = i == 0 ? big_ead : small_ead;
    pf->pd[i] = i == 0 ? big_pd : small_pd;
    pf->lgd[i] = lgd;
    pf->region[i] = 0;
    pf->sector[i] = 0;
    pf->city[i] = CAS_NONE;
    pf->park[i] = -1;
  }
  pf->n = N;
  cr_assert_eq(cas_taxonomy_finish(pf->tax, &err), CAS_OK, "%s", err.msg);

  /* the book's own totals */
  cas_segment_totals t = {0};
  cr_assert_eq(cas_portfolio_totals(pf, &t, &err), CAS_OK, "%s", err.msg);
  cr_assert_eq(t.loans[0], N);
  expect_exact(t.ead[0], (long double)big_ead + (long double)(N - 1) * small_ead, "book EAD");
  expect_exact(t.expected_loss[0],
               (long double)(big_pd * lgd * big_ead) + (long double)(N - 1) * (small_pd * lgd * small_ead),
               "book expected loss");
  expect_exact(t.expected_defaults[0], (long double)big_pd + (long double)(N - 1) * small_pd,
               "book expected defaults");
  cas_segment_totals_free(&t);

  /* the plan under the largest EAD multiplier */
  cas_plan *plan = NULL;
  cr_assert_eq(cas_plan_build(sc, pf, NULL, &plan, &err), CAS_OK, "%s", err.msg);
  double big = cas_plan_stressed_ead(plan, pf, 0), small = cas_plan_stressed_ead(plan, pf, 1);
  cr_assert_eq(big, 1e15, "the big loan's stressed EAD");
  cr_assert(isfinite(small) && small > 99.0 && small < 101.0);
  expect_exact(plan->stressed.ead[0], (long double)big + (long double)(N - 1) * small,
               "stressed EAD");
  cr_assert(isfinite(plan->stressed.expected_loss[0]) && plan->stressed.expected_loss[0] > 0.0);
  cr_assert(isfinite(plan->stressed.expected_defaults[0]));
  /* every loan's threshold and loss finite (the PDs nearest 0 and 1) */
  for (size_t k = 0; k < plan->n; k++)
    if (!isfinite(plan->loans[k].threshold) || !isfinite(plan->loans[k].loss))
      cr_assert_fail("plan position %zu: threshold %g, loss %g", k, plan->loans[k].threshold,
                     plan->loans[k].loss);
  cas_plan_destroy(plan);
  cas_portfolio_destroy(pf);
  cas_scenario_destroy(sc);
}
