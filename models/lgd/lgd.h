/*
 * lgd.h: the registry of loss-given-default models.
 *
 * A model turns a loan's (stressed) LGD parameter into the fraction of EAD
 * lost when the loan defaults on a path. "fixed" returns the parameter
 * itself; stochastic models (e.g. a beta LGD tied to the systematic factor)
 * plug in here and draw from the path's CAS_RNG_LGD stream.
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
  /* Fraction of EAD lost [0, 1] for a defaulted loan with LGD parameter lgd. */
  double (*loss_fraction)(double lgd, cas_rng *rng);
} cas_lgd_model;

extern const cas_lgd_model cas_lgd_fixed;

const cas_lgd_model *cas_lgd_lookup(const char *name);
void cas_lgd_list(char *buf, size_t size);
const cas_lgd_model *cas_lgd_at(size_t i);

#endif
