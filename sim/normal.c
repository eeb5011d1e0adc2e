/*
 * normal.c: the standard normal distribution.
 *
 * Credit models live in the lower tail: a default threshold is
 * Phi^-1(PD) with PD down to 1e-10 or below, and a tail probability is
 * Phi(x) with x far below zero. So every function here aims at *relative*
 * accuracy in the tails, not just absolute accuracy near the centre.
 *
 * Quantile: M. J. Wichura, "Algorithm AS 241: The Percentage Points of the
 * Normal Distribution", Applied Statistics 37(3), 477-484 (1988), the
 * double-precision version PPND16. Three rational approximations of degree
 * 7/7: one in q = p - 1/2 for |q| <= 0.425, two in r = sqrt(-log(min(p,
 * 1-p))) split at r = 5. The coefficients are the published ones; their
 * mantissa sums agree with the paper's check sums ("hash sums" 55.88319...,
 * 49.33206..., 47.52583...; tests/tools/normal_reference.py recomputes them).
 * Working from min(p, 1-p) is what keeps full relative accuracy for tiny p;
 * for p near 1 the answer can be no better than p itself, whose spacing is
 * 1.1e-16, which is why the upper tail has its own entry point taking q = 1-p.
 *
 * CDF: Phi(x) = erfc(-x/sqrt2)/2. erfc of a positive argument is small and
 * relatively accurate, so Phi keeps relative accuracy in the lower tail,
 * where 1 - Phi(-x) would cancel to 0. One subtlety: -x/sqrt2 is rounded,
 * and erfc magnifies a relative error in its argument by about 2 t^2
 * (~1500 at x = -38). For t > 1 a first-order correction with the exact
 * rounding residual (an fma plus the low part of 1/sqrt2) removes that,
 * at the cost of one exp() that only the tail pays.
 */
#include "normal.h"

#include <math.h>

/* 1/sqrt(2) = SQRT1_2_HI + SQRT1_2_LO, the head being the double nearest. */
#define SQRT1_2_HI 0x1.6a09e667f3bcdp-1
#define SQRT1_2_LO (-0x1.bdd3413b26456p-55)
#define INV_SQRT_PI 0.56418958354775628695  /* 1/sqrt(pi) */
#define INV_SQRT_2PI 0.39894228040143267794 /* 1/sqrt(2 pi) */

/* AS 241 coefficients, lowest degree first, as printed in the paper. */
static const double as241_a[8] = {
    3.3871328727963666080e0, 1.3314166789178437745e+2, 1.9715909503065514427e+3,
    1.3731693765509461125e+4, 4.5921953931549871457e+4, 6.7265770927008700853e+4,
    3.3430575583588128105e+4, 2.5090809287301226727e+3};
static const double as241_b[8] = {
    1.0, 4.2313330701600911252e+1, 6.8718700749205790830e+2,
    5.3941960214247511077e+3, 2.1213794301586595867e+4, 3.9307895800092710610e+4,
    2.8729085735721942674e+4, 5.2264952788528545610e+3};
static const double as241_c[8] = {
    1.42343711074968357734e0, 4.63033784615654529590e0, 5.76949722146069140550e0,
    3.64784832476320460504e0, 1.27045825245236838258e0, 2.41780725177450611770e-1,
    2.27238449892691845833e-2, 7.74545014278341407640e-4};
static const double as241_d[8] = {
    1.0, 2.05319162663775882187e0, 1.67638483018380384940e0,
    6.89767334985100004550e-1, 1.48103976427480074590e-1, 1.51986665636164571966e-2,
    5.47593808499534494600e-4, 1.05075007164441684324e-9};
static const double as241_e[8] = {
    6.65790464350110377720e0, 5.46378491116411436990e0, 1.78482653991729133580e0,
    2.96560571828504891230e-1, 2.65321895265761230930e-2, 1.24266094738807843860e-3,
    2.71155556874348757815e-5, 2.01033439929228813265e-7};
static const double as241_f[8] = {
    1.0, 5.99832206555887937690e-1, 1.36929880922735805310e-1,
    1.48753612908506148525e-2, 7.86869131145613259100e-4, 1.84631831751005468180e-5,
    1.42151175831644588870e-7, 2.04426310338993978564e-15};

static inline double ratio7(const double *num, const double *den, double r) {
  double n = num[7], d = den[7];
  for (int k = 6; k >= 0; k--) {
    n = n * r + num[k];
    d = d * r + den[k];
  }
  return n / d;
}

double cas_norm_pdf(double x) {
  if (!isfinite(x)) return isnan(x) ? x : 0.0;
  /* x*x is rounded, and exp() turns its absolute error into a relative
   * one of size x^2 * 1e-16; the fma residual puts the lost bits back. */
  double x2 = x * x;
  double residual = fma(x, x, -x2);
  return INV_SQRT_2PI * exp(-0.5 * x2) * (1.0 - 0.5 * residual);
}

double cas_norm_cdf(double x) {
  double t = -x * SQRT1_2_HI;
  double phi = 0.5 * erfc(t);
  if (t > 1.0 && phi > 0.0) {
    /* erfc(t + e) = erfc(t) - e 2/sqrt(pi) exp(-t^2) + O(e^2), e being
     * -x/sqrt2 - t; |e| <= 1e-16 t, so the first-order term is enough. */
    double e = fma(-x, SQRT1_2_HI, -t) - x * SQRT1_2_LO;
    phi -= e * INV_SQRT_PI * exp(-t * t);
  }
  return phi;
}

double cas_norm_sf(double x) { return cas_norm_cdf(-x); }

double cas_norm_quantile(double p) {
  if (!(p >= 0.0 && p <= 1.0)) return NAN; /* also catches NaN */
  if (p == 0.0) return -INFINITY;
  if (p == 1.0) return INFINITY;

  double q = p - 0.5;
  if (fabs(q) <= 0.425) return q * ratio7(as241_a, as241_b, 0.180625 - q * q);

  /* 1 - p is exact here (p > 0.5, Sterbenz), so nothing is lost that p
   * did not already lose. */
  double r = sqrt(-log(q < 0.0 ? p : 1.0 - p));
  double z = r <= 5.0 ? ratio7(as241_c, as241_d, r - 1.6) : ratio7(as241_e, as241_f, r - 5.0);
  return q < 0.0 ? -z : z;
}

double cas_norm_quantile_upper(double q) {
  /* Phi^-1(1 - q) = -Phi^-1(q): no 1 - q is ever formed, so a q of 1e-300
   * is as good as a p of 1e-300. */
  return -cas_norm_quantile(q);
}
