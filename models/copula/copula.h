/*
 * copula.h: the registry of default-dependence models (copulas).
 *
 * In every model here obligor i of segment s defaults on a path when its
 * latent variable X_i = scale * (a_s . Z + b_s eps_i) falls below its
 * threshold c_i = threshold(PD_i): Z are the correlated systematic factors,
 * eps_i ~ N(0,1) the idiosyncratic term, b_s = sqrt(1 - a_s' C a_s), and
 * scale a per-path mixing variable. For the Gaussian copula scale = 1 and
 * threshold = Phi^-1; the Student-t copula (student_t.c) draws
 * scale = sqrt(nu / W), W ~ chi2(nu), and uses the t quantile. One file per model, each exporting one
 * descriptor; the registry is a constant table (copula.c).
 *
 * Factor shifts move the mean of Z to mu (covariance unchanged), so the
 * systematic term a_s . Z has mean a_s . mu instead of 0; shifted_pd gives
 * the resulting unconditional PD, which the analytic expected loss uses
 * (plan.c). Every model must satisfy, and tests/test_copula.c checks for
 * every registered one: threshold_upper(1 - p) = threshold(p);
 * shifted_pd(threshold(p), 0) = p; shifted_pd decreasing in mean_shift;
 * shifted_joint_pd(t1, m1, t2, m2, 0) = shifted_pd(t1, m1) shifted_pd(t2, m2)
 * for a model without a mixing scale, and never above either marginal.
 */
#ifndef CASCADE_COPULA_H
#define CASCADE_COPULA_H

#include <stddef.h>

#include "registry.h"
#include "rng.h"

typedef struct cas_copula_model cas_copula_model;
struct cas_copula_model {
  cas_model_info info;  /* name and one-line description */
  /* The model's parameter: the degrees of freedom of a Student-t copula
   * (nu > 2, the scenario's model.degrees_of_freedom), 0 for a model
   * without one. A run uses a copy of the registered descriptor with it
   * set (cas_copula_instance). */
  double df;
  int needs_df;         /* 1: df is required (t), 0: the model has none */
  /* 1: shifted_pd integrates over the mixing scale (tens of evaluations
   * of Phi a call): the plan keeps the values it computes for year 0's
   * analytic expected loss, and the analytic cross-checks take them
   * (plan.h, shifted_pd) instead of integrating again. */
  int costly_pd;
  /* Latent threshold for a default probability pd in (0, 1). */
  double (*threshold)(const cas_copula_model *m, double pd);
  /* The same threshold given the survival probability survival = 1 - pd
   * in (0, 1) instead: accurate when pd is close to 1, where 1 - pd
   * carries the digits that pd has lost. */
  double (*threshold_upper)(const cas_copula_model *m, double survival);
  /* Unconditional default probability of a loan with latent threshold
   * `threshold` when its systematic term a . Z has mean mean_shift = a . mu
   * [SD of the latent variable] instead of 0 (the factors' covariance
   * unchanged, a'Ca + b^2 = 1). Negative shifts are adverse. */
  double (*shifted_pd)(const cas_copula_model *m, double threshold, double mean_shift);
  /* The density of the latent variable's marginal at x (no shift): the
   * derivative of shifted_pd(x, 0) in x (the calibration's Newton steps). */
  double (*density)(const cas_copula_model *m, double x);
  /* The probability that two loans both default, with thresholds t1, t2,
   * systematic-term means m1, m2 (as for shifted_pd) and latent
   * correlation rho = a_1' C a_2: the double defaults of guarantees in the
   * analytic expected loss (contagion.c). */
  double (*shifted_joint_pd)(const cas_copula_model *m, double t1, double m1, double t2,
                             double m2, double rho);
  /* The path's mixing scale, drawn from the path's factor stream. */
  double (*path_scale)(const cas_copula_model *m, cas_rng *rng);
};

/* Degrees of freedom a t copula accepts: above 2 (a finite variance) and
 * at most 1000 (beyond it the t copula is the Gaussian one to well within
 * Monte Carlo error). */
#define CAS_COPULA_DF_MIN 2.0
#define CAS_COPULA_DF_MAX 1000.0

extern const cas_copula_model cas_copula_gaussian;
extern const cas_copula_model cas_copula_student_t;

/* The model called name, or NULL. */
const cas_copula_model *cas_copula_lookup(const char *name);
/* Comma-separated names of every registered model. */
void cas_copula_list(char *buf, size_t size);
/* Registry walk: the i-th model, NULL past the end. */
const cas_copula_model *cas_copula_at(size_t i);

#endif
