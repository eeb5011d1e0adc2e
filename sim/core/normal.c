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
 *
 * Bivariate CDF: Genz's method (2004), made to keep relative accuracy in
 * the lower tail; its section below says how.
 */
#include "normal.h"

#include <math.h>

#include "vecmath.h"

/* 1/sqrt(2) = SQRT1_2_HI + SQRT1_2_LO, the head being the double nearest. */
#define SQRT1_2_HI 0x1.6a09e667f3bcdp-1
#define SQRT1_2_LO (-0x1.bdd3413b26456p-55)
#define INV_SQRT_PI 0.56418958354775628695  /* 1/sqrt(pi) */

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
  return CAS_INV_SQRT_2PI * exp(-0.5 * x2) * (1.0 - 0.5 * residual);
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

/* Four at a time: glibc's vector erfc (libmvec, GLIBC_2.35), whose error
 * is a few ulp; without cas_norm_cdf's first-order correction of t, whose
 * relative size is 2 t^2 eps, below 2e-13 while Phi >= 1e-280 (t < 26).
 * Smaller values (where erfc's result is subnormal and loses relative
 * accuracy) and infinite or NaN x go to cas_norm_cdf. */
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

/* libmvec's AVX2 variant; declared with the target attribute so that
 * clang, too, accepts the 256-bit vector argument outside -mavx. */
__attribute__((target("avx2"))) __m256d _ZGVdN4v_erfc(__m256d x);

__attribute__((target("avx2"))) static size_t cdf_avx2(const double *x, double *p, size_t n) {
  const __m256d minus_c = _mm256_set1_pd(-SQRT1_2_HI), half = _mm256_set1_pd(0.5);
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    __m256d t = _mm256_mul_pd(_mm256_loadu_pd(x + i), minus_c);
    _mm256_storeu_pd(p + i, _mm256_mul_pd(half, _ZGVdN4v_erfc(t)));
  }
  return i;
}
#endif

void cas_norm_cdf_many(const double *x, double *p, size_t n) {
  size_t done = 0;
#if defined(__x86_64__) && defined(__GNUC__)
  if (cas_cpu_has_avx2()) {
    done = cdf_avx2(x, p, n);
    for (size_t i = 0; i < done; i++)
      if (!(p[i] >= 1e-280) || !isfinite(x[i])) p[i] = cas_norm_cdf(x[i]);
  }
#endif
  for (size_t i = done; i < n; i++) p[i] = cas_norm_cdf(x[i]);
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

/* ---- Bivariate normal --------------------------------------------------
 *
 * P(h, k, rho) = P(X <= h, Y <= k). The method is A. Genz, "Numerical
 * computation of rectangular bivariate and trivariate normal and t
 * probabilities", Statistics and Computing 14 (2004), 251-260, section 2:
 * Plackett's identity dP/drho = phi2(h, k, rho) integrated in rho, as
 * Drezner and Wesolowsky (1990) did:
 * - |rho| < 0.925: P = Phi(h) Phi(k) + 1/(2 pi) int_0^asin(rho) exp(-g) dtheta,
 *   g = (h^2 + k^2 - 2hk sin theta) / (2 cos^2 theta), by Gauss-Legendre
 *   rules of 6, 12 or 20 points as |rho| < 0.3, < 0.75 or more;
 * - |rho| >= 0.925: integrate from rho to s = sign(rho) instead, in
 *   x = sqrt(1 - r^2), with the leading terms of the smooth factor's
 *   Taylor expansion integrated in closed form (Genz's eq. 6, carried here
 *   to the x^4 term) and the rest by the 20-point rule.
 * Genz designed this for 1e-15 absolute accuracy, and it has that. In the
 * lower tail, where credit models live, its relative accuracy goes: 1e-12
 * at h = k = -4.26 (a PD of 1e-5) and rho = 0.25, 1e-6 at h = k = -8 and
 * rho = 0.2, and for negative rho results of the wrong sign. So this
 * implementation keeps Genz's formulas but changes how they are used:
 * 1. The rule follows the integrand, not just |rho|. exp(-g) has a single
 *    peak, at sin theta = hk / max(h^2, k^2), and g rises monotonely on
 *    each side; both the peak and the points where g reaches a given level
 *    are closed-form (a quadratic in sin theta). Each side is cut into
 *    panels by equal rises of g, with the rule (never below Genz's) chosen
 *    from the rise and shape of each panel, and what lies below exp(-45)
 *    of the peak is left out. In the body this is Genz's rule; in the
 *    tails it adds points where they are needed.
 * 2. For rho < 0 with both thresholds low, Phi(h) Phi(k) - (integral)
 *    cancels; there the integral is taken from r = -1 instead, where
 *    P(h, k, -1) = max(0, Phi(h) + Phi(k) - 1), so that both terms are
 *    positive.
 * 3. For |rho| >= 0.925 the expansion's parameter is |hk| (1 - rho^2); when
 *    it is large the closed form and the remainder cancel (and for rho > 0
 *    so do Phi(min(h, k)) and the integral: the copula's tails are
 *    independent), and the form of 1. or 2. is used instead. Likewise when
 *    rho <= -0.925 and |h + k| > 2 sqrt(1 - rho^2), where the closed form
 *    cancels too.
 * 4. Where an interval comes near theta = +-pi/2, the rule works in the
 *    distance from there, so that cos(theta) keeps its relative precision.
 * Against independent references (h, k in [-9, 3], all rho), the
 * relative error stays within a few times eps (1 + |ln P|), the rounding
 * that exp(-g) itself carries; see tests/test_normal.c. The cost is one
 * exp and half a sincos per node: about 12 nodes per call where PDs are
 * 1e-5 to 0.9 and rho is in [0, 0.5] (Genz's rule: 6 to 12), more in the
 * far tails and for rho < 0. */

#define TWO_PI 6.28318530717958647693
#define SQRT_2PI 2.50662827463100050242

/* Gauss-Legendre rules on [-1, 1]: the nodes x > 0 and their weights (each
 * node stands for +x and -x). Computed to 40 digits;
 * tests/tools/normal_reference.py recomputes them. */
struct gl_rule {
  int half;
  double x[10], w[10];
};
static const struct gl_rule gl_6 = {
    3,
    {0.93246951420315202781, 0.66120938646626451366, 0.23861918608319690863},
    {0.17132449237917034504, 0.36076157304813860757, 0.46791393457269104739}};
static const struct gl_rule gl_12 = {
    6,
    {0.98156063424671925069, 0.90411725637047485668, 0.76990267419430468704,
     0.58731795428661744730, 0.36783149899818019375, 0.12523340851146891547},
    {0.047175336386511827195, 0.10693932599531843096, 0.16007832854334622633,
     0.20316742672306592175, 0.23349253653835480876, 0.24914704581340278500}};
static const struct gl_rule gl_20 = {
    10,
    {0.99312859918509492479, 0.96397192727791379127, 0.91223442825132590587,
     0.83911697182221882339, 0.74633190646015079261, 0.63605368072651502545,
     0.51086700195082709800, 0.37370608871541956067, 0.22778585114164507808,
     0.076526521133497333755},
    {0.017614007139152118312, 0.040601429800386941331, 0.062672048334109063570,
     0.083276741576704748725, 0.10193011981724043504, 0.11819453196151841731,
     0.13168863844917662690, 0.14209610931838205133, 0.14917298647260374679,
     0.15275338713072585070}};

/* Plackett's integrand as a function of t = sin(theta) is exp(-g) with
 *   g(t) = (h^2 + k^2 - 2 h k t) / (2 (1 - t^2)).
 * On (-1, 1) it has one minimum, at t = hk / max(h^2, k^2), of value
 * max(h^2, k^2) / 2, and rises monotonely on either side. */
struct plackett {
  double hk;    /* h k */
  double hs;    /* (h^2 + k^2) / 2 */
  double dm2;   /* (h - k)^2 / 2 */
  double dp2;   /* (h + k)^2 / 2 */
  double big;   /* max(h^2, k^2) */
  double small; /* min(h^2, k^2) */
  double peak;  /* argmin of g in t */
  /* The angle u the rules work in: 0: u = theta; -1: u = theta + pi/2;
   * +1: u = pi/2 - theta. */
  int end;
};

static struct plackett plackett_make(double h, double k, int end) {
  struct plackett p;
  p.hk = h * k;
  p.hs = 0.5 * (h * h + k * k);
  p.dm2 = 0.5 * (h - k) * (h - k);
  p.dp2 = 0.5 * (h + k) * (h + k);
  p.big = fmax(h * h, k * k);
  p.small = fmin(h * h, k * k);
  p.peak = p.big > 0.0 ? p.hk / p.big : 0.0;
  p.end = end;
  return p;
}

/* g from s = sin(theta) and c = cos(theta) >= 0. hs - hk s is written as
 * dm2 + hk (1 - s) or dp2 - hk (1 + s), and c^2 = (1 - s)(1 + s), so that
 * the end of (-1, 1) that s is nearer costs no precision. */
static double plackett_g(const struct plackett *p, double s, double c) {
  return s >= 0.0 ? p->dm2 / (c * c) + p->hk / (1.0 + s) : p->dp2 / (c * c) - p->hk / (1.0 - s);
}

static double plackett_g_at(const struct plackett *p, double t) {
  if (t <= -1.0) return p->dp2 > 0.0 ? (double)INFINITY : -0.5 * p->hk;
  if (t >= 1.0) return p->dm2 > 0.0 ? (double)INFINITY : 0.5 * p->hk;
  return plackett_g(p, t, sqrt((1.0 - t) * (1.0 + t)));
}

/* |dg/dtheta| at t. */
static double plackett_slope(const struct plackett *p, double t) {
  double c2 = (1.0 - t) * (1.0 + t);
  if (!(c2 > 0.0)) return 0.0;
  return fabs(2.0 * t * p->hs - p->hk * (1.0 + t * t)) / (c2 * sqrt(c2));
}

static double plackett_angle(const struct plackett *p, double t) {
  if (p->end < 0) return t <= -1.0 ? 0.0 : acos(-t);
  if (p->end > 0) return t >= 1.0 ? 0.0 : acos(t);
  return asin(t);
}

/* The t on side dir (+1 or -1) of the peak where g = G (G >= min g): a
 * root of G t^2 - hk t + (hs - G) = 0, whose discriminant factors as
 * (2G - big)(2G - small). Both roots are formed without cancellation. */
static double plackett_level(const struct plackett *p, double G, int dir) {
  double disc = fmax(0.0, (2.0 * G - p->big) * (2.0 * G - p->small));
  double q = p->hk + copysign(sqrt(disc), p->hk);
  if (q == 0.0) return 0.0;
  double r1 = q / (2.0 * G), r2 = 2.0 * (p->hs - G) / q;
  return dir > 0 ? fmax(r1, r2) : fmin(r1, r2);
}

/* One Gauss-Legendre panel of exp(-g) over the angle from u0 to u1 (either
 * order). The nodes mid -+ d share one sin(d), cos(d) through the addition
 * formulas. */
static double plackett_panel(const struct plackett *p, const struct gl_rule *r, double u0,
                             double u1) {
  double mid = 0.5 * (u0 + u1), half = 0.5 * fabs(u1 - u0), sum = 0.0;
  double sm = sin(mid), cm = cos(mid);
  for (int i = 0; i < r->half; i++) {
    double d = half * r->x[i], sd = sin(d), cd = cos(d);
    double sa = sm * cd, sb = cm * sd, ca = cm * cd, cb = sm * sd;
    double e;
    if (p->end < 0) /* sin(theta) = -cos(u), cos(theta) = sin(u) */
      e = exp(-plackett_g(p, -(ca + cb), sa - sb)) + exp(-plackett_g(p, -(ca - cb), sa + sb));
    else if (p->end > 0) /* sin(theta) = cos(u), cos(theta) = sin(u) */
      e = exp(-plackett_g(p, ca + cb, sa - sb)) + exp(-plackett_g(p, ca - cb, sa + sb));
    else
      e = exp(-plackett_g(p, sa - sb, ca + cb)) + exp(-plackett_g(p, sa + sb, ca - cb));
    sum += r->w[i] * e;
  }
  return half * sum;
}

/* How far g may rise across a panel on which exp(-g) falls monotonely,
 * per rule, for the rule's error to stay below 5e-16 relative. It depends
 * on the panel's shape q = (|dg/du| where the panel starts) * (width) /
 * (rise): q = 1 is a straight exponential, the easy case; q = 0 half a
 * Gaussian, the hard one. Measured in long double against 64-panel rules,
 * over h, k in [-25, 1] and every rho the rule serves, with a margin. */
struct rise_step {
  double q, rise; /* from this q up, this rise */
};
struct rule_limit {
  const struct gl_rule *rule;
  struct rise_step steps[3]; /* by decreasing q, the last at q = 0 */
  double whole_peak;         /* an inner peak in one panel: rise per side */
};
static const struct rule_limit rule_limits[3] = {
    {&gl_6, {{0.9, 1.0}, {0.8, 0.6}, {0.0, 0.03}}, 0.015},
    {&gl_12, {{0.6, 9.0}, {0.4, 7.0}, {0.0, 1.5}}, 0.5},
    {&gl_20, {{0.2, 32.0}, {0.1, 12.0}, {0.0, 8.0}}, 3.0},
};
#define WINDOW 45.0 /* exp(-g) below exp(-WINDOW) of its peak is left out */

static int rule_index(const struct gl_rule *r) { return r == &gl_6 ? 0 : r == &gl_12 ? 1 : 2; }

static double rise_limit(int rule, double q) {
  const struct rise_step *st = rule_limits[rule].steps;
  return q >= st[0].q ? st[0].rise : q >= st[1].q ? st[1].rise : st[2].rise;
}

/* Integral of exp(-g) over the angle between t_peak and t_far, exp(-g)
 * falling from t_peak (where g = g_peak) to t_far. Panels are laid from
 * the peak outwards, each as long as the 20-point rule allows for its
 * shape, and each gets the smallest rule from `least` up that suits it. */
static double plackett_side(const struct plackett *p, double t_peak, double g_peak, double t_far,
                            const struct gl_rule *least) {
  int dir = t_far > t_peak ? 1 : -1;
  double rise = plackett_g_at(p, t_far) - g_peak;
  if (rise > WINDOW) {
    double t = plackett_level(p, g_peak + WINDOW, dir);
    if (dir * (t - t_peak) > 0.0 && dir * (t_far - t) > 0.0) t_far = t;
    rise = WINDOW;
  }
  double sum = 0.0, done = 0.0, t0 = t_peak, u0 = plackett_angle(p, t_peak);
  if (!(rise > 0.0)) /* flat: h = k = 0 */
    return plackett_panel(p, least, u0, plackett_angle(p, t_far));
  while (done < rise) {
    double slope = plackett_slope(p, t0), step = rise - done, t1 = t_far, u1, q;
    for (;;) { /* the whole rest, else as much as its shape allows */
      t1 = done + step >= rise ? t_far : plackett_level(p, g_peak + done + step, dir);
      u1 = plackett_angle(p, t1);
      q = fmin(1.0, slope * fabs(u1 - u0) / step);
      double most = rise_limit(2, q);
      if (step <= most) break;
      step = most;
    }
    int r = rule_index(least);
    while (r < 2 && step > rise_limit(r, q)) r++;
    sum += plackett_panel(p, rule_limits[r].rule, u0, u1);
    done += step;
    t0 = t1;
    u0 = u1;
  }
  return sum;
}

/* Integral of exp(-g(sin theta)) dtheta for theta from asin(ta) to
 * asin(tb), -1 <= ta < tb <= 1, with rules no smaller than `least`. */
static double plackett_integral(const struct plackett *p, double ta, double tb,
                                const struct gl_rule *least) {
  double tp = fmin(fmax(p->peak, ta), tb);
  double gp = plackett_g_at(p, tp);
  if (tp > ta && tp < tb) {
    /* An inner peak: in one panel if it is flat enough there, a whole
     * Gaussian being harder than either half; else side by side. */
    double rise = fmax(plackett_g_at(p, ta), plackett_g_at(p, tb)) - gp;
    if (rise <= rule_limits[rule_index(least)].whole_peak)
      return plackett_panel(p, least, plackett_angle(p, ta), plackett_angle(p, tb));
    return plackett_side(p, tp, gp, ta, least) + plackett_side(p, tp, gp, tb, least);
  }
  return tp <= ta ? plackett_side(p, ta, gp, tb, least) : plackett_side(p, tb, gp, ta, least);
}

/* A difference that is a probability: rounding must not take it below 0
 * (NaN passes). */
static double nonnegative(double p) { return p < 0.0 ? 0.0 : p; }

/* P(h, k, -1) = P(X <= h, -X <= k) = max(0, Phi(h) + Phi(k) - 1) for
 * h <= k: the mass of [-k, h], Phi(h) - Phi(-k). When the interval is
 * short the two terms nearly cancel; then it is phi(m) w times the mean
 * of exp(-m t - t^2/2) over |t| <= w/2 (m the midpoint, w = h + k the
 * width, exact there by Sterbenz's lemma), by the 12-point rule, which is
 * exact to rounding while |m| w is small. */
static double bvn_minus_one(double h, double k) {
  double w = h + k;
  if (w <= 0.0) return 0.0;
  double m = 0.5 * (h - k);
  if (w > 1.0 || fabs(m) * w > 4.0) return cas_norm_cdf(h) - cas_norm_cdf(-k);
  double mean = 0.0;
  for (int i = 0; i < gl_12.half; i++) {
    double t = 0.5 * w * gl_12.x[i];
    mean += gl_12.w[i] * exp(-0.5 * t * t) * cosh(m * t);
  }
  return cas_norm_pdf(m) * w * mean;
}

/* Genz's |rho| >= 0.925 method for h <= k: Drezner and Wesolowsky's
 * integral from rho to s = sign(rho) in x = sqrt(1 - r^2),
 *   P = P(h, k, s) - s/(2 pi) int_0^a exp(-b^2/2x^2) f(x) dx,
 * a = sqrt(1 - rho^2), b = |h - s k|, f = exp(-shk / (1 + sqrt(1 - x^2)))
 * / sqrt(1 - x^2) = exp(-shk/2) (1 + c x^2 + c d x^4 + O(x^6)) with
 * c = (4 - shk)/8, d = (12 - shk)/16. The expansion is integrated in
 * closed form, the rest by the 20-point rule (two panels once |hk| >= 16,
 * where the rest steepens). */
static double bvn_near_one(double h, double k, double rho) {
  double s = rho > 0.0 ? 1.0 : -1.0;
  double shk = s * h * k;
  double a2 = (1.0 - fabs(rho)) * (1.0 + fabs(rho)), a = sqrt(a2);
  double b = fabs(h - s * k), b2 = b * b;
  double c = (4.0 - shk) / 8.0, d = (12.0 - shk) / 16.0;
  double sum = a * exp(-0.5 * (b2 / a2 + shk)) *
               (1.0 - c * (b2 - a2) * (1.0 - d * b2 / 5.0) / 3.0 + c * d * a2 * a2 / 5.0);
  if (shk > -1400.0) /* else below exp(-2000): exp(-shk/2) alone would overflow */
    sum -= exp(-0.5 * shk) * SQRT_2PI * b * cas_norm_cdf(-b / a) *
           (1.0 - c * b2 * (1.0 - d * b2 / 5.0) / 3.0);
  int panels = fabs(shk) < 16.0 ? 1 : 2;
  double width = a / panels;
  for (int j = 0; j < panels; j++) {
    double half = 0.5 * width, lo = j * width, quad = 0.0;
    for (int i = 0; i < gl_20.half; i++) {
      for (int sign = -1; sign <= 1; sign += 2) {
        double x = lo + half * (1.0 + sign * gl_20.x[i]), x2 = x * x;
        double r = sqrt((1.0 - x) * (1.0 + x));
        /* f = exp(-shk/2) exp(-shk x^2 / (2 (1 + r)^2)) / r */
        double u = -shk * x2 / (2.0 * (1.0 + r) * (1.0 + r));
        quad += gl_20.w[i] * exp(-0.5 * (b2 / x2 + shk)) *
                (exp(u) / r - (1.0 + c * x2 * (1.0 + d * x2)));
      }
    }
    sum += half * quad;
  }
  double base = s > 0.0 ? cas_norm_cdf(h) : bvn_minus_one(h, k);
  return nonnegative(base - s * sum / TWO_PI);
}

/* Where Genz's |rho| >= 0.925 method gives way (see 3. above): the
 * expansion parameter |hk| (1 - rho^2), and |h + k| / sqrt(1 - rho^2). */
#define NEAR_ONE_MAX_SHK 4.0
#define NEAR_ONE_MAX_B 2.0
/* rho < 0: the integral is taken from -1 when |h + k| exceeds
 * NEAR_ONE_MAX_B sqrt(1 - rho^2) and g rises by more than this from the
 * peak on [rho, 0] to rho, that is when Phi(h) Phi(k) - (integral) would
 * cancel (tuned on a sweep over h, k in [-9, 3]). */
#define FROM_MINUS_ONE_RISE 1.0

double cas_bvn_cdf(double h, double k, double rho) {
  if (isnan(h) || isnan(k) || !(fabs(rho) <= 1.0)) return NAN;
  if (h > k) { /* symmetric in (h, k) bit for bit */
    double t = h;
    h = k;
    k = t;
  }
  /* Beyond |x| = 40, Phi(x) rounds to 0 or 1. */
  if (h <= -40.0) return 0.0;
  if (k >= 40.0) return cas_norm_cdf(h);
  if (rho == 0.0) return cas_norm_cdf(h) * cas_norm_cdf(k);
  if (rho == 1.0) return cas_norm_cdf(h);
  if (rho == -1.0) return bvn_minus_one(h, k);

  double a2 = (1.0 - rho) * (1.0 + rho), a = sqrt(a2);
  if (rho >= 0.925) {
    if (k >= 0.0 || h * k * a2 <= NEAR_ONE_MAX_SHK) return bvn_near_one(h, k, rho);
    struct plackett p = plackett_make(h, k, 1);
    return cas_norm_cdf(h) * cas_norm_cdf(k) + plackett_integral(&p, 0.0, rho, &gl_20) / TWO_PI;
  }
  if (rho <= -0.925) {
    struct plackett p = plackett_make(h, k, -1);
    if (fabs(h + k) > NEAR_ONE_MAX_B * a)
      return bvn_minus_one(h, k) + plackett_integral(&p, -1.0, rho, &gl_20) / TWO_PI;
    if (-h * k * a2 > NEAR_ONE_MAX_SHK)
      return nonnegative(cas_norm_cdf(h) * cas_norm_cdf(k) -
                         plackett_integral(&p, rho, 0.0, &gl_20) / TWO_PI);
    return bvn_near_one(h, k, rho);
  }
  struct plackett p = plackett_make(h, k, 0);
  const struct gl_rule *least = fabs(rho) < 0.3 ? &gl_6 : fabs(rho) < 0.75 ? &gl_12 : &gl_20;
  if (rho > 0.0)
    return cas_norm_cdf(h) * cas_norm_cdf(k) + plackett_integral(&p, 0.0, rho, least) / TWO_PI;
  if (-(h + k) > NEAR_ONE_MAX_B * a) {
    double rise = plackett_g_at(&p, rho) - plackett_g_at(&p, fmin(fmax(p.peak, rho), 0.0));
    if (rise > FROM_MINUS_ONE_RISE) {
      struct plackett q = plackett_make(h, k, -1);
      return plackett_integral(&q, -1.0, rho, &gl_20) / TWO_PI;
    }
  }
  return nonnegative(cas_norm_cdf(h) * cas_norm_cdf(k) -
                     plackett_integral(&p, rho, 0.0, least) / TWO_PI);
}
