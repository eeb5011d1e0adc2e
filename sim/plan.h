/*
 * plan.h: a scenario applied to a portfolio, ready for a kernel.
 *
 * Building a plan is where all checking and all per-loan preparation
 * happens, before any parallel region: shocks are applied (stressed PD, LGD
 * and EAD per loan), thresholds are computed once per loan through the
 * copula, and the factor model is reduced to dense per-segment loadings and a
 * Cholesky factor. A kernel then only reads the plan, so it cannot fail on
 * input.
 *
 * Memory: 8 (threshold) + 8 (stressed EAD) + 8 (stressed LGD) + 1 (segment)
 * = 25 bytes per loan on top of the portfolio.
 */
#ifndef CASCADE_PLAN_H
#define CASCADE_PLAN_H

#include <stddef.h>
#include <stdint.h>

#include "copula/copula.h"
#include "error.h"
#include "lgd/lgd.h"
#include "portfolio.h"
#include "scenario.h"
#include "taxonomy.h"

typedef struct cas_plan {
  size_t n;                  /* loans */
  uint64_t seed;             /* simulation seed */
  uint64_t paths;

  double *threshold;         /* latent default threshold c_i = copula threshold(stressed PD) */
  double *ead;               /* stressed EAD [CNY] */
  double *lgd;               /* stressed LGD parameter [fraction of EAD] */
  uint8_t *segment;          /* region * CAS_NSECTORS + sector */

  const cas_copula_model *copula;
  const cas_lgd_model *lgd_model;

  /* Factor model: z = chol u + shift with u ~ N(0, I); the systematic part
   * of a loan of segment s is sum_f loading[s][f] z[f], its idiosyncratic
   * weight idio[s] = sqrt(1 - a_s' C a_s). */
  double chol[CAS_NFACTORS * CAS_NFACTORS];
  double shift[CAS_NFACTORS];                 /* [SD] */
  double loading[CAS_NSEGMENTS][CAS_NFACTORS];
  double idio[CAS_NSEGMENTS];

  /* Totals by segment: as in the portfolio and after the shocks. */
  cas_segment_totals unstressed;
  cas_segment_totals stressed;   /* expected_loss = sum stressed PD x LGD x EAD */
} cas_plan;

/* Largest PD after shocks: a multiplied PD is capped here so that a
 * threshold stays finite [fraction]. */
#define CAS_PD_CAP 0.9999

cas_status cas_plan_build(const cas_scenario *sc, const cas_portfolio *pf,
                          cas_plan **out, cas_error *err);
void cas_plan_destroy(cas_plan *plan);

#endif
