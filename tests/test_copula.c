/*
 * test_copula.c: the contract of every registered copula (models/copula),
 * and known answers for the Gaussian one.
 *
 * The contract tests walk the registry, so a new model is tested as soon as
 * it is registered:
 * - threshold is increasing in pd, and threshold_upper(q) equals
 *   threshold(1 - q) wherever 1 - q is exact (q in [2^-40, 1/2]);
 *   threshold_upper stays finite and increasing down to q = 1e-300, where
 *   1 - q is 1 and threshold(1 - q) is infinite;
 * - shifted_pd(threshold(p), 0) = p (the threshold round trip), and
 *   shifted_pd is decreasing in the mean shift (a negative shift of the
 *   systematic term is adverse) and stays in [0, 1].
 * The round-trip bound follows test_normal.c: the error of a tail quantile
 * is magnified by about 1 + x^2 in the round trip, so 16 eps (1 + x^2).
 *
 * Known answers (Gaussian): mpmath at 40 digits, e.g. with
 *   /usr/bin/python3 -c 'from mpmath import *; mp.dps = 40;
 *     c = findroot(lambda x: ncdf(x) - mpf("0.04"), -1); print(ncdf(c + 0.8))'
 */
#include <criterion/criterion.h>

#include <float.h>
#include <math.h>

#include "copula/copula.h"
#include "support.h"

static const double probe_pd[] = {1e-300, 1e-100, 1e-20, 1e-12, 1e-6, 1e-3, 0.01, 0.04,
                                  0.2, 0.5, 0.7, 0.9, 0.999, 1.0 - 1e-9};
enum { NPROBE = sizeof probe_pd / sizeof probe_pd[0] };

Test(copula, registry_is_walkable_and_every_model_is_complete) {
  size_t n;
  EXPECT_REGISTRY(cas_copula_model, cas_copula_at, cas_copula_lookup, cas_copula_list, "gaussian", n);
  for (size_t i = 0; i < n; i++) {
    const cas_copula_model *m = cas_copula_at(i);
    cr_expect_not_null(m->threshold, "%s", m->info.name);
    cr_expect_not_null(m->threshold_upper, "%s", m->info.name);
    cr_expect_not_null(m->shifted_pd, "%s", m->info.name);
    cr_expect_not_null(m->path_scale, "%s", m->info.name);
  }
}

Test(copula, threshold_and_threshold_upper_agree) {
  for (size_t i = 0; cas_copula_at(i); i++) {
    const cas_copula_model *m = cas_copula_at(i);
    double prev = -INFINITY;
    for (int k = 0; k < NPROBE; k++) {
      double t = m->threshold(m, probe_pd[k]);
      cr_expect(isfinite(t), "%s: threshold(%g) = %g", m->info.name, probe_pd[k], t);
      cr_expect_gt(t, prev, "%s: threshold not increasing at %g", m->info.name, probe_pd[k]);
      prev = t;
    }
    /* q = 2^-k: 1 - q is exact, so both functions see the same probability. */
    for (int k = 1; k <= 40; k++) {
      double q = ldexp(1.0, -k);
      double up = m->threshold_upper(m, q), lo = m->threshold(m, 1.0 - q);
      cr_expect_leq(fabs(up - lo), 4 * DBL_EPSILON * fabs(lo), "%s: q = 2^-%d: %.17g vs %.17g",
                    m->info.name, k, up, lo);
    }
    /* Far in the upper tail: finite and increasing as q falls. */
    prev = -INFINITY;
    static const double tiny_q[] = {1e-17, 1e-30, 1e-100, 1e-300};
    for (size_t k = 0; k < sizeof tiny_q / sizeof tiny_q[0]; k++) {
      double t = m->threshold_upper(m, tiny_q[k]);
      cr_expect(isfinite(t) && t > prev, "%s: threshold_upper(%g) = %g", m->info.name,
                tiny_q[k], t);
      prev = t;
    }
  }
}

Test(copula, shifted_pd_round_trips_and_is_monotone) {
  static const double shifts[] = {-5, -2, -0.8, -0.1, 0, 0.1, 0.8, 2, 5};
  enum { NSHIFT = sizeof shifts / sizeof shifts[0] };
  for (size_t i = 0; cas_copula_at(i); i++) {
    const cas_copula_model *m = cas_copula_at(i);
    for (int k = 0; k < NPROBE; k++) {
      double p = probe_pd[k], c = m->threshold(m, p);
      double back = m->shifted_pd(m, c, 0.0);
      double bound = 16 * DBL_EPSILON * (1 + c * c) * p;
      cr_expect_leq(fabs(back - p), bound, "%s: shifted_pd(threshold(%g), 0) = %.17g",
                    m->info.name, p, back);
      double prev = 2.0;
      for (int j = 0; j < NSHIFT; j++) {
        double q = m->shifted_pd(m, c, shifts[j]);
        cr_expect(q >= 0.0 && q <= 1.0, "%s: pd %g shift %g: %g", m->info.name, p, shifts[j], q);
        cr_expect_leq(q, prev, "%s: pd %g: not decreasing at shift %g", m->info.name, p,
                      shifts[j]);
        prev = q;
      }
      /* Strictly adverse where the result is not saturated. */
      if (p > 1e-20 && p < 0.9)
        cr_expect_gt(m->shifted_pd(m, c, -0.5), p, "%s: pd %g", m->info.name, p);
    }
  }
}

Test(copula, gaussian_known_answers) {
  const cas_copula_model *g = &cas_copula_gaussian;
  /* Phi^-1(0.04) and Phi(Phi^-1(0.04) + 0.8): a -2 SD shift of a factor
   * with loading 0.40 takes a 4% PD to 17.1%. */
  double c = g->threshold(g, 0.04);
  cr_expect_float_eq(c, -1.7506860712521699794, 4e-16 * 1.75);
  cr_expect_float_eq(g->shifted_pd(g, c, -0.8), 0.17088188049721972686, 4e-15 * 0.171);
  /* The latent variable is N(shift, 1): the shifted PD of threshold 0 is
   * Phi(-shift), and Phi(-1) = 0.15865525393145705142. */
  cr_expect_float_eq(g->shifted_pd(g, 0.0, 1.0), 0.15865525393145705142, 4e-15 * 0.159);
  cr_expect_float_eq(g->shifted_pd(g, 0.0, -1.0), 1.0 - 0.15865525393145705142, 4e-15);
  /* Phi^-1(1 - 1e-12) from the upper tail: 7.0344838253011319298; the same
   * from 1 - 1e-12 formed in double would be 7.0344869 (off in the 6th digit). */
  cr_expect_float_eq(g->threshold_upper(g, 1e-12), 7.0344838253011319298, 4e-15 * 7.03);
}
