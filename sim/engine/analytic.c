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

/* A loan's figures per unit of loss (analytic.h), F_VAS + nl doubles:
 * its shifted PD, IRB capital and supervisory correlation, then the
 * Vasicek fraction at each of the nl levels. They depend on its threshold
 * and its bucket's segment only. */
enum { F_PD, F_IRB_K, F_IRB_R, F_VAS };

typedef struct segment_terms {
  double m, sr, w;   /* factor-mean shift, sqrt(R_s), sqrt(1 - R_s) */
  cas_irb_class cls;
  /* the plan's shifted PDs by position (plan.h) when computed with the
   * same mean m, else NULL */
  const double *kept;
} segment_terms;

/* known: the loan's shifted PD under st->m when the plan has it, else NaN */
static void figures(const cas_copula_model *cop, const segment_terms *st, const cas_scenario *sc,
                    const double *zq, int nl, double t, double known, double *f) {
  double pd = !isnan(known) ? known : cop->shifted_pd(cop, t, st->m);
  f[F_PD] = pd;
  if (pd > 0.0 && pd < 1.0) {
    double c = cas_norm_quantile(pd);
    for (int l = 0; l < nl; l++) f[F_VAS + l] = cas_norm_cdf((c + st->sr * zq[l]) / st->w);
    f[F_IRB_K] = cas_irb_capital_given(st->cls, pd, c, zq[CAS_MAX_LEVELS], 1.0, sc->irb_maturity, 50.0);
    f[F_IRB_R] = cas_irb_correlation(st->cls, pd, 50.0);
  }
}

/* The figures of positions [from, to) into f (a row of F_VAS + nl a
 * position, from position `from` on): the bucket of
 * `from` found by bisection, then walked; a loan whose threshold is its
 * predecessor's in the bucket takes its figures (the same bits). Loans
 * without loss are skipped (their figures are not read). */
static void figures_of(const cas_plan *plan, const segment_terms *terms, const cas_scenario *sc,
                       const double *zq, int nl, size_t from, size_t to, double *f) {
  size_t lo = 0, hi = plan->nbuckets;   /* the last bucket with first <= from (or 0) */
  while (hi - lo > 1) {
    size_t mid = lo + (hi - lo) / 2;
    if (plan->buckets[mid].first <= from) lo = mid;
    else hi = mid;
  }
  size_t b = lo;
  size_t row = F_VAS + (size_t)nl;
  double prev = NAN;
  const double *last = NULL;
  for (size_t k = from; k < to; k++) {
    while (b < plan->nbuckets && k >= (size_t)plan->buckets[b].first + plan->buckets[b].count) {
      b++;
      last = NULL;
    }
    if (b == plan->nbuckets || k < plan->buckets[b].first || !(plan->loans[k].loss > 0.0)) continue;
    double t = plan->loans[k].threshold;
    double *x = &f[(k - from) * row];
    if (last && t == prev) {
      memcpy(x, last, row * sizeof *x);
    } else {
      const segment_terms *st = &terms[plan->buckets[b].segment];
      figures(plan->copula, st, sc, zq, nl, t, st->kept ? st->kept[k] : NAN, x);
      prev = t;
    }
    last = x;
  }
}

cas_status cas_analytic_compute(const cas_plan *plan, const cas_scenario *sc, const double *levels,
                                int nlevels, cas_analytic *out, cas_error *err) {
  memset(out, 0, sizeof *out);
  int nseg = plan->nsegments, nl = nlevels < CAS_MAX_LEVELS ? nlevels : CAS_MAX_LEVELS;
  size_t cells = (size_t)nlevels * (size_t)nseg + (size_t)nlevels + 3 * (size_t)nseg;
  out->mem = calloc(cells ? cells : 1, sizeof *out->mem);
  double *weight = calloc((size_t)(nseg ? nseg : 1), sizeof *weight);
  segment_terms *terms = malloc((size_t)(nseg ? nseg : 1) * sizeof *terms);
  /* The figures are computed a chunk of positions at a time, in parallel
   * (a part of a chunk per thread), and added up in position order after
   * each chunk: the sums are those of one thread, bit for bit, whatever
   * the thread count. At 10^7 loans the figures took 2 s on one thread. */
  enum { CHUNK = 1 << 15, PART = 1 << 11 };
  size_t n = plan->n, chunk = n < CHUNK ? (n ? n : 1) : CHUNK, row = F_VAS + (size_t)nl;
  double *fig = malloc(chunk * row * sizeof *fig);   /* 1.5 MB at 3 levels */
  if (!out->mem || !weight || !terms || !fig) {
    free(weight);
    free(terms);
    free(fig);
    cas_analytic_free(out);
    return cas_error_set(err, CAS_ERR_NOMEM, "out of memory (analytic cross-checks)");
  }
  out->nlevels = nlevels;
  out->nsegments = nseg;
  out->vasicek = out->mem;
  out->vasicek_sum = out->vasicek + (size_t)nlevels * nseg;
  out->model_correlation = out->vasicek_sum + nlevels;
  out->irb_capital = out->model_correlation + nseg;
  out->irb_correlation = out->irb_capital + nseg;
  double zq[CAS_MAX_LEVELS + 1];   /* the levels' quantiles, then 0.999's (IRB) */
  for (int l = 0; l < nl; l++) zq[l] = cas_norm_quantile(levels[l]);
  zq[CAS_MAX_LEVELS] = cas_norm_quantile(0.999);
  for (int s = 0; s < nseg; s++) {
    double m = 0.0;
    for (uint32_t k = plan->nz_start[s]; k < plan->nz_start[s + 1]; k++)
      m += plan->nz_loading[k] * plan->shift[plan->nz_factor[k]];
    out->model_correlation[s] = 1.0 - plan->idio[s] * plan->idio[s];
    int sector = cas_taxonomy_segment_sector(plan->tax, s);
    terms[s] = (segment_terms){m, sqrt(out->model_correlation[s]), plan->idio[s],
                               sc->irb_class ? (cas_irb_class)sc->irb_class[sector]
                                             : CAS_IRB_CORPORATE, NULL};
    if (plan->shifted_pd && memcmp(&plan->shifted_pd_mean[s], &m, sizeof m) == 0)
      terms[s].kept = plan->shifted_pd;
  }
  size_t b = 0;   /* the bucket of position k in the sums */
  for (size_t from = 0; from < n; from += chunk) {
    size_t to = from + chunk < n ? from + chunk : n;
    long parts = (long)((to - from + PART - 1) / PART);
    #pragma omp parallel for schedule(dynamic, 1) if (parts > 1)
    for (long i = 0; i < parts; i++) {
      size_t a = from + (size_t)i * PART, e = a + PART < to ? a + PART : to;
      figures_of(plan, terms, sc, zq, nl, a, e, &fig[(a - from) * row]);
    }
    for (size_t k = from; k < to; k++) {
      while (b < plan->nbuckets && k >= (size_t)plan->buckets[b].first + plan->buckets[b].count) b++;
      if (b == plan->nbuckets || k < plan->buckets[b].first) continue;   /* in no bucket */
      int s = plan->buckets[b].segment;
      double loss = plan->loans[k].loss;
      if (!(loss > 0.0)) continue;
      const double *f = &fig[(k - from) * row];
      if (!(f[F_PD] > 0.0)) continue;
      if (f[F_PD] >= 1.0) {   /* certain default: the whole loss at every level */
        for (int l = 0; l < nlevels; l++) out->vasicek[(size_t)l * nseg + s] += loss;
        continue;
      }
      for (int l = 0; l < nl; l++) out->vasicek[(size_t)l * nseg + s] += loss * f[F_VAS + l];
      out->irb_capital[s] += loss * f[F_IRB_K];
      out->irb_correlation[s] += loss * f[F_IRB_R];
      weight[s] += loss;
    }
  }
  for (int s = 0; s < nseg; s++) {
    out->irb_correlation[s] = weight[s] > 0.0 ? out->irb_correlation[s] / weight[s] : NAN;
    out->irb_capital_total += out->irb_capital[s];
    for (int l = 0; l < nlevels; l++) out->vasicek_sum[l] += out->vasicek[(size_t)l * nseg + s];
  }
  free(weight);
  free(terms);
  free(fig);
  return CAS_OK;
}
