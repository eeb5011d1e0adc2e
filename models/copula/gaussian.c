/*
 * gaussian.c: the multi-factor Gaussian copula (Vasicek 1987, 2002; Li 2000).
 * Defaults when a_s . Z + b_s eps_i < Phi^-1(PD_i); no mixing variable.
 */
#include "copula/copula.h"
#include "normal.h"

static double threshold(double pd) { return cas_norm_quantile(pd); }
static double path_scale(cas_rng *rng) { (void)rng; return 1.0; }

const cas_copula_model cas_copula_gaussian = {
  .info = {"gaussian",
           "multi-factor Gaussian copula: default when the latent variable falls below Phi^-1(PD)"},
  .threshold = threshold,
  .path_scale = path_scale,
};
