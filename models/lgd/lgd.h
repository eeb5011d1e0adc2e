/*
 * lgd.h: the registry of loss-given-default models.
 *
 * A model turns a loan's (stressed) LGD into the fraction of EAD lost when
 * the loan defaults on a path. "fixed" returns the LGD itself; "beta"
 * (beta.c) draws it from a beta distribution with that mean, its sector's
 * standard deviation and a downturn link to the loan's systematic term.
 * A stochastic model draws from the loan's own stream on the path (keyed by
 * seed, CAS_RNG_LGD, path and the loan's plan position: plan.h), so both
 * kernels give a defaulted loan the same loss fraction, and a shock to
 * other loans never moves it.
 */
#ifndef CASCADE_LGD_H
#define CASCADE_LGD_H

#include <stddef.h>

#include "registry.h"
#include "rng.h"

typedef struct cas_lgd_model {
  cas_model_info info;  /* name and one-line description */
  /* 1 if loss_fraction draws random numbers (the kernel then keeps a stream). */
  int stochastic;
  /* Fraction of EAD lost [0, 1] for a defaulted loan: mean its (stressed)
   * LGD, sd its sector's standard deviation (model.lgd_sd), y its
   * systematic term standardized (a . z / sqrt(a'Ca): N(0, 1) without
   * factor shifts, low in a downturn), downturn the strength of the link
   * (model.lgd_downturn, >= 0). */
  double (*loss_fraction)(double mean, double sd, double y, double downturn, cas_rng *rng);
} cas_lgd_model;

extern const cas_lgd_model cas_lgd_fixed;
extern const cas_lgd_model cas_lgd_beta;

const cas_lgd_model *cas_lgd_lookup(const char *name);
void cas_lgd_list(char *buf, size_t size);
const cas_lgd_model *cas_lgd_at(size_t i);

#endif
