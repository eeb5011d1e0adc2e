/* analytic.c: the closed-form cross-checks (analytic.h). */
#include "analytic.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "irb.h"
#include "normal.h"
#include "stats.h"

void cas_analytic_free(cas_analytic *a) {
  free(a->mem);
  memset(a, 0, sizeof *a);
}

cas_status cas_analytic_compute(const cas_plan *plan, const cas_scenario *sc, const double *levels,
                                int nlevels, cas_analytic *out, cas_error *err) {
  memset(out, 0, sizeof *out);
  int nseg = plan->nsegments, nl = nlevels;
  size_t cells = (size_t)nl * (size_t)nseg + (size_t)nl + 3 * (size_t)nseg;
  out->mem = calloc(cells ? cells : 1, sizeof *out->mem);
  double *weight = calloc((size_t)(nseg ? nseg : 1), sizeof *weight);
  if (!out->mem || !weight) {
    free(weight);
    cas_analytic_free(out);
    return cas_error_set(err, CAS_ERR_NOMEM, "out of memory (analytic cross-checks)");
  }
  out->nlevels = nl;
  out->nsegments = nseg;
  out->vasicek = out->mem;
  out->vasicek_sum = out->vasicek + (size_t)nl * nseg;
  out->model_correlation = out->vasicek_sum + nl;
  out->irb_capital = out->model_correlation + nseg;
  out->irb_correlation = out->irb_capital + nseg;
  const cas_copula_model *cop = plan->copula;
  double zq[CAS_MAX_LEVELS];
  for (int l = 0; l < nl && l < CAS_MAX_LEVELS; l++) zq[l] = cas_norm_quantile(levels[l]);
  for (int s = 0; s < nseg; s++)
    out->model_correlation[s] = 1.0 - plan->idio[s] * plan->idio[s];
  for (size_t b = 0; b < plan->nbuckets; b++) {
    const cas_bucket *bk = &plan->buckets[b];
    int s = bk->segment;
    double m = 0.0;
    for (uint32_t k = plan->nz_start[s]; k < plan->nz_start[s + 1]; k++)
      m += plan->nz_loading[k] * plan->shift[plan->nz_factor[k]];
    double r = out->model_correlation[s], sr = sqrt(r), w = plan->idio[s];
    int sector = cas_taxonomy_segment_sector(plan->tax, s);
    cas_irb_class cls = sc->irb_class ? (cas_irb_class)sc->irb_class[sector] : CAS_IRB_CORPORATE;
    /* A loan's figures per unit of loss depend on its threshold only
     * (the bucket fixes the rest), and loans alike share one (a rating
     * grade's PD, a homogeneous book): they are kept from the previous
     * loan of the bucket while its threshold is the same, the same values
     * bit for bit, added in the same order. */
    double prev = NAN, pd = 0.0, irb_k = 0.0, irb_r = 0.0, vas[CAS_MAX_LEVELS];
    for (uint32_t k = bk->first; k < bk->first + bk->count; k++) {
      double loss = plan->loans[k].loss;
      if (!(loss > 0.0)) continue;
      double t = plan->loans[k].threshold;
      if (!(t == prev)) {
        prev = t;
        pd = cop->shifted_pd(cop, t, m);
        if (pd > 0.0 && pd < 1.0) {
          double c = cas_norm_quantile(pd);
          for (int l = 0; l < nl && l < CAS_MAX_LEVELS; l++)
            vas[l] = cas_norm_cdf((c + sr * zq[l]) / w);
          irb_k = cas_irb_capital(cls, pd, 1.0, sc->irb_maturity, 50.0);
          irb_r = cas_irb_correlation(cls, pd, 50.0);
        }
      }
      if (!(pd > 0.0)) continue;
      if (pd >= 1.0) {   /* certain default: the whole loss at every level */
        for (int l = 0; l < nl; l++) out->vasicek[(size_t)l * nseg + s] += loss;
        continue;
      }
      for (int l = 0; l < nl && l < CAS_MAX_LEVELS; l++)
        out->vasicek[(size_t)l * nseg + s] += loss * vas[l];
      out->irb_capital[s] += loss * irb_k;
      out->irb_correlation[s] += loss * irb_r;
      weight[s] += loss;
    }
  }
  for (int s = 0; s < nseg; s++) {
    out->irb_correlation[s] = weight[s] > 0.0 ? out->irb_correlation[s] / weight[s] : NAN;
    out->irb_capital_total += out->irb_capital[s];
    for (int l = 0; l < nl; l++) out->vasicek_sum[l] += out->vasicek[(size_t)l * nseg + s];
  }
  free(weight);
  return CAS_OK;
}
