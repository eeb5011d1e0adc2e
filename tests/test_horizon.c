/*
 * test_horizon.c: the multi-year horizon's contracts (docs/MODEL.md,
 * Multi-year horizon), with every kernel, on the built-in book (3,000
 * loans, 1,500 paths, fixed seed) and its network's guarantees and cascade:
 *  - year 1 of a three-year run is the one-year run, bit for bit (the same
 *    streams), with and without the cascade;
 *  - 1 and 2 threads give the same bytes over three years, cascade included;
 *  - a defaulted loan leaves the book: at PDs this high, no segment
 *    defaults more loans than it has, and the cascade never defaults a
 *    loan twice;
 *  - common random numbers hold by year: a PD shock to one sector in year 3
 *    only leaves every other sector's per-path losses unchanged bit for bit
 *    and changes nothing in years 1 and 2;
 *  - a pool's caps hold by year and over the horizon, and each year's
 *    payout is min(claims, cap per year, what is left of the cap).
 * The default law itself is checked against an independent integral in
 * tests/python/test_multiyear.py.
 */
#include <criterion/criterion.h>

#include "timeout.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "contagion.h"
#include "kernel.h"
#include "network.h"
#include "plan.h"
#include "portfolio.h"
#include "scenario.h"
#include "support.h"

enum { LOANS = 3000, PATHS = 1500 };

typedef struct run {
  cas_scenario *sc;
  cas_plan *plan;
  cas_contagion *c;
  cas_results *res;
} run;

/* body: the scenario after name, seed, paths and portfolio. With net, the
 * network's guarantees are booked (and the scenario may turn contagion on). */
static run simulate(const cas_kernel *k, const cas_portfolio *pf, const cas_network *net,
                    const char *body, int threads) {
  char text[2048];
  snprintf(text, sizeof text,
           "name: h\nseed: 41\npaths: %d\nportfolio: {builtin: yrd, loans: %d, seed: 5}\n%s%s",
           PATHS, LOANS, net ? "network: {builtin: yrd}\n" : "", body);
  run r = {0};
  cas_error err = {0};
  cr_assert_eq(cas_scenario_load_text(text, "/tmp/h.yaml", &r.sc, &err), CAS_OK, "%s", err.msg);
  double *guaranteed = NULL;
  if (net) {
    guaranteed = malloc(pf->n * sizeof *guaranteed);
    cr_assert_not_null(guaranteed);
    cas_network_guaranteed(net, guaranteed);
  }
  cas_plan_options opt = {.grades_per_decade = CAS_PLAN_DEFAULT_GRADES, .guaranteed = guaranteed};
  cr_assert_eq(cas_plan_build(r.sc, pf, &opt, &r.plan, &err), CAS_OK, "%s", err.msg);
  if (net) cr_assert_eq(cas_contagion_create(r.sc, r.plan, pf, net, &r.c, &err), CAS_OK, "%s", err.msg);
  uint32_t rounds = r.c && r.c->model->spreads ? r.c->max_rounds + 1 : 0;
  cr_assert_eq(cas_results_create(PATHS, rounds, r.c && r.c->ncalls > 0, &r.res, &err), CAS_OK);
  cas_kernel_options kopt = {.threads = threads};
  cr_assert_eq(cas_kernel_run(k, r.plan, r.c, r.res, &kopt, &err), CAS_OK, "%s", err.msg);
  free(guaranteed);
  return r;
}

static void release(run *r) {
  cas_results_destroy(r->res);
  cas_contagion_destroy(r->c);
  cas_plan_destroy(r->plan);
  cas_scenario_destroy(r->sc);
}

static const char *const MODEL =
    "model: {horizon_years: %d, factor_autocorrelation: 0.7, region_correlation: 0.5}\n"
    "shocks:\n  - {region: jiangsu, factor_shift: %s}\n%s";

static char *body(int years, const char *shift, const char *more) {
  static char text[1024];
  snprintf(text, sizeof text, MODEL, years, shift, more);
  return text;
}

static const char *const CASCADE = "contagion: {model: network, calibration: {mode: on_top}}\n";

Test(horizon, year_one_is_the_one_year_run, .timeout = CAS_TEST_TIMEOUT(300)) {
  cas_portfolio *pf = NULL;
  cas_network *net = NULL;
  cas_error err = {0};
  cr_assert_eq(cas_portfolio_generate(LOANS, 5, &pf, &err), CAS_OK);
  cr_assert_eq(cas_network_generate(pf, 1, &net, &err), CAS_OK, "%s", err.msg);
  for (size_t i = 0; cas_kernel_at(i); i++) {
    const cas_kernel *k = cas_kernel_at(i);
    for (int cascade = 0; cascade < 2; cascade++) {
      const char *more = cascade ? CASCADE : "";
      run one = simulate(k, pf, cascade ? net : NULL, body(1, "-0.5", more), 2);
      run three = simulate(k, pf, cascade ? net : NULL, body(3, "[-0.5, -1, 0]", more), 2);
      cr_assert_eq(three.res->years, 3);
      for (int p = 0; p < PATHS; p++) {
        cr_assert_eq(memcmp(&three.res->loss_cumulative[3 * p], &one.res->loss[p], sizeof(double)), 0,
                     "%s%s: path %d year 1 %.17g, one-year %.17g", k->info.name,
                     cascade ? " with the cascade" : "", p, three.res->loss_cumulative[3 * p],
                     one.res->loss[p]);
        cr_assert_eq(three.res->defaults_by_year[3 * p], one.res->defaults[p]);
      }
      release(&one);
      release(&three);
    }
  }
  cas_network_destroy(net);
  cas_portfolio_destroy(pf);
}

Test(horizon, threads_give_the_same_bytes_and_no_loan_defaults_twice, .timeout = CAS_TEST_TIMEOUT(300)) {
  cas_portfolio *pf = NULL;
  cas_network *net = NULL;
  cas_error err = {0};
  cr_assert_eq(cas_portfolio_generate(LOANS, 5, &pf, &err), CAS_OK);
  cr_assert_eq(cas_network_generate(pf, 1, &net, &err), CAS_OK, "%s", err.msg);
  /* odds x 50: most loans default within three years */
  const char *more = "contagion: {model: network, calibration: {mode: on_top}}\n";
  char text[1024];
  snprintf(text, sizeof text,
           "model: {horizon_years: 3, factor_autocorrelation: 0.5}\n"
           "shocks: [{pd_multiplier: [20, 50, 50]}]\n%s", more);
  for (size_t i = 0; cas_kernel_at(i); i++) {
    const cas_kernel *k = cas_kernel_at(i);
    run a = simulate(k, pf, net, text, 1), b = simulate(k, pf, net, text, 2);
    const cas_results *x = a.res, *y = b.res;
    size_t nseg = (size_t)a.plan->nsegments;
    cr_assert_eq(memcmp(x->loss_cumulative, y->loss_cumulative, PATHS * 3 * sizeof(double)), 0);
    cr_assert_eq(memcmp(x->defaults_by_year, y->defaults_by_year, PATHS * 3 * sizeof(int32_t)), 0);
    cr_assert_eq(memcmp(x->loss_by_segment, y->loss_by_segment, PATHS * nseg * sizeof(double)), 0);
    cr_assert_eq(memcmp(x->loss_contagion, y->loss_contagion, PATHS * sizeof(double)), 0);
    cr_assert_eq(memcmp(x->loss_double_default, y->loss_double_default, PATHS * sizeof(double)), 0);
    double contagion = 0.0, most = 0.0;
    for (int p = 0; p < PATHS; p++) {
      int64_t total = 0;
      for (size_t s = 0; s < nseg; s++) {
        int32_t d = x->defaults_by_segment[p * nseg + s];
        cr_assert_leq((uint64_t)d, a.plan->unstressed.loans[s],
                      "%s: path %d segment %zu: %d defaults of %llu loans", k->info.name, p, s, d,
                      (unsigned long long)a.plan->unstressed.loans[s]);
        total += d;
      }
      cr_assert_eq(total, x->defaults[p]);
      cr_assert_eq(x->defaults[p], (int64_t)x->defaults_by_year[3 * p] + x->defaults_by_year[3 * p + 1] +
                                       x->defaults_by_year[3 * p + 2]);
      contagion += x->loss_contagion[p];
      most = fmax(most, (double)total / LOANS);
    }
    cr_log_info("%s: most of the book defaulted on a path %.3f, mean contagion loss %.4g",
                k->info.name, most, contagion / PATHS);
    cr_assert_gt(most, 0.75, "%s: the test needs most loans to default", k->info.name);
    cr_assert_gt(contagion, 0.0, "%s: no cascade ran", k->info.name);
    release(&a);
    release(&b);
  }
  cas_network_destroy(net);
  cas_portfolio_destroy(pf);
}

Test(horizon, a_shock_in_year_three_changes_only_its_sector_and_year, .timeout = CAS_TEST_TIMEOUT(300)) {
  cas_portfolio *pf = NULL;
  cas_error err = {0};
  cr_assert_eq(cas_portfolio_generate(LOANS, 5, &pf, &err), CAS_OK);
  for (size_t i = 0; cas_kernel_at(i); i++) {
    const cas_kernel *k = cas_kernel_at(i);
    run a = simulate(k, pf, NULL, body(3, "[0, -1, -1]", ""), 2);
    run b = simulate(k, pf, NULL,
                     body(3, "[0, -1, -1]", "  - {sector: green, pd_multiplier: [1, 1, 4]}\n"), 2);
    /* the extra shock is a second list item of shocks: check it took */
    cr_assert_eq(b.sc->nshocks, 2);
    size_t nseg = (size_t)a.plan->nsegments, moved = 0;
    for (int p = 0; p < PATHS; p++) {
      cr_assert_eq(memcmp(&a.res->loss_cumulative[3 * p], &b.res->loss_cumulative[3 * p],
                          2 * sizeof(double)), 0, "%s: path %d years 1-2 changed", k->info.name, p);
      for (size_t s = 0; s < nseg; s++) {
        size_t at = p * nseg + s;
        if ((int)(s % CAS_YRD_NSECTORS) == CAS_SECTOR_GREEN) {
          moved += a.res->loss_by_segment[at] != b.res->loss_by_segment[at];
          continue;
        }
        cr_assert_eq(memcmp(&a.res->loss_by_segment[at], &b.res->loss_by_segment[at], sizeof(double)),
                     0, "%s: path %d segment %zu changed", k->info.name, p, s);
      }
    }
    cr_assert_gt(moved, (size_t)PATHS / 4, "%s: the year-3 shock changed nothing", k->info.name);
    release(&a);
    release(&b);
  }
  cas_portfolio_destroy(pf);
}

Test(horizon, pools_pay_by_year_within_their_caps, .timeout = CAS_TEST_TIMEOUT(300)) {
  cas_portfolio *pf = NULL;
  cas_error err = {0};
  cr_assert_eq(cas_portfolio_generate(LOANS, 5, &pf, &err), CAS_OK);
  for (size_t i = 0; i < pf->n; i++) {   /* a uniform book: each default loses 500,000 */
    pf->ead[i] = 1e6;
    pf->lgd[i] = 0.5;
  }
  const double claim = 0.5 * 0.5e6, cap = 40 * claim, cap_year = 18 * claim;
  char more[512];
  snprintf(more, sizeof more,
           "output: {realised_lgd: true}\n"
           "mitigants:\n  - {name: all, kind: guarantee_fund, share: 0.5, cap_per_year: %.17g, "
           "cap: %.17g}\n", cap_year, cap);
  for (size_t i = 0; cas_kernel_at(i); i++) {
    const cas_kernel *k = cas_kernel_at(i);
    run r = simulate(k, pf, NULL, body(3, "[-0.5, -1, -1]", more), 2);
    const cas_results *x = r.res;
    int year_bound = 0, horizon_bound = 0;
    for (int p = 0; p < PATHS; p++) {
      double paid = 0.0;
      for (int t = 0; t < 3; t++) {
        double c = x->defaults_by_year[3 * p + t] * claim, pay = x->pool_payout[3 * p + t];
        double want = fmin(c, fmin(cap_year, cap - paid));
        cr_assert_float_eq(pay, want, 1e-6, "%s: path %d year %d paid %.17g, want %.17g",
                           k->info.name, p, t + 1, pay, want);
        cr_assert_leq(pay, cap_year);
        year_bound += c > cap_year && cap_year < cap - paid;
        horizon_bound += c > cap - paid && cap - paid < cap_year;
        cr_assert_eq(x->pool_dry[3 * p + t], c >= fmin(cap_year, cap - paid));
        cr_assert_eq(x->ead_defaulted_by_year[3 * p + t], x->defaults_by_year[3 * p + t] * 1e6);
        paid += pay;
      }
      cr_assert_leq(paid, cap * (1 + 1e-15), "%s: path %d paid %.17g over the cap", k->info.name, p,
                    paid);
      cr_assert_float_eq(x->loss_net[p], x->loss[p] - paid, 1e-6 * x->loss[p] + 1e-6);
      cr_assert_eq(x->loss_net_cumulative[3 * p + 2], x->loss_net[p]);
    }
    cr_log_info("%s: the cap per year bound %d times, the horizon's %d", k->info.name, year_bound,
                horizon_bound);
    cr_assert(year_bound > 0 && horizon_bound > 0, "%s: both caps should bind sometimes",
              k->info.name);
    release(&r);
  }
  cas_portfolio_destroy(pf);
}
