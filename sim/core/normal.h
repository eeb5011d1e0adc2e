/*
 * normal.h: the standard normal distribution, and the bivariate one.
 *
 * cas_norm_cdf uses libm erfc so that it keeps full relative accuracy deep
 * in the lower tail (Phi(-38) is ~2.9e-316, not 0). cas_norm_quantile is
 * Wichura's algorithm AS 241 (PPND16, Applied Statistics 37(3), 1988),
 * relative accuracy about 1e-16 for p in [1e-300, 1 - 1e-16].
 */
#ifndef CASCADE_NORMAL_H
#define CASCADE_NORMAL_H

#include <stddef.h>

#define CAS_INV_SQRT_2PI 0.39894228040143267794 /* 1/sqrt(2 pi) */
double cas_norm_pdf(double x);
/* Phi(x) = P(Z <= x). */
double cas_norm_cdf(double x);
/* Phi at n points: p[i] = Phi(x[i]) within a relative 1e-12 of
 * cas_norm_cdf(x[i]) (exactly cas_norm_cdf below 1e-280 and for infinite
 * or NaN x), four at a time with glibc's vector erfc (libmvec) where the
 * CPU has AVX2, else cas_norm_cdf itself. p must not overlap x. For bounds that
 * hold whatever the rounding, widen the values by that relative 1e-12
 * (the sparse kernel's bucket probabilities). */
#define CAS_NORM_CDF_MANY_TOL 1e-12
void cas_norm_cdf_many(const double *x, double *p, size_t n);
/* 1 - Phi(x) = P(Z > x), accurate for large x. */
double cas_norm_sf(double x);
/* Phi^-1(p) for p in (0, 1); -INFINITY at 0, +INFINITY at 1, NAN outside. */
double cas_norm_quantile(double p);
/* Phi^-1(1 - q) computed from q, accurate for tiny q. */
double cas_norm_quantile_upper(double q);
/* P(X <= h, Y <= k) for standard normals X, Y with correlation rho in
 * [-1, 1] (Genz 2004, see normal.c). Symmetric in h and k bit for bit.
 * Closed forms at the edges: Phi(h) Phi(k) at rho = 0, Phi(min(h, k)) at
 * rho = 1, max(0, Phi(h) + Phi(k) - 1) at rho = -1 (formed so that it does
 * not cancel), Phi of the other argument when one is +inf, 0 when one is
 * -inf. NaN for a NaN argument and for rho outside [-1, 1], so a computed
 * correlation that rounds past 1 must be clamped by the caller. Relative
 * error within a few eps (1 + |ln P|) down to P = 1e-300, absolute error
 * below 3e-16. */
double cas_bvn_cdf(double h, double k, double rho);

#endif
