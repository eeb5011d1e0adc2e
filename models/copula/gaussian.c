/*
 * gaussian.c: the multi-factor Gaussian copula (Vasicek 1987, 2002; Li 2000).
 * Defaults when a_s . Z + b_s eps_i < Phi^-1(PD_i); no mixing variable.
 *
 * With Z ~ N(mu, C) and a'Ca + b^2 = 1 the latent variable is N(a . mu, 1),
 * so the unconditional PD under a factor shift is Phi(c - a . mu), and two
 * loans default together with the bivariate normal probability
 * Phi2(c1 - a1 . mu, c2 - a2 . mu; a1' C a2).
 */
#include "copula/copula.h"
#include "normal.h"

static double threshold(const cas_copula_model *m, double pd) {
  (void)m;
  return cas_norm_quantile(pd);
}
static double threshold_upper(const cas_copula_model *m, double survival) {
  (void)m;
  return cas_norm_quantile_upper(survival);
}
static double shifted_pd(const cas_copula_model *m, double threshold_c, double mean_shift) {
  (void)m;
  return cas_norm_cdf(threshold_c - mean_shift);
}
static double density(const cas_copula_model *m, double x) {
  (void)m;
  return cas_norm_pdf(x);
}
static double shifted_joint_pd(const cas_copula_model *m, double t1, double m1, double t2,
                               double m2, double rho) {
  (void)m;
  return cas_bvn_cdf(t1 - m1, t2 - m2, rho);
}
static double path_scale(const cas_copula_model *m, cas_rng *rng) {
  (void)m, (void)rng;
  return 1.0;
}

const cas_copula_model cas_copula_gaussian = {
  .info = {"gaussian",
           "multi-factor Gaussian copula: default when the latent variable falls below Phi^-1(PD)"},
  .threshold = threshold,
  .threshold_upper = threshold_upper,
  .shifted_pd = shifted_pd,
  .density = density,
  .shifted_joint_pd = shifted_joint_pd,
  .path_scale = path_scale,
};
