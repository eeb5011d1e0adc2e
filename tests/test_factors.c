/*
 * test_factors.c: the factor model as data, checked against the joint
 * default probabilities it implies.
 *
 * Book: 10 regions x 10 sectors of a bank's own classification (names the
 * CSV holds, no declaration), 20 loans per segment, PD 2%, EAD 1, LGD 1.
 * Model (scenario file): one market factor, one factor per sector
 * ("industry") and one per region ("geo"), each loan loading 0.8, 0.4 and
 * 0.4 on its three, all factors independent. Two loans then have latent
 * correlation
 *   0.64 if they share only the market factor (other region, other sector),
 *   0.80 if they share market and industry (same sector, other region),
 *   0.96 if they share all three (same segment),
 * and default together with probability Phi2(c, c; rho), c = Phi^-1(PD).
 *
 * The simulated joint default probability of a kind of pair is the mean
 * over paths of X_p = sum over the pairs of that kind of D_A D_B / (n_A n_B)
 * (D_A(D_A - 1) / (n (n - 1)) within a segment: two distinct loans), over
 * the number of pairs: the X_p are independent across paths, so its
 * standard error is their sample standard deviation / sqrt(paths). The
 * truth is computed here by quadrature of the one-factor form
 *   Phi2(c, c; rho) = int phi(z) Phi((c - sqrt(rho) z) / sqrt(1 - rho))^2 dz
 * (trapezoid on [-10, 10], 8001 points: error far below 1e-10), not by
 * the library's bivariate normal. Tolerance: 3 standard errors, fixed seed.
 */
#include <criterion/criterion.h>

#include "timeout.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kernel.h"
#include "normal.h"
#include "plan.h"
#include "portfolio.h"
#include "scenario.h"
#include "support.h"

enum { NR = 10, NS = 10, PER = 20, PATHS = 20000 };
static const double PD = 0.02;

static char dir[] = "/tmp/cascade_factors_XXXXXX";

static void cleanup(void) {
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  if (system(cmd) != 0) cr_log_warn("could not remove %s", dir);
}

static void write_file(const char *name, const char *text) {
  char path[256];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "w");
  cr_assert_not_null(f);
  fputs(text, f);
  fclose(f);
}

/* Regions listed sector-major in the file so that first appearance gives
 * the order g9, g8, ..., g0: the model must not depend on the names' order. */
static void write_book(void) {
  char path[256];
  snprintf(path, sizeof path, "%s/book.csv", dir);
  FILE *f = fopen(path, "w");
  cr_assert_not_null(f);
  fprintf(f, "id,region,sector,ead,pd,lgd\n");
  int id = 0;
  for (int s = 0; s < NS; s++)
    for (int r = NR - 1; r >= 0; r--)
      for (int k = 0; k < PER; k++) fprintf(f, "L%d,g%d,i%d,1,%.17g,1\n", id++, r, s, PD);
  fclose(f);
}

static double joint_pd(double rho) {
  double c = cas_norm_quantile(PD), a = sqrt(rho), b = sqrt(1.0 - rho);
  enum { N = 8000 };
  double h = 20.0 / N, sum = 0.0;
  for (int i = 0; i <= N; i++) {
    double z = -10.0 + h * i;
    double p = cas_norm_cdf((c - a * z) / b);
    double w = (i == 0 || i == N) ? 0.5 : 1.0;
    sum += w * exp(-0.5 * z * z) * p * p;
  }
  return sum * h / sqrt(2.0 * M_PI);
}

typedef struct run {
  cas_scenario *sc;
  cas_portfolio *pf;
  cas_plan *plan;
  cas_results *res;
} run;

static run simulate(const char *scenario) {
  cr_assert_not_null(mkdtemp(dir));
  write_book();
  write_file("model.yaml", scenario);
  char path[256];
  snprintf(path, sizeof path, "%s/model.yaml", dir);
  run r = {0};
  cas_error err = {0};
  cr_assert_eq(cas_scenario_load(path, &r.sc, &err), CAS_OK, "%s", err.msg);
  cr_assert_eq(cas_portfolio_load_csv(r.sc->portfolio.file, &r.pf, &err), CAS_OK, "%s", err.msg);
  cr_assert_eq(r.pf->tax->regions.n, NR);
  cr_assert_eq(r.pf->tax->sectors.n, NS);
  cr_assert_str_eq(r.pf->tax->regions.name[0], "g9", "first appearance order");
  cr_assert_eq(cas_plan_build(r.sc, r.pf, NULL, &r.plan, &err), CAS_OK, "%s", err.msg);
  cr_assert_eq(cas_results_create(r.sc->paths, 0, 0, &r.res, &err), CAS_OK, "%s", err.msg);
  cas_kernel_options opt = {.threads = 2};
  cr_assert_eq(cas_kernel_run(&cas_kernel_sparse, r.plan, NULL, r.res, &opt, &err), CAS_OK, "%s",
               err.msg);
  return r;
}

static void release(run *r) {
  cas_results_destroy(r->res);
  cas_plan_destroy(r->plan);
  cas_portfolio_destroy(r->pf);
  cas_scenario_destroy(r->sc);
}

/* Mean and standard error over paths of the joint default frequency of
 * the pairs of segments (a, b) that `kind` selects. */
typedef int (*pair_kind)(int ra, int sa, int rb, int sb);
static int only_market(int ra, int sa, int rb, int sb) { return ra != rb && sa != sb; }
static int market_industry(int ra, int sa, int rb, int sb) { return ra != rb && sa == sb; }

static void pair_frequency(const run *r, pair_kind kind, double *mean, double *se) {
  const cas_taxonomy *t = r->pf->tax;
  int nseg = t->nsegments;
  double m = 0.0, m2 = 0.0;
  for (uint64_t p = 0; p < r->res->paths; p++) {
    const int32_t *d = &r->res->defaults_by_segment[p * (uint64_t)nseg];
    double x = 0.0, pairs = 0.0;
    for (int a = 0; a < nseg; a++) {
      int ra = cas_taxonomy_segment_region(t, a), sa = cas_taxonomy_segment_sector(t, a);
      if (kind == NULL) {   /* same segment: two distinct loans */
        x += (double)d[a] * (d[a] - 1) / (PER * (PER - 1.0));
        pairs += 1.0;
        continue;
      }
      for (int b = a + 1; b < nseg; b++) {
        int rb = cas_taxonomy_segment_region(t, b), sb = cas_taxonomy_segment_sector(t, b);
        if (!kind(ra, sa, rb, sb)) continue;
        x += (double)d[a] * d[b] / ((double)PER * PER);
        pairs += 1.0;
      }
    }
    x /= pairs;
    double delta = x - m;   /* Welford, in path order */
    m += delta / (double)(p + 1);
    m2 += delta * (x - m);
  }
  *mean = m;
  *se = sqrt(m2 / (double)(r->res->paths - 1) / (double)r->res->paths);
}

Test(factors, market_industries_regions_match_the_bivariate_normal, .timeout = CAS_TEST_TIMEOUT(300),
     .fini = cleanup) {
  char yaml[1024];
  snprintf(yaml, sizeof yaml,
           "name: market_industry_geo\nseed: 20261130\npaths: %d\n"
           "portfolio: {file: book.csv}\n"
           "model:\n"
           "  factors:\n"
           "    - {name: market, loading: 0.8}\n"
           "    - {name: industry, by: sector, loading: 0.4}\n"
           "    - {name: geo, by: region, loading: 0.4}\n",
           PATHS);
  run r = simulate(yaml);
  const cas_factor_model *m = r.sc->factors;
  cr_assert_eq(m->nfactors, 1 + NS + NR);
  cr_assert_eq(cas_names_find(&m->names, "industry.i3", 11), 1 + 3);
  cr_assert_eq(cas_names_find(&m->names, "geo.g9", 6), 1 + NS);
  /* Every loan's systematic variance: 0.64 + 0.16 + 0.16. */
  for (int s = 0; s < r.plan->nsegments; s++)
    cr_assert_float_eq(cas_factor_model_systematic_variance(m, s), 0.96, 1e-12);

  /* Marginal: the default rate of the book is the PD. */
  double rate = 0.0, rate2 = 0.0, n = (double)r.pf->n;
  for (uint64_t p = 0; p < r.res->paths; p++) {
    double x = (double)r.res->defaults[p] / n;
    rate += x;
    rate2 += x * x;
  }
  rate /= PATHS;
  double rate_se = sqrt((rate2 / PATHS - rate * rate) / (PATHS - 1.0));
  cr_log_info("default rate %.5f (se %.5f), PD %.5f", rate, rate_se, PD);
  cr_expect_leq(fabs(rate - PD), 3.0 * rate_se);

  struct { const char *what; pair_kind kind; double rho; } cases[] = {
    {"share only the market factor", only_market, 0.64},
    {"share market and industry", market_industry, 0.80},
    {"share all three factors", NULL, 0.96},
  };
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    double mean, se, truth = joint_pd(cases[k].rho);
    pair_frequency(&r, cases[k].kind, &mean, &se);
    double z = (mean - truth) / se;
    cr_log_info("%s (rho %.2f): joint PD simulated %.6f (se %.6f), bivariate normal %.6f, z %+.2f; "
                "independent %.6f",
                cases[k].what, cases[k].rho, mean, se, truth, z, PD * PD);
    cr_expect_leq(fabs(z), 3.0, "%s: %g vs %g (se %g)", cases[k].what, mean, truth, se);
    /* The test has power: independence would be far outside the band. */
    cr_expect_gt((truth - PD * PD) / se, 10.0);
  }
  release(&r);
}

/* Two correlated sector factors with different loadings: the simulated
 * factors have the given correlation (within 3 standard errors of the
 * sample correlation, (1 - rho^2) / sqrt(paths)) and each sector's
 * loading is its own. */
Test(factors, two_correlated_sector_factors, .timeout = CAS_TEST_TIMEOUT(300), .fini = cleanup) {
  char yaml[1024];
  snprintf(yaml, sizeof yaml,
           "name: two_sectors\nseed: 5\npaths: %d\n"
           "portfolio: {file: book.csv}\n"
           "model:\n"
           "  factors: [{name: sector, by: sector}]\n"
           "  loadings: {i0: {sector: 0.5}, i1: {sector: 0.3}, i2: {sector: 0.3}, i3: {sector: 0.3},\n"
           "             i4: {sector: 0.3}, i5: {sector: 0.3}, i6: {sector: 0.3}, i7: {sector: 0.3},\n"
           "             i8: {sector: 0.3}, i9: {sector: 0.3}}\n"
           "  correlations: [{factors: [sector.i0, sector.i1], value: 0.4}]\n",
           PATHS);
  run r = simulate(yaml);
  cr_assert_eq(r.plan->nfactors, NS);
  int seg0 = cas_taxonomy_segment(r.pf->tax, 0, 0), seg1 = cas_taxonomy_segment(r.pf->tax, 0, 1);
  cr_expect_float_eq(cas_plan_loading(r.plan, seg0)[0], 0.5, 0);
  cr_expect_float_eq(cas_plan_loading(r.plan, seg1)[1], 0.3, 0);
  cr_expect_float_eq(cas_plan_loading(r.plan, seg1)[0], 0.0, 0);
  double sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0;
  for (uint64_t p = 0; p < r.res->paths; p++) {
    double x = r.res->factors[p * NS + 0], y = r.res->factors[p * NS + 1];
    sx += x;
    sy += y;
    sxx += x * x;
    syy += y * y;
    sxy += x * y;
  }
  double P = PATHS, cov = sxy / P - sx * sy / (P * P);
  double corr = cov / sqrt((sxx / P - sx * sx / (P * P)) * (syy / P - sy * sy / (P * P)));
  double se = (1.0 - 0.4 * 0.4) / sqrt(P);
  cr_log_info("factor correlation %.4f (want 0.4, se %.4f)", corr, se);
  cr_expect_leq(fabs(corr - 0.4), 3.0 * se);
  release(&r);
}

/* One factor (Vasicek) as a family of one: every segment loads sqrt(rho)
 * on it and nothing else. */
Test(factors, one_factor_model, .fini = cleanup) {
  run r = simulate("name: vasicek\nseed: 1\npaths: 200\nportfolio: {file: book.csv}\n"
                   "model:\n  factors: [{name: systematic, loading: 0.3872983346207417}]\n");
  cr_assert_eq(r.plan->nfactors, 1);
  for (int s = 0; s < r.plan->nsegments; s++)
    cr_assert_float_eq(cas_factor_model_systematic_variance(r.sc->factors, s), 0.15, 1e-15);
  release(&r);
}
