/*
 * normal.h: the standard normal distribution.
 *
 * cas_norm_cdf uses libm erfc so that it keeps full relative accuracy deep
 * in the lower tail (Phi(-38) is ~2.9e-316, not 0). cas_norm_quantile is
 * Wichura's algorithm AS 241 (PPND16, Applied Statistics 37(3), 1988),
 * relative accuracy about 1e-16 for p in [1e-300, 1 - 1e-16].
 */
#ifndef CASCADE_NORMAL_H
#define CASCADE_NORMAL_H

double cas_norm_pdf(double x);
/* Phi(x) = P(Z <= x). */
double cas_norm_cdf(double x);
/* 1 - Phi(x) = P(Z > x), accurate for large x. */
double cas_norm_sf(double x);
/* Phi^-1(p) for p in (0, 1); -INFINITY at 0, +INFINITY at 1, NAN outside. */
double cas_norm_quantile(double p);
/* Phi^-1(1 - q) computed from q, accurate for tiny q. */
double cas_norm_quantile_upper(double q);

#endif
