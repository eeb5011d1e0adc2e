/*
 * test_intervals.c: the 95% confidence intervals of EL, VaR and ES cover the
 * true value at their nominal rate (sim/engine/stats.c), plainly, with
 * importance-sampling weights, and for a scenario minus a baseline with
 * common random numbers.
 *
 * The case with a known answer is the Vasicek large-portfolio loss
 * L = Phi((c - sqrt(rho) Z) / sqrt(1 - rho)), Z ~ N(0, 1), c = Phi^-1(PD):
 * VaR_a = L(z_{1-a}) in closed form, ES_a = E[L; Z <= z_{1-a}] / (1 - a) by
 * quadrature. Each test draws R independent replications of M paths with a
 * fixed seed and counts how often the interval holds the truth. The count
 * is binomial(R, 0.95) when the interval is exact: sd sqrt(R 0.95 0.05) = 6.9
 * at R = 1000, so the tolerance is 3 sd, [929, 971]. An order-statistic
 * interval for VaR sits on whole ranks, which can make it conservative when
 * few paths lie beyond VaR: its count is checked against 3 sd below 95% and
 * 99% above (an interval that is merely wide fails).
 */
#include <criterion/criterion.h>

#include "timeout.h"

#include <math.h>
#include <stdlib.h>

#include "normal.h"
#include "rng.h"
#include "stats.h"

static const double PD = 0.02, RHO = 0.15;

static double vasicek_loss(double c, double z) {
  return cas_norm_cdf((c - sqrt(RHO) * z) / sqrt(1.0 - RHO));
}

static double true_var(double c, double a) { return vasicek_loss(c, cas_norm_quantile(1.0 - a)); }

/* E[L; Z <= z_{1-a}] / (1 - a) by composite Simpson's rule on [-12, z_{1-a}]
 * (the integrand is smooth; 20,000 panels give 1e-12 relative accuracy). */
static double true_es(double c, double a) {
  double lo = -12.0, hi = cas_norm_quantile(1.0 - a);
  int n = 20000;
  double h = (hi - lo) / n, s = 0.0;
  for (int i = 0; i <= n; i++) {
    double z = lo + i * h, f = vasicek_loss(c, z) * cas_norm_pdf(z);
    s += f * (i == 0 || i == n ? 1.0 : (i % 2 ? 4.0 : 2.0));
  }
  return s * h / 3.0 / (1.0 - a);
}

enum { R = 1000, M = 10000 };

/* 3 binomial standard deviations of a count of R at 95% */
static const double LOW = R * 0.95 - 3.0 * 6.892, HIGH = R * 0.95 + 3.0 * 6.892;

Test(intervals, plain_intervals_cover_at_their_nominal_rate, .timeout = CAS_TEST_TIMEOUT(120)) {
  double c = cas_norm_quantile(PD);
  double var_true[CAS_NLEVELS], es_true[CAS_NLEVELS];
  for (int l = 0; l < CAS_NLEVELS; l++) {
    var_true[l] = true_var(c, cas_levels[l]);
    es_true[l] = true_es(c, cas_levels[l]);
  }
  double el_true = PD;
  double *loss = malloc(M * sizeof *loss);
  cr_assert_not_null(loss);
  int el_cov = 0, var_cov[CAS_NLEVELS] = {0}, es_cov[CAS_NLEVELS] = {0};
  double mom[CAS_NLEVELS][4] = {{0}}; /* VaR: sum, sum of squares, sum of s.e.; ES: sum of s.e. */
  double es_mom[CAS_NLEVELS][2] = {{0}};
  for (int r = 0; r < R; r++) {
    cas_rng rng;
    cas_rng_init(&rng, 2024, CAS_RNG_TEST, (uint64_t)r);
    for (int p = 0; p < M; p++) loss[p] = vasicek_loss(c, cas_rng_normal(&rng));
    cas_summary s;
    cas_error err = {0};
    cr_assert_eq(cas_summary_compute(M, loss, NULL, NULL, &s, &err), CAS_OK);
    el_cov += s.el_lo <= el_true && el_true <= s.el_hi;
    for (int l = 0; l < CAS_NLEVELS; l++) {
      cr_assert(s.var_lo[l] <= s.var[l] && s.var[l] <= s.var_hi[l]);
      cr_assert(s.es_lo[l] <= s.es[l] && s.es[l] <= s.es_hi[l]);
      var_cov[l] += s.var_lo[l] <= var_true[l] && var_true[l] <= s.var_hi[l];
      mom[l][0] += s.var[l];
      mom[l][1] += s.var[l] * s.var[l];
      mom[l][2] += s.var_se[l];
      mom[l][3] += s.es_se[l];
      es_mom[l][0] += s.es[l];
      es_mom[l][1] += s.es[l] * s.es[l];
      es_cov[l] += s.es_lo[l] <= es_true[l] && es_true[l] <= s.es_hi[l];
    }
  }
  cr_log_info("EL: %d of %d", el_cov, R);
  cr_expect(el_cov >= LOW && el_cov <= HIGH, "EL interval covers %d of %d", el_cov, R);
  for (int l = 0; l < CAS_NLEVELS; l++) {
    cr_log_info("level %g: VaR %d, ES %d of %d", cas_levels[l], var_cov[l], es_cov[l], R);
    double vm = mom[l][0] / R, vsd = sqrt(mom[l][1] / R - vm * vm);
    double em = es_mom[l][0] / R, esd = sqrt(es_mom[l][1] / R - em * em);
    cr_log_info("  mean s.e. / sd of the estimates: VaR %.3f, ES %.3f", mom[l][2] / R / vsd,
                mom[l][3] / R / esd);
    /* the standard errors track the spread (the sd of 1,000 estimates is
     * itself known to about 2%); VaR's at 99.9% reads about 20% high, from
     * the skew of the order statistics around ten tail paths */
    cr_expect(mom[l][2] / R / vsd > 0.8 && mom[l][2] / R / vsd < 1.25, "VaR s.e. / sd %g",
              mom[l][2] / R / vsd);
    cr_expect(mom[l][3] / R / esd > 0.8 && mom[l][3] / R / esd < 1.25, "ES s.e. / sd %g",
              mom[l][3] / R / esd);
    cr_expect(var_cov[l] >= LOW && var_cov[l] <= 990, "VaR %g interval covers %d of %d",
              cas_levels[l], var_cov[l], R);
    cr_expect(es_cov[l] >= LOW && es_cov[l] <= HIGH, "ES %g interval covers %d of %d",
              cas_levels[l], es_cov[l], R);
  }
  free(loss);
}

/* Importance sampling of the same case: Z drawn from N(mu, 1) with mu =
 * z_{0.001} (the 99.9% scenario), each path weighted by the likelihood
 * ratio phi(Z) / phi(Z - mu) = exp(-mu Z + mu^2 / 2). The weighted
 * estimators are unbiased for P(L > VaR_a) and cover VaR and ES at the tail
 * levels at their nominal rate with only 2,000 paths; the weighted tail
 * probability's variance per path is far below a (1 - a). */
Test(intervals, weighted_estimators_cover_and_reduce_variance, .timeout = CAS_TEST_TIMEOUT(120)) {
  enum { RW = 1000, MW = 2000 };
  double c = cas_norm_quantile(PD), mu = cas_norm_quantile(0.001);
  static const double levels[2] = {0.99, 0.999};
  double var_true[2], es_true[2];
  for (int l = 0; l < 2; l++) {
    var_true[l] = true_var(c, levels[l]);
    es_true[l] = true_es(c, levels[l]);
  }
  double *loss = malloc(MW * sizeof *loss), *w = malloc(MW * sizeof *w);
  cr_assert(loss && w);
  int var_cov[2] = {0}, es_cov[2] = {0};
  double p_sum = 0.0, p_sum2 = 0.0, second_moment = 0.0;
  for (int r = 0; r < RW; r++) {
    cas_rng rng;
    cas_rng_init(&rng, 77, CAS_RNG_TEST, (uint64_t)r);
    double hits = 0.0, hits2 = 0.0;
    for (int p = 0; p < MW; p++) {
      double z = cas_rng_normal(&rng) + mu;
      loss[p] = vasicek_loss(c, z);
      w[p] = exp(-mu * z + 0.5 * mu * mu);
      if (loss[p] > var_true[1]) {
        hits += w[p];
        hits2 += w[p] * w[p];
      }
    }
    double pr = hits / MW;
    p_sum += pr;
    p_sum2 += pr * pr;
    second_moment += hits2 / MW;
    cas_summary s;
    cas_error err = {0};
    cas_summary_options opt = {.levels = levels, .nlevels = 2, .weight = w};
    cr_assert_eq(cas_summary_compute(MW, loss, &opt, NULL, &s, &err), CAS_OK);
    cr_assert(s.weighted);
    for (int l = 0; l < 2; l++) {
      var_cov[l] += s.var_lo[l] <= var_true[l] && var_true[l] <= s.var_hi[l];
      es_cov[l] += s.es_lo[l] <= es_true[l] && es_true[l] <= s.es_hi[l];
    }
  }
  /* P(L > VaR_99.9%) = 0.001 exactly: the mean of RW estimates within 4 of
   * its standard errors */
  double pm = p_sum / RW, psd = sqrt(p_sum2 / RW - pm * pm);
  cr_log_info("P(L > VaR 99.9%%): %.6f (sd %.6f per run of %d paths)", pm, psd, MW);
  cr_expect(fabs(pm - 0.001) <= 4.0 * psd / sqrt(RW), "IS tail probability %g vs 0.001", pm);
  /* variance per path: E[w^2 1{L > v}] - p^2 against p (1 - p) */
  double is_var = second_moment / RW - 0.001 * 0.001, plain_var = 0.001 * 0.999;
  cr_log_info("variance per path: IS %.3g, plain %.3g, ratio %.1f", is_var, plain_var,
              plain_var / is_var);
  cr_expect(plain_var / is_var > 30.0, "variance reduction %g", plain_var / is_var);
  for (int l = 0; l < 2; l++) {
    cr_log_info("IS level %g: VaR %d, ES %d of %d", levels[l], var_cov[l], es_cov[l], RW);
    cr_expect(var_cov[l] >= LOW && var_cov[l] <= HIGH, "IS VaR %g covers %d", levels[l], var_cov[l]);
    cr_expect(es_cov[l] >= LOW && es_cov[l] <= HIGH, "IS ES %g covers %d", levels[l], es_cov[l]);
  }
  free(loss);
  free(w);
}

/* A scenario (PD 3%) minus a baseline (PD 2%) drawn with the same Z per
 * path: the paired interval of the ES difference covers the true
 * difference at its nominal rate and is several times narrower than the
 * interval of independent runs. With an independent baseline (its own Z)
 * the two summaries' intervals combined (cas_unpaired_difference) cover
 * at least their rate, and are as wide as that function makes them for
 * the common-random-numbers pair; pairing independent runs path by path
 * would cover ES 99.9% only about 900 times in 1000 (logged), which is
 * why compare pairs only runs with common random numbers. */
Test(intervals, paired_difference_covers_and_is_narrower, .timeout = CAS_TEST_TIMEOUT(120)) {
  enum { RP = 1000 };
  double cb = cas_norm_quantile(PD), ca = cas_norm_quantile(0.03);
  static const double levels[3] = {0.95, 0.99, 0.999};
  double diff_true[3], ratio_true[3];
  for (int l = 0; l < 3; l++) {
    diff_true[l] = true_es(ca, levels[l]) - true_es(cb, levels[l]);
    ratio_true[l] = true_es(ca, levels[l]) / true_es(cb, levels[l]);
  }
  double vdiff_true = true_var(ca, 0.99) - true_var(cb, 0.99);
  double *la = malloc(M * sizeof *la), *lb = malloc(M * sizeof *lb), *li = malloc(M * sizeof *li);
  cr_assert(la && lb && li);
  int es_cov[3] = {0}, ratio_cov[3] = {0}, var_cov = 0, el_cov = 0, indep_cov = 0;
  int paired_indep_cov = 0;
  double width_paired = 0.0, width_unpaired = 0.0, width_indep = 0.0, width_indep_runs = 0.0;
  for (int r = 0; r < RP; r++) {
    cas_rng rng;
    cas_rng_init(&rng, 5150, CAS_RNG_TEST, (uint64_t)r);
    for (int p = 0; p < M; p++) {
      double z = cas_rng_normal(&rng);
      la[p] = vasicek_loss(ca, z);
      lb[p] = vasicek_loss(cb, z);
      li[p] = vasicek_loss(cb, cas_rng_normal(&rng));   /* an independent baseline */
    }
    cas_difference d, u, ind;
    cas_error err = {0};
    cr_assert_eq(cas_paired_difference(M, la, NULL, lb, NULL, levels, 3, &d, &err), CAS_OK);
    /* independent runs: the unpaired interval of the two summaries */
    cas_summary si;
    cas_summary_options o3 = {.levels = levels, .nlevels = 3};
    cr_assert_eq(cas_summary_compute(M, li, &o3, NULL, &si, &err), CAS_OK);
    cas_summary sa, sb;
    cas_summary_options opt = {.levels = levels, .nlevels = 3};
    cr_assert_eq(cas_summary_compute(M, la, &opt, NULL, &sa, &err), CAS_OK);
    cr_assert_eq(cas_summary_compute(M, lb, &opt, NULL, &sb, &err), CAS_OK);
    cas_unpaired_difference(&sa, &sb, &u);
    cas_unpaired_difference(&sa, &si, &ind);
    cas_difference pi;   /* paired although independent: why compare does not */
    cr_assert_eq(cas_paired_difference(M, la, NULL, li, NULL, levels, 3, &pi, &err), CAS_OK);
    paired_indep_cov += pi.es_lo[2] <= diff_true[2] && diff_true[2] <= pi.es_hi[2];
    indep_cov += ind.es_lo[2] <= diff_true[2] && diff_true[2] <= ind.es_hi[2];
    width_indep_runs += ind.es_hi[2] - ind.es_lo[2];
    width_indep += u.es_hi[2] - u.es_lo[2];
    cr_assert_float_eq(d.es[2], sa.es[2] - sb.es[2], 1e-12);
    el_cov += d.el_lo <= 0.01 && 0.01 <= d.el_hi;
    var_cov += d.var_lo[1] <= vdiff_true && vdiff_true <= d.var_hi[1];
    for (int l = 0; l < 3; l++) {
      es_cov[l] += d.es_lo[l] <= diff_true[l] && diff_true[l] <= d.es_hi[l];
      ratio_cov[l] += d.es_ratio_lo[l] <= ratio_true[l] && ratio_true[l] <= d.es_ratio_hi[l];
    }
    width_paired += d.es_hi[2] - d.es_lo[2];
    width_unpaired += u.es_hi[2] - u.es_lo[2];
  }
  cr_log_info("paired: EL %d, VaR 99%% %d of %d; ES 99.9%% interval %.1f times narrower than "
              "unpaired", el_cov, var_cov, RP, width_unpaired / width_paired);
  cr_expect(el_cov >= LOW && el_cov <= HIGH, "EL difference covers %d", el_cov);
  cr_expect(var_cov >= LOW && var_cov <= 990, "VaR difference covers %d", var_cov);
  for (int l = 0; l < 3; l++) {
    cr_log_info("level %g: ES difference %d, ratio %d of %d", levels[l], es_cov[l], ratio_cov[l], RP);
    cr_expect(es_cov[l] >= LOW && es_cov[l] <= HIGH, "ES %g difference covers %d", levels[l],
              es_cov[l]);
    cr_expect(ratio_cov[l] >= LOW && ratio_cov[l] <= HIGH, "ES %g ratio covers %d", levels[l],
              ratio_cov[l]);
  }
  cr_expect(width_unpaired / width_paired > 3.0, "paired intervals %.2f times narrower",
            width_unpaired / width_paired);
  /* independent runs: the unpaired interval covers at least its rate (it
   * combines two skewed intervals side by side, so it may be wider than
   * needed), and the CRN pair's unpaired interval is as wide as theirs */
  cr_log_info("independent runs: ES 99.9%% difference covered %d of %d; mean width %.4g, the "
              "CRN runs' unpaired %.4g, paired %.4g", indep_cov, RP, width_indep_runs / RP,
              width_indep / RP, width_paired / RP);
  /* for the record (compare pairs only runs with common random numbers):
   * the paired interval of independent runs covers about 900 of 1000 */
  cr_log_info("independent runs paired path by path: covered %d of %d", paired_indep_cov, RP);
  cr_expect(indep_cov >= LOW && indep_cov <= 990, "independent runs' interval covers %d", indep_cov);
  cr_expect(fabs(width_indep / width_indep_runs - 1.0) < 0.1, "unpaired width %g vs runs' %g",
            width_indep / RP, width_indep_runs / RP);
  free(la);
  free(lb);
  free(li);
}
