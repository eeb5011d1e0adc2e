/*
 * beta.c: loss given default drawn from a beta distribution, with a
 * downturn link to the systematic factors.
 *
 * A defaulted loan loses the fraction L ~ Beta(alpha, beta) of its EAD, of
 * mean m(y) and standard deviation s (the sector's, capped so that the
 * beta exists: s^2 <= 0.9 m (1 - m)); alpha = m t, beta = (1 - m) t,
 * t = m (1 - m) / s^2 - 1 (method of moments). Beta LGDs are the common
 * choice for recoveries (e.g. Gupton and Stein, LossCalc, Moody's KMV
 * 2005; the Basel Committee's "Studies on the validation of internal
 * rating systems", WP 14, 2005, sec. 5).
 *
 * Downturn link: the mean moves with the loan's standardized systematic
 * term y (N(0, 1) without factor shifts, low when its factors are bad),
 *     m(y) = Phi(sqrt(1 + k^2) Phi^-1(mu) - k y),
 * mu the loan's LGD and k >= 0 the link's strength (model.lgd_downturn):
 * LGD rises in the paths and scenarios where defaults do, in the spirit of
 * Frye ("Depressing recoveries", Risk 2000) and of the single-factor models
 * of correlated LGD (Tasche, "The single risk factor approach to capital
 * charges in case of correlated loss given default rates", 2004). Since
 * E[Phi(a - k Y)] = Phi(a / sqrt(1 + k^2)) for Y ~ N(0, 1), the
 * unconditional mean stays mu exactly; the spread of m(y) adds to s. With
 * k = 0 the loss fraction is Beta with mean mu and standard deviation s.
 *
 * Sampling: X / (X + Y), X ~ Gamma(alpha), Y ~ Gamma(beta)
 * (cas_rng_gamma, Marsaglia and Tsang 2000).
 */
#include <math.h>

#include "lgd/lgd.h"
#include "normal.h"

static double loss_fraction(double mean, double sd, double y, double downturn, cas_rng *rng) {
  if (!(mean > 0.0 && mean < 1.0)) return mean < 0.0 ? 0.0 : mean > 1.0 ? 1.0 : mean;
  double m = mean;
  if (downturn > 0.0)
    m = cas_norm_cdf(sqrt(1.0 + downturn * downturn) * cas_norm_quantile(mean) - downturn * y);
  if (!(m > 1e-12 && m < 1.0 - 1e-12) || !(sd > 0.0)) return m;
  double var = sd * sd, cap = 0.9 * m * (1.0 - m);
  if (var > cap) var = cap;
  double t = m * (1.0 - m) / var - 1.0;
  /* a standard deviation so small that its variance is below 1e-15 of
   * m (1 - m) (lgd_sd 1e-9 and less): the beta is the point m to within
   * rounding, and its gamma shapes would overflow (a variance that
   * rounds to 0, lgd_sd 1e-155, made them infinite, and the gamma
   * sampler never ended) */
  if (!(t < 1e15)) return m;
  double x = cas_rng_gamma(rng, m * t), w = cas_rng_gamma(rng, (1.0 - m) * t);
  double l = x / (x + w);
  return l < 0.0 ? 0.0 : l > 1.0 ? 1.0 : l;
}

const cas_lgd_model cas_lgd_beta = {
  .info = {"beta", "loss given default drawn from a beta distribution: mean the loan's LGD, "
                   "standard deviation by sector (model.lgd_sd), rising in downturns "
                   "(model.lgd_downturn)"},
  .stochastic = 1,
  .loss_fraction = loss_fraction,
};
