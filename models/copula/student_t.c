/*
 * student_t.c: the multi-factor Student-t copula (Demarta and McNeil 2005,
 * "The t copula and related copulas", Int. Stat. Review 73(1); for credit,
 * Frey and McNeil 2003, "Dependent defaults in models of portfolio credit
 * risk", J. Risk 6(1)). Loan i defaults when
 *     X_i = sqrt(nu / W) (a_s . Z + b_s eps_i) < t_nu^-1(PD_i),
 * with one W ~ chi2(nu) per path for every loan: the common mixing variable
 * makes defaults cluster in the tail beyond what the Gaussian copula gives
 * at the same correlation (tail dependence).
 *
 * Numerics, all written here from the published formulas:
 * - the t distribution function through the regularized incomplete beta
 *   function, F(x) = I_{nu/(nu+x^2)}(nu/2, 1/2) / 2 for x < 0 (Abramowitz
 *   and Stegun 26.7.1), the incomplete beta by its continued fraction
 *   (DLMF 8.17.22) evaluated with the modified Lentz method (Lentz 1976;
 *   Thompson and Barnett 1986), taking the complement 1 - x given
 *   separately so that nothing cancels near x = 1;
 * - the quantile by Newton steps on log F inside a bracket (the tails are
 *   then solved to full relative precision);
 * - with a factor shift the latent variable is sqrt(nu/W) Y, Y ~ N(mu, 1),
 *   so P(X < c) = E_W[Phi(c sqrt(W/nu) - mu)]: integrated over log W by
 *   the trapezoidal rule with step 1/4 (narrower for nu > 5: see
 *   mix_expectation), whose error for this integrand
 *   (analytic in a strip of half-width pi/2 around the real axis) is about
 *   exp(-2 pi (pi/2) / h) = 7e-18 (Trefethen and Weideman 2014, SIAM Rev.
 *   56(3), sec. 5); the joint default probability likewise with the
 *   bivariate normal;
 * - W by Marsaglia and Tsang's gamma sampler (2000, ACM TOMS 26(3)):
 *   W = 2 G, G ~ Gamma(nu/2, 1), nu/2 > 1.
 */
#include <math.h>

#include "copula/copula.h"
#include "normal.h"

/* The continued fraction of I_x(a, b) (DLMF 8.17.22), modified Lentz. */
static double beta_cf(double a, double b, double x) {
  const double tiny = 1e-300, eps = 1e-16;
  double c = 1.0, d = 1.0 - (a + b) * x / (a + 1.0);
  if (fabs(d) < tiny) d = tiny;
  d = 1.0 / d;
  double f = d;
  for (int m = 1; m <= 10000; m++) {
    double m2 = 2.0 * m;
    double num = m * (b - m) * x / ((a + m2 - 1.0) * (a + m2));   /* d_{2m} */
    d = 1.0 + num * d;
    if (fabs(d) < tiny) d = tiny;
    c = 1.0 + num / c;
    if (fabs(c) < tiny) c = tiny;
    d = 1.0 / d;
    f *= d * c;
    num = -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1.0));   /* d_{2m+1} */
    d = 1.0 + num * d;
    if (fabs(d) < tiny) d = tiny;
    c = 1.0 + num / c;
    if (fabs(c) < tiny) c = tiny;
    d = 1.0 / d;
    double delta = d * c;
    f *= delta;
    if (fabs(delta - 1.0) < eps) break;
  }
  return f;
}

/* I_x(a, b) with xc = 1 - x given exactly. */
static double ibeta(double a, double b, double x, double xc) {
  if (x <= 0.0) return 0.0;
  if (xc <= 0.0) return 1.0;
  double lfront = a * log(x) + b * log(xc) + lgamma(a + b) - lgamma(a) - lgamma(b);
  if (x < (a + 1.0) / (a + b + 2.0)) return exp(lfront) * beta_cf(a, b, x) / a;
  return 1.0 - exp(lfront) * beta_cf(b, a, xc) / b;
}

/* P(T <= x) for T ~ t(nu), accurate in both tails. */
static double t_cdf(double nu, double x) {
  double x2 = x * x;
  double tail = 0.5 * ibeta(0.5 * nu, 0.5, nu / (nu + x2), x2 / (nu + x2));   /* P(T <= -|x|) */
  return x < 0.0 ? tail : 1.0 - tail;
}

static double t_pdf(double nu, double x) {
  double l = lgamma(0.5 * (nu + 1.0)) - lgamma(0.5 * nu) - 0.5 * log(nu * M_PI) -
             0.5 * (nu + 1.0) * log1p(x * x / nu);
  return exp(l);
}

/* t_nu^-1(p) for p in (0, 1/2]: Newton on log F(x) - log p, safeguarded by
 * a bracket [lo, hi] with F(lo) < p <= F(hi). */
static double t_quantile_lower(double nu, double p) {
  if (p >= 0.5) return 0.0;
  double hi = 0.0, lo = -1.0;
  while (t_cdf(nu, lo) >= p) {
    hi = lo;
    lo *= 2.0;
    if (lo < -1e300) return lo;
  }
  double x = cas_norm_quantile(p);   /* a start inside the bracket */
  if (!(x > lo && x < hi)) x = 0.5 * (lo + hi);
  double lp = log(p);
  for (int it = 0; it < 200; it++) {
    double F = t_cdf(nu, x);
    if (F < p) lo = x;
    else hi = x;
    double g = log(F) - lp, slope = t_pdf(nu, x) / F;
    double next = slope > 0.0 ? x - g / slope : 0.5 * (lo + hi);
    if (!(next > lo && next < hi)) next = 0.5 * (lo + hi);
    if (fabs(next - x) <= 1e-15 * fabs(x) || hi - lo <= 1e-15 * fabs(x)) return next;
    x = next;
  }
  return x;
}

static double threshold(const cas_copula_model *m, double pd) {
  return pd <= 0.5 ? t_quantile_lower(m->df, pd) : -t_quantile_lower(m->df, 1.0 - pd);
}

/* t is symmetric: the threshold of 1 - q is minus that of q. */
static double threshold_upper(const cas_copula_model *m, double survival) {
  return survival <= 0.5 ? -t_quantile_lower(m->df, survival)
                         : t_quantile_lower(m->df, 1.0 - survival);
}

static double density(const cas_copula_model *m, double x) { return t_pdf(m->df, x); }

/* E_W[g(sqrt(W / nu))] for W ~ chi2(nu), 0 <= g <= 1: trapezoid over
 * u = log W. c: the largest |threshold| in g; a far threshold (a tiny PD)
 * draws its probability from small W, where s = sqrt(W / nu) is about
 * 1 / |c|.
 *
 * The step: 1/4, or 0.4 sqrt(2 / nu) when that is smaller. The density of
 * u has a standard deviation of about sqrt(2 / nu) (above it, a little);
 * a trapezoid that steps 0.4 of that misses by about exp(-2 pi^2 / 0.16)
 * of its integral. With a fixed step of 1/4 (before 2026-12-02) the
 * integral was off by 2e-7 at nu = 30, 3e-3 at nu = 100 and more than its
 * own size at nu = 1000, where the density is narrower than the step.
 *
 * The range: from the mode u = log nu the log-density, nu u / 2 - e^u / 2,
 * falls by 40 (e^-40 ~ 4e-18) where x = e^u / nu solves
 * x - 1 - log x = 80 / nu; above, at the larger of that root (Newton from
 * x = 1 + a + sqrt(2a), a = 80 / nu, which lies above it: e^s >= 1 + s +
 * s^2 / 2 at s = sqrt(2a)) and nu + 80 + 4 sqrt(nu); below, at
 * log nu - 80 / nu, or lower, far enough for the threshold: where s |c| is
 * 1e-9.
 *
 * Most of the lower nodes add nothing a double can hold: their terms are at
 * most the density's weight, which changes by the factor
 * r = exp(-h nu / 2 + (1 - e^-h) w / 2) from a node to the next one down
 * (w = e^u; r falls further down), so the terms below node j add up to at
 * most weight_j r_j / (1 - r_j) once r_j < 1 (r_j is evaluated only where
 * the weight is already below 1e-16 of the sum). The terms are evaluated
 * from the top down, and the lower nodes left out once that bound is below
 * 1e-18 of the sum so far (a lower bound of the integral). Kept, over
 * thresholds from -12 to 2 and shifts from -1 to 1.5: 97% of the nodes at
 * nu = 2.1, 47% at nu = 5, 13% at nu = 30, 2% at nu = 1000, each node an
 * exp, a sqrt and g. The kept terms are then added from the bottom up,
 * smallest first. */
typedef double (*scaled_fn)(double s, const double *arg);
enum { MIX_NODES = 1024 };
static double mix_expectation(double nu, scaled_fn g, const double *arg, double c) {
  double h = fmin(0.25, 0.4 * sqrt(2.0 / nu));
  double half = 0.5 * nu;
  double lnorm = -half * log(2.0) - lgamma(half);
  double a = 80.0 / nu, x = 1.0 + a + sqrt(2.0 * a);
  for (int it = 0; it < 100; it++) {   /* convex, from above: x falls to the root */
    double f = x - 1.0 - log(x) - a;
    if (!(f > 0.0)) break;
    double next = x - f / (1.0 - 1.0 / x);
    if (!(next < x)) break;
    x = next;
  }
  double u0 = log(nu) - a, u1 = fmax(log(nu + 80.0 + 4.0 * sqrt(nu)), log(nu * x));
  double uc = log(nu / (1.0 + c * c)) - 2.0 * log(1e9);
  if (uc < u0) u0 = uc;
  int n = (int)ceil((u1 - u0) / h);
  double term[MIX_NODES];   /* term[k]: node n - k */
  double above = 0.0;       /* the terms from node n down, added as they come */
  double shrink = -expm1(-h);   /* w falls by w (1 - e^-h) from a node to the next one down */
  int kept = 0;
  for (int i = n; i >= 0; i--) {
    if (kept == MIX_NODES) {   /* too many to keep: every node, bottom up */
      double sum = 0.0;
      for (int j = 0; j <= n; j++) {
        double u = u0 + h * j, w = exp(u);
        sum += exp(half * u - 0.5 * w + lnorm) * g(sqrt(w / nu), arg);
      }
      return sum * h;
    }
    double u = u0 + h * i, w = exp(u);
    double weight = exp(half * u - 0.5 * w + lnorm);
    term[kept++] = weight * g(sqrt(w / nu), arg);
    above += term[kept - 1];
    if (weight <= 1e-16 * above) {   /* near the end: r / (1 - r) <= 99 below */
      double r = exp(-half * h + 0.5 * w * shrink);
      if (r < 0.99 && weight * r / (1.0 - r) <= 1e-18 * above) break;
    }
  }
  double sum = 0.0;
  for (int k = kept - 1; k >= 0; k--) sum += term[k];
  return sum * h;
}

static double shifted_one(double s, const double *arg) { return cas_norm_cdf(arg[0] * s - arg[1]); }
static double shifted_two(double s, const double *arg) {
  return cas_bvn_cdf(arg[0] * s - arg[1], arg[2] * s - arg[3], arg[4]);
}

static double shifted_pd(const cas_copula_model *m, double c, double mean_shift) {
  if (mean_shift == 0.0) return t_cdf(m->df, c);
  double arg[2] = {c, mean_shift};
  double p = mix_expectation(m->df, shifted_one, arg, fabs(c));
  return p < 0.0 ? 0.0 : p > 1.0 ? 1.0 : p;
}

static double shifted_joint_pd(const cas_copula_model *m, double t1, double m1, double t2,
                               double m2, double rho) {
  double arg[5] = {t1, m1, t2, m2, rho};
  double p = mix_expectation(m->df, shifted_two, arg, fmax(fabs(t1), fabs(t2)));
  return p < 0.0 ? 0.0 : p > 1.0 ? 1.0 : p;
}

static double path_scale(const cas_copula_model *m, cas_rng *rng) {
  double w = 2.0 * cas_rng_gamma(rng, 0.5 * m->df);
  return sqrt(m->df / w);
}

const cas_copula_model cas_copula_student_t = {
  .info = {"t", "multi-factor Student-t copula: a common chi-square mixing variable per path "
                "(degrees of freedom: model.degrees_of_freedom), default below t^-1(PD)"},
  .df = 5.0,
  .needs_df = 1,
  .costly_pd = 1,
  .threshold = threshold,
  .threshold_upper = threshold_upper,
  .shifted_pd = shifted_pd,
  .density = density,
  .shifted_joint_pd = shifted_joint_pd,
  .path_scale = path_scale,
};
