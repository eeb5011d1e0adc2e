/* fixed.c: LGD fixed per loan: the loss fraction is the loan's LGD. */
#include "lgd/lgd.h"

static double loss_fraction(double mean, double sd, double y, double downturn, cas_rng *rng) {
  (void)sd, (void)y, (void)downturn, (void)rng;
  return mean;
}

const cas_lgd_model cas_lgd_fixed = {
  .info = {"fixed",
           "loss given default fixed per loan (the portfolio's lgd column after shocks)"},
  .stochastic = 0,
  .loss_fraction = loss_fraction,
};
