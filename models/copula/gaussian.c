/*
 * gaussian.c: the multi-factor Gaussian copula (Vasicek 1987, 2002; Li 2000).
 * Defaults when a_s . Z + b_s eps_i < Phi^-1(PD_i); no mixing variable.
 *
 * With Z ~ N(mu, C) and a'Ca + b^2 = 1 the latent variable is N(a . mu, 1),
 * so the unconditional PD under a factor shift is Phi(c - a . mu).
 */
#include "copula/copula.h"
#include "normal.h"

static double threshold(double pd) { return cas_norm_quantile(pd); }
static double threshold_upper(double survival) { return cas_norm_quantile_upper(survival); }
static double shifted_pd(double threshold_c, double mean_shift) {
  return cas_norm_cdf(threshold_c - mean_shift);
}
static double path_scale(cas_rng *rng) { (void)rng; return 1.0; }

const cas_copula_model cas_copula_gaussian = {
  .info = {"gaussian",
           "multi-factor Gaussian copula: default when the latent variable falls below Phi^-1(PD)"},
  .threshold = threshold,
  .threshold_upper = threshold_upper,
  .shifted_pd = shifted_pd,
  .path_scale = path_scale,
};
