/*
 * plan.c: applies a scenario's shocks to a portfolio (see plan.h).
 *
 * For loan i of segment s every shock whose region and sector match is
 * applied: PD_i *= pd_multiplier (capped at CAS_PD_CAP), LGD_i += lgd_add
 * (clamped to [0, 1]), EAD_i *= ead_multiplier. Shocks are folded into one
 * table per segment first, so applying them is O(loans + shocks).
 */
#include "plan.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "linalg.h"

typedef struct segment_shock {
  double pd_mult, lgd_add, ead_mult;
} segment_shock;

static void fold_shocks(const cas_scenario *sc, segment_shock *seg, double *shift) {
  for (int s = 0; s < CAS_NSEGMENTS; s++) seg[s] = (segment_shock){1.0, 0.0, 1.0};
  for (int f = 0; f < CAS_NFACTORS; f++) shift[f] = 0.0;
  for (size_t k = 0; k < sc->nshocks; k++) {
    const cas_shock *sh = &sc->shocks[k];
    for (int s = 0; s < CAS_NSEGMENTS; s++) {
      if (sh->region >= 0 && sh->region != cas_segment_region(s)) continue;
      if (sh->sector >= 0 && sh->sector != cas_segment_sector(s)) continue;
      seg[s].pd_mult *= sh->pd_multiplier;
      seg[s].lgd_add += sh->lgd_add;
      seg[s].ead_mult *= sh->ead_multiplier;
    }
    if (sh->factor_shift != 0.0) {
      int f = CAS_FACTOR_GLOBAL;
      if (sh->sector >= 0) f = CAS_FACTOR_SECTOR0 + sh->sector;
      else if (sh->region >= 0) f = CAS_FACTOR_REGION0 + sh->region;
      shift[f] += sh->factor_shift;
    }
  }
}

static cas_status build_factors(const cas_scenario *sc, cas_plan *plan, cas_error *err) {
  if (cas_cholesky(CAS_NFACTORS, &sc->factor_corr[0][0], plan->chol) != 0)
    return cas_error_set(err, CAS_ERR_INPUT, "%s: the factor correlation matrix is not positive definite",
                         sc->file_paths ? sc->file_paths[0] : "scenario");
  for (int s = 0; s < CAS_NSEGMENTS; s++) {
    int r = cas_segment_region(s), k = cas_segment_sector(s);
    double *a = plan->loading[s];
    for (int f = 0; f < CAS_NFACTORS; f++) a[f] = 0.0;
    a[CAS_FACTOR_GLOBAL] = sc->loading[k][CAS_LOADING_GLOBAL];
    a[CAS_FACTOR_REGION0 + r] = sc->loading[k][CAS_LOADING_REGION];
    a[CAS_FACTOR_SECTOR0 + k] = sc->loading[k][CAS_LOADING_SECTOR];
    double v = cas_quadratic_form(CAS_NFACTORS, &sc->factor_corr[0][0], a, a);
    if (!(v < 1.0) || !(v >= 0.0))
      return cas_error_set(err, CAS_ERR_INPUT,
                           "segment %s/%s: systematic variance %.6g must be in [0, 1)",
                           cas_region_names[r], cas_sector_names[k], v);
    plan->idio[s] = sqrt(1.0 - v);
  }
  return CAS_OK;
}

cas_status cas_plan_build(const cas_scenario *sc, const cas_portfolio *pf, cas_plan **out,
                          cas_error *err) {
  *out = NULL;
  const cas_copula_model *copula = cas_copula_lookup(sc->copula);
  const cas_lgd_model *lgd_model = cas_lgd_lookup(sc->lgd_model);
  if (!copula || !lgd_model)
    return cas_error_set(err, CAS_ERR_INTERNAL, "scenario names an unregistered model (%s, %s)",
                         sc->copula, sc->lgd_model);
  cas_plan *plan = calloc(1, sizeof *plan);
  if (!plan) return cas_error_set(err, CAS_ERR_NOMEM, "out of memory building the plan");
  plan->n = pf->n;
  plan->seed = sc->seed;
  plan->paths = sc->paths;
  plan->copula = copula;
  plan->lgd_model = lgd_model;
  size_t n = pf->n ? pf->n : 1;
  plan->threshold = malloc(n * sizeof *plan->threshold);
  plan->ead = malloc(n * sizeof *plan->ead);
  plan->lgd = malloc(n * sizeof *plan->lgd);
  plan->segment = malloc(n * sizeof *plan->segment);
  if (!plan->threshold || !plan->ead || !plan->lgd || !plan->segment) {
    cas_plan_destroy(plan);
    return cas_error_set(err, CAS_ERR_NOMEM, "out of memory: %zu loans need %zu bytes for the plan",
                         pf->n, pf->n * 25);
  }
  cas_status st = build_factors(sc, plan, err);
  if (st != CAS_OK) {
    cas_plan_destroy(plan);
    return st;
  }

  segment_shock seg[CAS_NSEGMENTS];
  fold_shocks(sc, seg, plan->shift);

  /* Per-loan work is independent: parallel, no allocation. */
  #pragma omp parallel for schedule(static)
  for (size_t i = 0; i < pf->n; i++) {
    int s = cas_segment(pf->region[i], pf->sector[i]);
    double pd = fmin(pf->pd[i] * seg[s].pd_mult, CAS_PD_CAP);
    double lgd = fmin(fmax(pf->lgd[i] + seg[s].lgd_add, 0.0), 1.0);
    plan->segment[i] = (uint8_t)s;
    plan->threshold[i] = copula->threshold(pd);
    plan->ead[i] = pf->ead[i] * seg[s].ead_mult;
    plan->lgd[i] = lgd;
  }

  /* Totals in loan order, so they do not depend on the thread count. */
  cas_portfolio_totals(pf, &plan->unstressed);
  memset(&plan->stressed, 0, sizeof plan->stressed);
  for (size_t i = 0; i < pf->n; i++) {
    int s = plan->segment[i];
    double pd = fmin(pf->pd[i] * seg[s].pd_mult, CAS_PD_CAP);
    plan->stressed.loans[s]++;
    plan->stressed.ead[s] += plan->ead[i];
    plan->stressed.expected_loss[s] += pd * plan->lgd[i] * plan->ead[i];
  }
  *out = plan;
  return CAS_OK;
}

void cas_plan_destroy(cas_plan *plan) {
  if (!plan) return;
  free(plan->threshold);
  free(plan->ead);
  free(plan->lgd);
  free(plan->segment);
  free(plan);
}
