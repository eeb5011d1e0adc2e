/*
 * test_student_t.c: the Student-t copula (models/copula/student_t.c).
 *
 * - Its distribution function against closed forms (nu = 1: 1/2 +
 *   atan(x)/pi; nu = 2: 1/2 + x / (2 sqrt(2 + x^2))) and its quantile
 *   against its distribution function, deep into the tails.
 * - The mixing scale: W = nu / scale^2 has mean nu and variance 2 nu
 *   (fixed seed, 200,000 draws, within 4 standard errors).
 * - A shift of the systematic term against an independent integral.
 * - Joint defaults: a homogeneous one-factor book (one segment of 400
 *   loans, PD 1%, asset correlation 0.2, nu = 4, 40,000 paths): the
 *   frequency with which two distinct loans default together, the mean
 *   over paths of D (D - 1) / (n (n - 1)), against the bivariate t
 *   probability P(T1 < c, T2 < c), computed here by two nested quadratures
 *   (over W ~ chi2(nu) in W itself, and over the common normal factor),
 *   not by the library: within 3 Monte Carlo standard errors (the per-path
 *   values are independent, so their sample standard deviation / sqrt of
 *   the paths).
 * - Tail dependence: on the same book with equal marginals and
 *   correlation, the t copula's 99.9% loss quantile exceeds the Gaussian
 *   copula's by more than 3 combined standard errors.
 */
#include <criterion/criterion.h>

#include "timeout.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "copula/copula.h"
#include "kernel.h"
#include "normal.h"
#include "plan.h"
#include "portfolio.h"
#include "scenario.h"
#include "stats.h"
#include "support.h"

static cas_copula_model with_df(double nu) {
  cas_copula_model m = cas_copula_student_t;
  m.df = nu;
  return m;
}

Test(student_t, distribution_function_against_closed_forms) {
  static const double xs[] = {-1e6, -300, -30, -5, -1.5, -0.3, 0, 0.2, 1, 4, 50, 1e4};
  cas_copula_model one = with_df(1.0), two = with_df(2.0);
  for (size_t k = 0; k < sizeof xs / sizeof xs[0]; k++) {
    double x = xs[k];
    double cauchy = x < 0 ? atan(-1.0 / x) / M_PI : 0.5 + atan(x) / M_PI;   /* lower tail exactly */
    /* nu = 2: 1/2 + x / (2 sqrt(2 + x^2)); for x < 0 without cancellation
     * 1 / (sqrt(2 + x^2) (sqrt(2 + x^2) + |x|)) */
    double r = sqrt(2.0 + x * x);
    double nu2 = x < 0 ? 1.0 / (r * (r - x)) : 0.5 + x / (2.0 * r);
    double got1 = one.shifted_pd(&one, x, 0.0), got2 = two.shifted_pd(&two, x, 0.0);
    cr_expect_leq(fabs(got1 - cauchy), 1e-13 * cauchy, "nu 1, x %g: %.17g vs %.17g", x, got1, cauchy);
    cr_expect_leq(fabs(got2 - nu2), 2e-13 * nu2 + 1e-300, "nu 2, x %g: %.17g vs %.17g", x, got2, nu2);
  }
  /* the quantile inverts it, with relative precision in the far tail */
  static const double ps[] = {1e-300, 1e-100, 1e-20, 1e-8, 1e-3, 0.01, 0.2, 0.5};
  static const double nus[] = {2.5, 4, 10, 100};
  for (size_t j = 0; j < sizeof nus / sizeof nus[0]; j++) {
    cas_copula_model m = with_df(nus[j]);
    for (size_t k = 0; k < sizeof ps / sizeof ps[0]; k++) {
      double c = m.threshold(&m, ps[k]);
      double back = m.shifted_pd(&m, c, 0.0);
      cr_expect_leq(fabs(back - ps[k]), 1e-12 * ps[k], "nu %g p %g: F(t^-1(p)) = %.17g", nus[j],
                    ps[k], back);
      cr_expect_eq(m.threshold_upper(&m, ps[k]), -c, "symmetry, nu %g p %g", nus[j], ps[k]);
    }
  }
}

Test(student_t, mixing_scale_has_the_chi_square_moments) {
  enum { N = 200000 };
  static const double nus[] = {2.5, 4, 12};
  for (size_t j = 0; j < sizeof nus / sizeof nus[0]; j++) {
    cas_copula_model m = with_df(nus[j]);
    cas_rng rng;
    cas_rng_init(&rng, 11, CAS_RNG_TEST, j);
    double s1 = 0, s2 = 0;
    for (int i = 0; i < N; i++) {
      double scale = m.path_scale(&m, &rng), w = nus[j] / (scale * scale);
      s1 += w;
      s2 += w * w;
    }
    double mean = s1 / N, var = s2 / N - mean * mean, nu = nus[j];
    /* s.e. of the mean sqrt(2 nu / N); of the variance sqrt((m4 - s^4) / N),
     * m4 of chi2(nu) = nu (nu + 2)(nu + 4)(nu + 6) - ... : bounded here by
     * the sample's own fourth moment */
    cr_expect_leq(fabs(mean - nu), 4.0 * sqrt(2.0 * nu / N), "nu %g: mean of W %g", nu, mean);
    double m4 = 12.0 * nu * (nu + 4.0);   /* fourth central moment of chi2(nu) */
    cr_expect_leq(fabs(var - 2.0 * nu), 4.0 * sqrt((m4 - 4.0 * nu * nu) / N), "nu %g: var of W %g",
                  nu, var);
  }
}

/* chi2(nu) density */
static double chi2_pdf(double w, double nu) {
  return exp((0.5 * nu - 1.0) * log(w) - 0.5 * w - 0.5 * nu * log(2.0) - lgamma(0.5 * nu));
}

/* E_W[f(sqrt(W / nu))] by composite Simpson in v = W^(1/nu) on (0, vmax]:
 * W = v^nu, dW = nu v^(nu - 1) dv, which takes the density's singular
 * behaviour at 0 out (an independent method from the library's). */
static double mix_simpson(double nu, double (*f)(double s, const double *a), const double *a) {
  enum { N = 20000 };
  double vmax = pow(nu + 200.0, 1.0 / nu), h = vmax / N, sum = 0.0;
  for (int i = 1; i <= N; i++) {
    double v = h * i, w = pow(v, nu);
    double g = f(sqrt(w / nu), a) * chi2_pdf(w, nu) * nu * pow(v, nu - 1.0);
    sum += g * (i == N ? 1.0 : (i % 2 ? 4.0 : 2.0));
  }
  return sum * h / 3.0;
}

static double shifted_integrand(double s, const double *a) { return cas_norm_cdf(a[0] * s - a[1]); }

/* nu from 4 (below, Simpson's rule in W^(1/nu) is itself off by 1e-8:
 * the density's power of W is not smooth at 0; an mpmath quadrature agrees
 * with the library to 12 digits at nu 2.1). */
Test(student_t, shifted_pd_against_an_independent_integral) {
  static const double nus[] = {4, 5, 10};
  static const double cs[] = {-6, -2.5, -1, 0.5}, shifts[] = {-1.5, -0.3, 0.4};
  for (size_t n = 0; n < sizeof nus / sizeof *nus; n++) {
    cas_copula_model m = with_df(nus[n]);
    for (size_t i = 0; i < 4; i++)
      for (size_t j = 0; j < 3; j++) {
        double a[2] = {cs[i], shifts[j]};
        double want = mix_simpson(nus[n], shifted_integrand, a);
        double got = m.shifted_pd(&m, cs[i], shifts[j]);
        cr_expect_leq(fabs(got - want), 1e-8 * want, "nu %g c %g shift %g: %.12g vs %.12g", nus[n],
                      cs[i], shifts[j], got, want);
      }
  }
}

/* The shifted PD at large degrees of freedom, where the density of log W
 * is narrow (its standard deviation about sqrt(2 / nu)), against Simpson's
 * rule in W itself over nu -+ 60 sqrt(2 nu) (cut at 0), 200,000 panels, an
 * independent method: within 1e-9. A trapezoid in log W with a fixed step
 * of 1/4 was off by 2e-7 at nu = 30 and 3e-3 at nu = 100. */
static double simpson_in_w(double nu, double c, double mu) {
  enum { N = 200000 };
  double sd = sqrt(2.0 * nu), lo = fmax(0.0, nu - 60.0 * sd), hi = nu + 60.0 * sd;
  double h = (hi - lo) / N, sum = 0.0;
  for (int i = 0; i <= N; i++) {
    double w = lo + h * i;
    double f = w > 0.0 ? chi2_pdf(w, nu) * cas_norm_cdf(c * sqrt(w / nu) - mu) : 0.0;
    sum += f * (i == 0 || i == N ? 1.0 : (i % 2 ? 4.0 : 2.0));
  }
  return sum * h / 3.0;
}

Test(student_t, shifted_pd_at_large_degrees_of_freedom) {
  static const double nus[] = {30, 100, 1000}, cs[] = {-3, -1, 2}, mus[] = {-1.2, 0.6};
  for (size_t i = 0; i < 3; i++) {
    cas_copula_model m = with_df(nus[i]);
    for (size_t j = 0; j < 3; j++)
      for (size_t k = 0; k < 2; k++) {
        double want = simpson_in_w(nus[i], cs[j], mus[k]), got = m.shifted_pd(&m, cs[j], mus[k]);
        cr_expect_leq(fabs(got - want), 1e-9 * want, "nu %g, c %g, shift %g: %.15g vs %.15g",
                      nus[i], cs[j], mus[k], got, want);
      }
  }
}

/* The shifted PD and the joint PD leave out the lower nodes of their
 * trapezoid whose terms a bound shows to be below 1e-18 of the integral
 * (student_t.c, mix_expectation). Against every node of the same rule,
 * summed here from the bottom up, they must agree to a few
 * units in the last place: 8 ulp (1.8e-15 relative), over degrees of
 * freedom from 2.1 to 1000, thresholds from PDs of about 10^-300 to near 1,
 * and shifts either way. */
static double full_range(double nu, double c, double mu, double c2, double mu2, double rho,
                         int joint) {
  double h = fmin(0.25, 0.4 * sqrt(2.0 / nu));   /* the library's nodes (student_t.c) */
  double half = 0.5 * nu, lnorm = -half * log(2.0) - lgamma(half), cmax = fmax(fabs(c), fabs(c2));
  double a = 80.0 / nu, x = 1.0 + a + sqrt(2.0 * a);
  for (int it = 0; it < 100; it++) {
    double f = x - 1.0 - log(x) - a;
    if (!(f > 0.0)) break;
    double next = x - f / (1.0 - 1.0 / x);
    if (!(next < x)) break;
    x = next;
  }
  double u0 = log(nu) - a, u1 = fmax(log(nu + 80.0 + 4.0 * sqrt(nu)), log(nu * x));
  double uc = log(nu / (1.0 + cmax * cmax)) - 2.0 * log(1e9);
  if (uc < u0) u0 = uc;
  int n = (int)ceil((u1 - u0) / h);
  double sum = 0.0;
  for (int i = 0; i <= n; i++) {
    double u = u0 + h * i, w = exp(u), s = sqrt(w / nu);
    double g = joint ? cas_bvn_cdf(c * s - mu, c2 * s - mu2, rho) : cas_norm_cdf(c * s - mu);
    sum += exp(half * u - 0.5 * w + lnorm) * g;
  }
  return sum * h;
}

Test(student_t, mixture_without_its_negligible_nodes_keeps_its_value) {
  static const double nus[] = {2.1, 2.5, 4, 5, 10, 30, 100, 1000};
  static const double cs[] = {-1e6, -40, -12, -6, -3, -1, 0, 1, 3, 8};
  static const double mus[] = {-2, -0.5, 0, 0.7, 2};
  const double tol = 8.0 * 0x1.0p-52;
  int n = 0;
  for (size_t i = 0; i < sizeof nus / sizeof *nus; i++) {
    cas_copula_model m = with_df(nus[i]);
    for (size_t j = 0; j < sizeof cs / sizeof *cs; j++)
      for (size_t k = 0; k < sizeof mus / sizeof *mus; k++) {
        double want = fmin(1.0, full_range(nus[i], cs[j], mus[k], 0, 0, 0, 0));   /* PDs clamp */
        double got = m.shifted_pd(&m, cs[j], mus[k]);
        if (mus[k] == 0.0) continue;   /* no shift: the t distribution function, no mixture */
        cr_assert(fabs(got - want) <= tol * want, "nu %g, c %g, shift %g: %.17g vs %.17g", nus[i],
                  cs[j], mus[k], got, want);
        n++;
        if (j % 3 == 0 && fabs(cs[j]) < 100) {   /* joint PDs, fewer: each node is a bivariate CDF */
          double c2 = -2.0, rho = 0.3;
          double wj = fmin(1.0, full_range(nus[i], cs[j], mus[k], c2, 0.4, rho, 1));
          double gj = m.shifted_joint_pd(&m, cs[j], mus[k], c2, 0.4, rho);
          cr_assert(fabs(gj - wj) <= tol * wj, "joint: nu %g, c %g, shift %g: %.17g vs %.17g",
                    nus[i], cs[j], mus[k], gj, wj);
        }
      }
  }
  cr_assert_gt(n, 300);
}

/* ---- the homogeneous book ------------------------------------------------ */

enum { LOANS = 400, PATHS = 40000 };
static const double PD = 0.01, RHO = 0.2, NU = 4.0;
static char dir[] = "/tmp/cascade_t_XXXXXX";

static void cleanup(void) {
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  if (system(cmd) != 0) cr_log_warn("could not remove %s", dir);
}

typedef struct run {
  cas_scenario *sc;
  cas_portfolio *pf;
  cas_plan *plan;
  cas_results *res;
} run;

static run simulate(const char *copula) {
  if (strncmp(dir + strlen(dir) - 6, "XXXXXX", 6) == 0) cr_assert_not_null(mkdtemp(dir));
  char csv[256], yaml[256];
  snprintf(csv, sizeof csv, "%s/book.csv", dir);
  FILE *f = fopen(csv, "w");
  cr_assert_not_null(f);
  fprintf(f, "id,region,sector,ead,pd,lgd\n");
  for (int i = 0; i < LOANS; i++) fprintf(f, "L%d,r,s,1,%.17g,1\n", i, PD);
  fclose(f);
  snprintf(yaml, sizeof yaml, "%s/%s.yaml", dir, copula);
  f = fopen(yaml, "w");
  cr_assert_not_null(f);
  fprintf(f, "seed: 77\npaths: %d\nportfolio: {file: book.csv}\nlevels: [0.99, 0.999]\n"
             "model:\n  copula: %s\n%s  factors: [{name: systematic, loading: %.17g}]\n",
          PATHS, copula, strcmp(copula, "t") == 0 ? "  degrees_of_freedom: 4\n" : "", sqrt(RHO));
  fclose(f);
  run r = {0};
  cas_error err = {0};
  cr_assert_eq(cas_scenario_load(yaml, &r.sc, &err), CAS_OK, "%s", err.msg);
  cr_assert_eq(cas_portfolio_load_csv(r.sc->portfolio.file, &r.pf, &err), CAS_OK, "%s", err.msg);
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

/* P(both default | W) = P(Z1 < c s, Z2 < c s; RHO), Z standard normal with
 * correlation RHO, by the one-factor form over the common factor y. */
static double joint_given_scale(double s, const double *a) {
  double c = a[0], r = sqrt(RHO), b = sqrt(1.0 - RHO);
  enum { N = 2000 };
  double h = 20.0 / N, sum = 0.0;
  for (int i = 0; i <= N; i++) {
    double y = -10.0 + h * i, p = cas_norm_cdf((c * s - r * y) / b);
    sum += (i == 0 || i == N ? 0.5 : 1.0) * exp(-0.5 * y * y) * p * p;
  }
  return sum * h / sqrt(2.0 * M_PI);
}

Test(student_t, joint_defaults_match_the_bivariate_t, .timeout = CAS_TEST_TIMEOUT(300), .fini = cleanup) {
  run r = simulate("t");
  cr_assert_eq(r.plan->copula->df, NU);
  double c = r.plan->loans[0].threshold;
  double a[1] = {c};
  double truth = mix_simpson(NU, joint_given_scale, a);
  double m = 0.0, m2 = 0.0;
  for (uint64_t p = 0; p < r.res->paths; p++) {
    double d = (double)r.res->defaults[p];
    double x = d * (d - 1.0) / ((double)LOANS * (LOANS - 1.0)), delta = x - m;
    m += delta / (double)(p + 1);
    m2 += delta * (x - m);
  }
  double se = sqrt(m2 / (double)(r.res->paths - 1) / (double)r.res->paths);
  /* the Gaussian copula's value at the same correlation, to show the test
   * tells the two apart */
  double gauss = joint_given_scale(1.0, (double[]){cas_norm_quantile(PD)});
  cr_log_info("joint PD: simulated %.6g (se %.3g), bivariate t %.6g (z %+.2f); Gaussian %.6g",
              m, se, truth, (m - truth) / se, gauss);
  cr_expect_leq(fabs(m - truth), 3.0 * se, "joint default %g vs bivariate t %g (se %g)", m, truth, se);
  cr_expect_gt(fabs(gauss - truth) / se, 5.0, "the test cannot tell t from Gaussian");
  release(&r);
}

Test(student_t, fatter_tail_than_the_gaussian, .timeout = CAS_TEST_TIMEOUT(300), .fini = cleanup) {
  run g = simulate("gaussian"), t = simulate("t");
  cas_summary sg, st;
  cas_error err = {0};
  static const double levels[] = {0.99, 0.999};
  cas_summary_options opt = {.levels = levels, .nlevels = 2};
  cr_assert_eq(cas_summary_compute(PATHS, g.res->loss, &opt, NULL, &sg, &err), CAS_OK);
  cr_assert_eq(cas_summary_compute(PATHS, t.res->loss, &opt, NULL, &st, &err), CAS_OK);
  double se = sqrt(sg.var_se[1] * sg.var_se[1] + st.var_se[1] * st.var_se[1]);
  cr_log_info("VaR 99.9%%: t %.1f (se %.1f), Gaussian %.1f (se %.1f); EL t %.3f, Gaussian %.3f",
              st.var[1], st.var_se[1], sg.var[1], sg.var_se[1], st.el, sg.el);
  cr_expect_gt(st.var[1] - sg.var[1], 3.0 * se, "t 99.9%% quantile %g vs Gaussian %g (se %g)",
               st.var[1], sg.var[1], se);
  /* equal marginals: the same expected loss within Monte Carlo error */
  cr_expect_leq(fabs(st.el - sg.el), 4.0 * sqrt(st.el_se * st.el_se + sg.el_se * sg.el_se));
  release(&g);
  release(&t);
}
