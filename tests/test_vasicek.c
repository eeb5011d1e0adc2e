/*
 * test_vasicek.c: the dense kernel against the Vasicek large-portfolio limit.
 *
 * A homogeneous portfolio of N = 10,000 loans, PD 2%, LGD 100%, EAD 1, one
 * factor with asset correlation rho = 0.15 (global loading sqrt(0.15)). As
 * N -> infinity the loss fraction L has the Vasicek distribution
 *     P(L <= x) = Phi((sqrt(1 - rho) Phi^-1(x) - Phi^-1(p)) / sqrt(rho)),
 * with quantile q_inf(a) = Phi((Phi^-1(p) + sqrt(rho) Phi^-1(a)) / sqrt(1 - rho)).
 *
 * Finite-size effect allowed for: with N finite, given the factor the number
 * of defaults is Binomial(N, p(z)), so the loss quantile is that of a
 * binomial mixture, q_N, not q_inf; and the empirical quantile lives on the
 * lattice k/N. The test computes q_N exactly by quadrature over the factor
 * (independent of the code under test) and allows
 *     |q_MC - q_inf| <= 3 SE + |q_N - q_inf| + 1/N,
 * and also checks the sharper |q_MC - q_N| <= 3 SE + 1/N. SE is the
 * asymptotic standard error of an empirical quantile,
 * sqrt(a (1 - a) / M) / f(q), with f the Vasicek density (a fixed seed; the
 * tolerance is 3 Monte Carlo standard errors).
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
#include "stats.h"

enum { N_LOANS = 10000, N_PATHS = 40000 };
static const double PD = 0.02, RHO = 0.15;

static double vasicek_quantile(double a) {
  return cas_norm_cdf((cas_norm_quantile(PD) + sqrt(RHO) * cas_norm_quantile(a)) / sqrt(1.0 - RHO));
}

static double vasicek_density(double x) {
  double y = cas_norm_quantile(x);
  double u = (sqrt(1.0 - RHO) * y - cas_norm_quantile(PD)) / sqrt(RHO);
  return sqrt((1.0 - RHO) / RHO) * cas_norm_pdf(u) / cas_norm_pdf(y);
}

/* Exact distribution of the number of defaults D for N loans: P(D <= d) for
 * every d, by trapezoidal quadrature over the factor z on [-9, 9] with the
 * binomial pmf in log space. */
static void finite_cdf(double *cdf) {
  const double h = 0.004;
  double c = cas_norm_quantile(PD);
  for (int d = 0; d <= N_LOANS; d++) cdf[d] = 0.0;
  double *pmf = malloc((N_LOANS + 1) * sizeof *pmf);
  cr_assert_not_null(pmf);
  double lgN = lgamma(N_LOANS + 1.0);
  for (double z = -9.0; z <= 9.0 + 1e-12; z += h) {
    double p = cas_norm_cdf((c - sqrt(RHO) * z) / sqrt(1.0 - RHO));
    if (p <= 0.0 || p >= 1.0) continue;
    double w = h * cas_norm_pdf(z), lp = log(p), lq = log1p(-p);
    for (int k = 0; k <= N_LOANS; k++)
      pmf[k] = exp(lgN - lgamma(k + 1.0) - lgamma(N_LOANS - k + 1.0) + k * lp + (N_LOANS - k) * lq);
    double acc = 0.0;
    for (int k = 0; k <= N_LOANS; k++) {
      acc += pmf[k];
      cdf[k] += w * acc;
    }
  }
  free(pmf);
}

static double finite_quantile(const double *cdf, double a) {
  for (int d = 0; d <= N_LOANS; d++)
    if (cdf[d] >= a) return (double)d / N_LOANS;
  return 1.0;
}

static char dir[] = "/tmp/cascade-vasicek-XXXXXX";

static void write_inputs(char *scenario_path, size_t size) {
  cr_assert_not_null(mkdtemp(dir));
  char csv[256];
  snprintf(csv, sizeof csv, "%s/loans.csv", dir);
  FILE *f = fopen(csv, "w");
  cr_assert_not_null(f);
  fprintf(f, "id,region,sector,ead,pd,lgd\n");
  for (int i = 0; i < N_LOANS; i++) fprintf(f, "L%05d,jiangsu,manufacturing,1,0.02,1\n", i);
  fclose(f);
  snprintf(scenario_path, size, "%s/vasicek.yaml", dir);
  f = fopen(scenario_path, "w");
  cr_assert_not_null(f);
  fprintf(f,
          "name: vasicek\n"
          "seed: 20261123\n"
          "paths: %d\n"
          "portfolio:\n"
          "  file: loans.csv\n"
          "model:\n"
          "  loadings:\n"
          "    manufacturing: {global: %.17g, region: 0, sector: 0}\n",
          N_PATHS, sqrt(RHO));
  fclose(f);
}

Test(vasicek, homogeneous_portfolio_matches_large_portfolio_quantiles, .timeout = CAS_TEST_TIMEOUT(300)) {
  char path[256];
  write_inputs(path, sizeof path);
  cas_error err = {0};
  cas_scenario *sc = NULL;
  cas_portfolio *pf = NULL;
  cas_plan *plan = NULL;
  cas_results *res = NULL;
  cr_assert_eq(cas_scenario_load(path, &sc, &err), CAS_OK, "%s", err.msg);
  cr_assert_eq(cas_portfolio_load_csv(sc->portfolio.file, &pf, &err), CAS_OK, "%s", err.msg);
  cr_assert_eq(cas_plan_build(sc, pf, NULL, &plan, &err), CAS_OK, "%s", err.msg);
  cr_assert_eq(cas_results_create(sc->paths, 0, 0, &res, &err), CAS_OK, "%s", err.msg);
  cas_kernel_options opt = {0};
  cr_assert_eq(cas_kernel_run(&cas_kernel_dense, plan, NULL, res, &opt, &err), CAS_OK);
  cas_summary sum;
  cr_assert_eq(cas_summary_compute(res->paths, res->loss, NULL, NULL, &sum, &err), CAS_OK);

  /* Mean: E[L] = p exactly for any N; SE from the sample. */
  double el = sum.el / N_LOANS;
  cr_expect_leq(fabs(el - PD), 3.0 * sum.el_se / N_LOANS, "EL %g vs PD %g (se %g)", el, PD,
                sum.el_se / N_LOANS);

  double *cdf = malloc((N_LOANS + 1) * sizeof *cdf);
  cr_assert_not_null(cdf);
  finite_cdf(cdf);
  cr_expect_float_eq(cdf[N_LOANS], 1.0, 1e-6, "quadrature mass %g", cdf[N_LOANS]);
  for (int l = 1; l < CAS_NLEVELS; l++) { /* 99% and 99.9% */
    double a = cas_levels[l];
    double q_mc = sum.var[l] / N_LOANS;
    double q_inf = vasicek_quantile(a);
    double q_n = finite_quantile(cdf, a);
    double se = sqrt(a * (1.0 - a) / N_PATHS) / vasicek_density(q_inf);
    double lattice = 1.0 / N_LOANS;
    cr_log_info("level %.3f: MC %.5f, Vasicek %.5f, exact N=%d %.5f, finite-size effect %+.5f, SE %.5f",
                a, q_mc, q_inf, N_LOANS, q_n, q_n - q_inf, se);
    cr_expect_leq(fabs(q_mc - q_inf), 3.0 * se + fabs(q_n - q_inf) + lattice,
                  "level %g: MC %g vs Vasicek %g (se %g, finite-size %g)", a, q_mc, q_inf, se,
                  q_n - q_inf);
    cr_expect_leq(fabs(q_mc - q_n), 3.0 * se + lattice,
                  "level %g: MC %g vs exact finite-N %g (se %g)", a, q_mc, q_n, se);
    /* The finite-size effect is second order: well under the quantile. */
    cr_expect_lt(fabs(q_n - q_inf), 0.05 * q_inf, "finite-size effect %g too large", q_n - q_inf);
  }
  free(cdf);
  cas_results_destroy(res);
  cas_plan_destroy(plan);
  cas_portfolio_destroy(pf);
  cas_scenario_destroy(sc);
  char cmd[512];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  cr_expect_eq(system(cmd), 0);
}
