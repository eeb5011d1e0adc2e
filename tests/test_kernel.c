/*
 * test_kernel.c: properties of the dense kernel on the built-in portfolio.
 *
 * Because a path's random numbers depend only on (seed, purpose, path), two
 * runs of the same seed see the same factors and the same idiosyncratic
 * draws; shocks then act path by path, which gives exact (not statistical)
 * properties: a PD multiplier never lowers a path's loss, a factor shift moves
 * exactly that factor by exactly that amount (isolated) or every factor by its
 * conditional mean (conditional), an EAD multiplier scales exactly its
 * segments' losses. The one statistical test (MC mean against the
 * analytic expected loss) uses a fixed seed and 4 Monte Carlo standard errors.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kernel.h"
#include "plan.h"
#include "portfolio.h"
#include "scenario.h"
#include "stats.h"
#include "support.h"

enum { LOANS = 3000, PATHS = 2000 };

typedef struct run {
  cas_plan *plan;
  cas_results *res;
} run;

static run simulate(const char *yaml_body, int threads) {
  char dir[] = "/tmp/cascade-kernel-XXXXXX";
  cr_assert_not_null(mkdtemp(dir));
  char path[128];
  snprintf(path, sizeof path, "%s/s.yaml", dir);
  FILE *f = fopen(path, "w");
  cr_assert_not_null(f);
  fprintf(f, "name: t\nseed: 42\npaths: %d\nportfolio: {builtin: yrd, loans: %d, seed: 3}\n%s",
          PATHS, LOANS, yaml_body);
  fclose(f);
  cas_error err = {0};
  cas_scenario *sc = NULL;
  cas_portfolio *pf = NULL;
  run r = {0};
  cr_assert_eq(cas_scenario_load(path, &sc, &err), CAS_OK, "%s", err.msg);
  cr_assert_eq(cas_portfolio_generate(sc->portfolio.loans, sc->portfolio.seed, &pf, &err), CAS_OK,
               "%s", err.msg);
  cr_assert_eq(cas_plan_build(sc, pf, NULL, &r.plan, &err), CAS_OK, "%s", err.msg);
  cr_assert_eq(cas_results_create(sc->paths, 0, 0, &r.res, &err), CAS_OK, "%s", err.msg);
  cas_kernel_options opt = {.threads = threads};
  cr_assert_eq(cas_kernel_run(&cas_kernel_dense, r.plan, NULL, r.res, &opt, &err), CAS_OK);
  cas_portfolio_destroy(pf);
  cas_scenario_destroy(sc);
  unlink(path);
  rmdir(dir);
  return r;
}

static void release(run *r) {
  cas_results_destroy(r->res);
  cas_plan_destroy(r->plan);
}

Test(kernel, results_do_not_depend_on_thread_count) {
  run a = simulate("", 1), b = simulate("", 2);
  cr_assert_eq(memcmp(a.res->loss, b.res->loss, PATHS * sizeof(double)), 0);
  cr_assert_eq(memcmp(a.res->defaults, b.res->defaults, PATHS * sizeof(int64_t)), 0);
  cr_assert_eq(memcmp(a.res->loss_by_segment, b.res->loss_by_segment,
                      (size_t)PATHS * CAS_YRD_NSEGMENTS * sizeof(double)), 0);
  cr_assert_eq(memcmp(a.res->factors, b.res->factors, (size_t)PATHS * YRD_NFACTORS * sizeof(double)), 0);
  double total = 0;
  for (int p = 0; p < PATHS; p++) total += a.res->loss[p];
  cr_assert_gt(total, 0.0, "no losses at all: the comparison would be vacuous");
  release(&a);
  release(&b);
}

Test(kernel, pd_multiplier_never_lowers_a_path_loss) {
  run base = simulate("", 2), hit = simulate("shocks:\n  - {pd_multiplier: 2.0}\n", 2);
  int higher = 0;
  for (int p = 0; p < PATHS; p++) {
    cr_assert_geq(hit.res->defaults[p], base.res->defaults[p], "path %d", p);
    cr_assert_geq(hit.res->loss[p], base.res->loss[p] * (1 - 1e-12), "path %d", p);
    higher += hit.res->loss[p] > base.res->loss[p];
  }
  cr_assert_gt(higher, PATHS / 2, "doubling PD raised only %d of %d paths", higher, PATHS);
  release(&base);
  release(&hit);
}

Test(kernel, factor_shift_moves_exactly_its_factor) {
  run base = simulate("", 2);
  run hit = simulate("shocks:\n  - {sector: tech_startup, factor_shift: -1.5}\n", 2);
  int f_tech = 1 + CAS_YRD_NREGIONS + CAS_SECTOR_TECH_STARTUP;
  for (int p = 0; p < PATHS; p++)
    for (int f = 0; f < YRD_NFACTORS; f++) {
      double d = hit.res->factors[p * YRD_NFACTORS + f] - base.res->factors[p * YRD_NFACTORS + f];
      cr_assert_float_eq(d, f == f_tech ? -1.5 : 0.0, 1e-12, "path %d factor %d: %g", p, f, d);
    }
  /* Only tech_startup segments can change, and only upwards. */
  for (int p = 0; p < PATHS; p++)
    for (int s = 0; s < CAS_YRD_NSEGMENTS; s++) {
      double b = base.res->loss_by_segment[p * CAS_YRD_NSEGMENTS + s];
      double h = hit.res->loss_by_segment[p * CAS_YRD_NSEGMENTS + s];
      if ((s % CAS_YRD_NSECTORS) == CAS_SECTOR_TECH_STARTUP) cr_assert_geq(h, b);
      else cr_assert_eq(h, b, "segment %d changed on path %d", s, p);
    }
  release(&base);
  release(&hit);
}

/* With correlated factors: conditional (the default) moves every factor by
 * its conditional mean given the shifted one, here rho x shift = 0.2 x -1.5
 * for the other sectors and 0 for the uncorrelated global and region
 * factors; isolated moves only the shifted factor (the behaviour before
 * the conditional mode existed), so only tech start-up segments change. */
Test(kernel, conditional_shift_moves_correlated_factors_on_every_path) {
  const char *model = "model: {region_correlation: 0.5, sector_correlation: 0.2}\n";
  const char *shock = "shocks:\n  - {sector: tech_startup, factor_shift: -1.5}\n";
  char hit_text[512], iso_text[512];
  snprintf(hit_text, sizeof hit_text, "%s%s", model, shock);
  snprintf(iso_text, sizeof iso_text, "%sfactor_shift_mode: isolated\n%s", model, shock);
  run base = simulate(model, 2), hit = simulate(hit_text, 2), iso = simulate(iso_text, 2);
  int f_tech = 1 + CAS_YRD_NREGIONS + CAS_SECTOR_TECH_STARTUP;
  for (int p = 0; p < PATHS; p++)
    for (int f = 0; f < YRD_NFACTORS; f++) {
      double b = base.res->factors[p * YRD_NFACTORS + f];
      double d = hit.res->factors[p * YRD_NFACTORS + f] - b;
      double want = f == f_tech ? -1.5 : f >= 1 + CAS_YRD_NREGIONS ? -0.3 : 0.0;
      cr_assert_float_eq(d, want, 1e-12, "conditional: path %d factor %d: %g", p, f, d);
      d = iso.res->factors[p * YRD_NFACTORS + f] - b;
      cr_assert_float_eq(d, f == f_tech ? -1.5 : 0.0, 1e-12, "isolated: path %d factor %d: %g", p,
                         f, d);
    }
  int other_changed = 0;
  for (int p = 0; p < PATHS; p++)
    for (int s = 0; s < CAS_YRD_NSEGMENTS; s++) {
      double b = base.res->loss_by_segment[p * CAS_YRD_NSEGMENTS + s];
      if ((s % CAS_YRD_NSECTORS) == CAS_SECTOR_TECH_STARTUP) continue;
      cr_assert_eq(iso.res->loss_by_segment[p * CAS_YRD_NSEGMENTS + s], b, "isolated: segment %d path %d", s, p);
      other_changed += hit.res->loss_by_segment[p * CAS_YRD_NSEGMENTS + s] != b;
    }
  cr_expect_gt(other_changed, 0, "conditional: the other sectors' losses never moved");
  release(&base);
  release(&hit);
  release(&iso);
}

Test(kernel, ead_multiplier_scales_exactly_its_segments) {
  run base = simulate("", 2), hit = simulate("shocks:\n  - {region: anhui, ead_multiplier: 1.5}\n", 2);
  for (int p = 0; p < PATHS; p++) {
    cr_assert_eq(hit.res->defaults[p], base.res->defaults[p]);
    for (int s = 0; s < CAS_YRD_NSEGMENTS; s++) {
      double b = base.res->loss_by_segment[p * CAS_YRD_NSEGMENTS + s];
      double h = hit.res->loss_by_segment[p * CAS_YRD_NSEGMENTS + s];
      double want = (s / CAS_YRD_NSECTORS) == CAS_REGION_ANHUI ? 1.5 * b : b;
      cr_assert_float_eq(h, want, 1e-9 * (want + 1.0), "path %d segment %d", p, s);
    }
  }
  release(&base);
  release(&hit);
}

Test(kernel, monte_carlo_mean_matches_analytic_expected_loss) {
  run r = simulate("shocks:\n  - {sector: green, pd_multiplier: 3, lgd_add: 0.1}\n", 2);
  cas_summary s;
  cas_error err = {0};
  cr_assert_eq(cas_summary_compute(PATHS, r.res->loss, NULL, r.res->defaults, &s, &err), CAS_OK);
  double analytic = 0;
  for (int k = 0; k < CAS_YRD_NSEGMENTS; k++) analytic += r.plan->stressed.expected_loss[k];
  cr_log_info("EL MC %.6g (se %.3g) vs analytic %.6g", s.el, s.el_se, analytic);
  cr_expect_leq(fabs(s.el - analytic), 4 * s.el_se, "EL %g vs analytic %g (se %g)", s.el,
                analytic, s.el_se);
  release(&r);
}
