/*
 * test_normal.c: accuracy and contract of sim/normal.c.
 *
 * Reference values were computed with mpmath at 50 significant digits by
 * tests/tools/normal_reference.py (run it with /usr/bin/python3 and paste
 * its output over the tables below). Each entry is the correctly rounded
 * answer for the exact double its argument literal denotes, so the tables
 * measure this code, not the rounding of the inputs. The script also
 * re-checks the AS 241 coefficients in sim/normal.c against Wichura's
 * published check sums.
 *
 * Bounds (relative error unless stated), and why:
 * - quantile, quantile_upper: 2e-15 everywhere in [1e-300, 1 - 1e-16].
 *   AS 241 is designed to about 1e-16; measured worst case over 5,500
 *   random p in that range was 7.3e-16 (3.3 ulp). 2e-15 (9 ulp) leaves room
 *   for a different libm's log and sqrt, and still fails any wrong
 *   coefficient or branch (those give errors of 1e-9 and worse).
 * - cdf, sf, pdf: 2e-15 while the result is a normal double. Measured worst
 *   case 4.1e-16 over 4,000 random x in [-37.5, 9]. Without the correction
 *   for the rounding of -x/sqrt2, 0.5*erfc(-x/sqrt2) is off by up to 5e-14
 *   at x = -37.5; this bound is what catches that.
 * - subnormal results (Phi(x) for x < -37.52): a double has no relative
 *   precision there, so 2 units of DBL_TRUE_MIN absolute.
 * - round trip Phi(Phi^-1(p)) = p: the error of x = Phi^-1(p) is magnified
 *   by d ln Phi / d ln|x| ~ x^2 in the tail (Mills ratio), so the bound is
 *   8 eps (1 + x^2); measured worst 3.5 eps (1 + x^2).
 */
#include <criterion/criterion.h>

#include <float.h>
#include <math.h>

#include "normal.h"

struct ref {
  double arg, val;
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))
#define REL_BOUND 2e-15

/* mpmath 50 digits: see tests/tools/normal_reference.py */
static const struct ref quantile_ref[] = {
    {1e-300, -37.0470962993612},
    {1e-200, -30.20559417957964},
    {1e-100, -21.273453560965326},
    {1e-50, -14.933337534788489},
    {1e-20, -9.262340089798407},
    {1e-16, -8.222082216130435},
    {1e-12, -7.034483825301132},
    {1.3887943864964021e-11, -6.657904643501103},
    {1e-10, -6.361340902404057},
    {1e-9, -5.9978070150076865},
    {1e-7, -5.1993375821928165},
    {1e-5, -4.264890793922825},
    {1e-4, -3.7190164854556804},
    {0.001, -3.0902323061678136},
    {0.01, -2.326347874040841},
    {0.02, -2.053748910631823},
    {0.05, -1.6448536269514726},
    {0.075, -1.439531470938456},
    {0.0750001, -1.4395307645017297},
    {0.1, -1.2815515655446004},
    {0.2, -0.8416212335729142},
    {0.25, -0.6744897501960817},
    {0.3, -0.5244005127080408},
    {0.4, -0.2533471031357997},
    {0.45, -0.12566134685507402},
    {0.49, -0.025068908258711057},
    {0.5, 0.0},
    {0.51, 0.025068908258711057},
    {0.6, 0.2533471031357997},
    {0.7, 0.5244005127080407},
    {0.75, 0.6744897501960817},
    {0.8, 0.8416212335729144},
    {0.9, 1.2815515655446006},
    {0.925, 1.4395314709384561},
    {0.95, 1.6448536269514722},
    {0.975, 1.9599639845400538},
    {0.99, 2.3263478740408408},
    {0.999, 3.090232306167813},
    {0.99999, 4.264890793923841},
    {0.9999999, 5.199337582290661},
    {0.9999999999, 6.361340889697422},
    {0.999999999999, 7.0344869100478356},
    {0.9999999999999999, 8.209536151601387},
};
static const struct ref cdf_ref[] = {
    {-38, 2.88542835e-316},
    {-37.5, 4.605353009581955e-308},
    {-30, 4.906713927148187e-198},
    {-20, 2.7536241186062337e-89},
    {-10, 7.619853024160525e-24},
    {-8, 6.220960574271784e-16},
    {-5, 2.866515718791939e-07},
    {-3, 0.0013498980316300946},
    {-2.326, 0.010009275340867665},
    {-2, 0.02275013194817921},
    {-1.5, 0.06680720126885807},
    {-1, 0.15865525393145705},
    {-0.5, 0.3085375387259869},
    {-1e-5, 0.49999601057719606},
    {0, 0.5},
    {1e-5, 0.500003989422804},
    {0.5, 0.6914624612740131},
    {1, 0.8413447460685429},
    {2, 0.9772498680518208},
    {3, 0.9986501019683699},
    {5, 0.9999997133484281},
    {8, 0.9999999999999993},
    {10, 1.0},
};
static const struct ref sf_ref[] = {
    {-8, 0.9999999999999993},
    {-1, 0.8413447460685429},
    {0, 0.5},
    {1, 0.15865525393145705},
    {2.326, 0.010009275340867665},
    {3, 0.0013498980316300946},
    {5, 2.866515718791939e-07},
    {8, 6.220960574271784e-16},
    {10, 7.619853024160525e-24},
    {20, 2.7536241186062337e-89},
    {30, 4.906713927148187e-198},
    {38, 2.88542835e-316},
};
static const struct ref pdf_ref[] = {
    {-38, 1.097221052e-314},
    {-20, 5.520948362159764e-88},
    {-8, 5.052271083536892e-15},
    {-1, 0.24197072451914334},
    {0, 0.3989422804014327},
    {0.5, 0.35206532676429947},
    {1, 0.24197072451914334},
    {3, 0.0044318484119380075},
    {8, 5.052271083536892e-15},
    {20, 5.520948362159764e-88},
    {38, 1.097221052e-314},
};

static double rel_err(double got, double want) {
  if (want == 0.0) return got == 0.0 ? 0.0 : INFINITY;
  return fabs(got - want) / fabs(want);
}

/* Relative error for normal results, absolute in units of DBL_TRUE_MIN for
 * subnormal ones. */
static void check_value(const char *what, double arg, double got, double want) {
  if (fabs(want) < DBL_MIN) {
    cr_expect(fabs(got - want) <= 2 * DBL_TRUE_MIN, "%s(%.17g) = %.17g, want %.17g (subnormal)",
              what, arg, got, want);
  } else {
    cr_expect(rel_err(got, want) <= REL_BOUND, "%s(%.17g) = %.17g, want %.17g (rel err %.3g)",
              what, arg, got, want, rel_err(got, want));
  }
}

Test(normal_reference, quantile) {
  for (size_t i = 0; i < COUNT(quantile_ref); i++)
    check_value("quantile", quantile_ref[i].arg, cas_norm_quantile(quantile_ref[i].arg),
                quantile_ref[i].val);
}

Test(normal_reference, quantile_upper) {
  /* Phi^-1(1 - q) = -Phi^-1(q): the lower-tail table read from the other
   * side, including q = 1e-300, where 1 - q would be 1. */
  for (size_t i = 0; i < COUNT(quantile_ref); i++)
    check_value("quantile_upper", quantile_ref[i].arg, cas_norm_quantile_upper(quantile_ref[i].arg),
                -quantile_ref[i].val);
}

Test(normal_reference, cdf) {
  for (size_t i = 0; i < COUNT(cdf_ref); i++)
    check_value("cdf", cdf_ref[i].arg, cas_norm_cdf(cdf_ref[i].arg), cdf_ref[i].val);
}

Test(normal_reference, sf) {
  for (size_t i = 0; i < COUNT(sf_ref); i++)
    check_value("sf", sf_ref[i].arg, cas_norm_sf(sf_ref[i].arg), sf_ref[i].val);
}

Test(normal_reference, pdf) {
  for (size_t i = 0; i < COUNT(pdf_ref); i++)
    check_value("pdf", pdf_ref[i].arg, cas_norm_pdf(pdf_ref[i].arg), pdf_ref[i].val);
}

/* 3,000 points log-spaced from 1e-300 to 0.5, both tails. */
Test(normal_roundtrip, cdf_of_quantile) {
  const int n = 3000;
  for (int k = 0; k <= n; k++) {
    double p = pow(10.0, -300.0 + k * (300.0 - log10(2.0)) / n);
    double x = cas_norm_quantile(p);
    double bound = 8 * DBL_EPSILON * (1.0 + x * x);
    cr_expect(rel_err(cas_norm_cdf(x), p) <= bound, "Phi(Phi^-1(%.17g)) = %.17g (rel err %.3g > %.3g)",
              p, cas_norm_cdf(x), rel_err(cas_norm_cdf(x), p), bound);
    double xu = cas_norm_quantile_upper(p);
    cr_expect(rel_err(cas_norm_sf(xu), p) <= bound, "Q(Q^-1(%.17g)) = %.17g (rel err %.3g > %.3g)", p,
              cas_norm_sf(xu), rel_err(cas_norm_sf(xu), p), bound);
  }
}

Test(normal_symmetry, exact) {
  /* For p in [1/2, 1), 1 - p is exact and the code works from min(p, 1-p),
   * so the odd symmetry holds bit for bit; likewise Phi(x) + Phi(-x) = 1. */
  for (int k = 0; k < 10000; k++) {
    double p = 0.5 + k / 20000.0;
    cr_expect(cas_norm_quantile(p) == -cas_norm_quantile(1.0 - p), "asymmetric at p = %.17g", p);
  }
  for (double x = -8.0; x <= 8.0; x += 0.0625)
    cr_expect(fabs(cas_norm_cdf(x) + cas_norm_cdf(-x) - 1.0) <= 2 * DBL_EPSILON,
              "Phi(%g) + Phi(%g) != 1", x, -x);
}

/* Strictly increasing on grids whose steps move x by far more than the
 * error bound: 2^20 uniform steps over (0, 1), and ratio-1.01 steps
 * through both tails down to 1e-300. */
Test(normal_monotone, grids) {
  double prev = -INFINITY;
  for (int k = 1; k < (1 << 20); k++) {
    double x = cas_norm_quantile(k * 0x1.0p-20);
    cr_assert(x > prev, "not increasing at p = %d/2^20", k);
    prev = x;
  }
  double lo_prev = -INFINITY, hi_prev = INFINITY;
  for (double q = 1e-300; q < 0.5; q *= 1.01) {
    double lo = cas_norm_quantile(q), hi = cas_norm_quantile_upper(q);
    cr_assert(lo > lo_prev, "quantile not increasing at p = %.17g", q);
    cr_assert(hi < hi_prev, "quantile_upper not decreasing at q = %.17g", q);
    lo_prev = lo;
    hi_prev = hi;
  }
}

/* Ulp by ulp across AS 241's region switches (|p - 1/2| = 0.425 and
 * r = 5, i.e. p = exp(-25)). Between neighbouring doubles x moves by less
 * than its own ulp, so rounding may reverse a step by an ulp or two (no
 * implementation short of correctly rounded avoids that); the test asks
 * that no step goes back by more than the accuracy bound, so a seam
 * between two approximations would show. */
Test(normal_monotone, region_switches) {
  const double splits[] = {0.075, 0.925, exp(-25.0), 1.0 - exp(-25.0)};
  for (size_t s = 0; s < COUNT(splits); s++) {
    double p = splits[s];
    for (int i = 0; i < 5000; i++) p = nextafter(p, 0.0);
    double prev = cas_norm_quantile(p);
    for (int i = 0; i < 10000; i++) {
      p = nextafter(p, 1.0);
      double x = cas_norm_quantile(p);
      cr_assert(x >= prev - REL_BOUND * fabs(prev), "step back at p = %.17g: %.17g after %.17g", p, x,
                prev);
      prev = x;
    }
  }
}

Test(normal_edges, quantile) {
  cr_expect(cas_norm_quantile(0.0) == -INFINITY);
  cr_expect(cas_norm_quantile(1.0) == INFINITY);
  cr_expect(cas_norm_quantile(0.5) == 0.0);
  cr_expect(isnan(cas_norm_quantile(NAN)));
  cr_expect(isnan(cas_norm_quantile(-0x1.0p-1074)));
  cr_expect(isnan(cas_norm_quantile(-1.0)));
  cr_expect(isnan(cas_norm_quantile(nextafter(1.0, 2.0))));
  cr_expect(isnan(cas_norm_quantile(INFINITY)));
  cr_expect(isnan(cas_norm_quantile(-INFINITY)));
  /* The smallest subnormal still gives a finite, sensible answer. */
  double x = cas_norm_quantile(DBL_TRUE_MIN);
  cr_expect(isfinite(x) && x < -38.0 && x > -39.0, "quantile(DBL_TRUE_MIN) = %g", x);

  cr_expect(cas_norm_quantile_upper(0.0) == INFINITY);
  cr_expect(cas_norm_quantile_upper(1.0) == -INFINITY);
  cr_expect(cas_norm_quantile_upper(0.5) == 0.0);
  cr_expect(isnan(cas_norm_quantile_upper(NAN)));
  cr_expect(isnan(cas_norm_quantile_upper(1.5)));
  cr_expect(isnan(cas_norm_quantile_upper(-0.5)));
}

Test(normal_edges, cdf_sf_pdf) {
  cr_expect(cas_norm_cdf(-INFINITY) == 0.0);
  cr_expect(cas_norm_cdf(INFINITY) == 1.0);
  cr_expect(cas_norm_cdf(0.0) == 0.5);
  cr_expect(cas_norm_cdf(-40.0) == 0.0); /* below DBL_TRUE_MIN */
  cr_expect(cas_norm_cdf(-38.0) > 0.0);  /* but not before it must */
  cr_expect(isnan(cas_norm_cdf(NAN)));
  cr_expect(cas_norm_sf(INFINITY) == 0.0);
  cr_expect(cas_norm_sf(-INFINITY) == 1.0);
  cr_expect(isnan(cas_norm_sf(NAN)));
  cr_expect(cas_norm_pdf(INFINITY) == 0.0);
  cr_expect(cas_norm_pdf(-INFINITY) == 0.0);
  cr_expect(isnan(cas_norm_pdf(NAN)));
}
