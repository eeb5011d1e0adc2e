/*
 * plan.c: applies a scenario's shocks to a portfolio (see plan.h).
 *
 * For loan i of segment s every shock whose region and sector match is
 * applied: the odds PD_i / (1 - PD_i) are multiplied by pd_multiplier
 * (cas_plan_stressed_pd: a PD approaches 1 but never reaches it, so no cap
 * is needed), LGD_i += lgd_add (clamped to [0, 1]), EAD_i *=
 * ead_multiplier, a credit line's ccf += ccf_add, and a secured loan's LGD
 * rises by the collateral_haircut (cas_plan_stressed_lgd). In the plan of
 * a later year a loan's EAD is what is left of it (cas_portfolio_amortised)
 * and a matured loan cannot default (threshold -INFINITY, loss 0). Shocks
 * are folded into one table per segment first, so applying them is
 * O(loans + shocks). Loans are then counting-sorted into
 * buckets (plan.h): O(loans + buckets), stable.
 */
#include "plan.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ksum.h"
#include "linalg.h"
#include "rng.h"

typedef struct segment_shock {
  double pd_mult, lgd_add, ead_mult, ccf_add, haircut;
} segment_shock;

/* The shocks that apply to the loans of (region, sector) in city (-1: a
 * city no shock names), in shock order, as the scenario reader checked
 * their product. */
static segment_shock fold_one(const cas_scenario *sc, int region, int sector, int city) {
  segment_shock f = {1.0, 0.0, 1.0, 0.0, 0.0};
  for (size_t k = 0; k < sc->nshocks; k++) {
    const cas_shock *sh = &sc->shocks[k];
    if (!cas_shock_applies_city(sh, region, sector, city)) continue;
    f.pd_mult *= sh->pd_multiplier;
    f.lgd_add += sh->lgd_add;
    f.ead_mult *= sh->ead_multiplier;
    f.ccf_add += sh->ccf_add;
    /* haircuts compound on what is left of the collateral's value: one
     * haircut h gives exactly h */
    f.haircut = fmin(1.0, f.haircut + sh->collateral_haircut * (1.0 - f.haircut));
  }
  return f;
}

static void fold_shocks(const cas_scenario *sc, const cas_plan *plan, segment_shock *seg,
                        double *given_shift) {
  const cas_taxonomy *tax = plan->tax;
  for (int s = 0; s < plan->nsegments; s++)
    seg[s] = fold_one(sc, cas_taxonomy_segment_region(tax, s), cas_taxonomy_segment_sector(tax, s),
                      -1);
  for (int f = 0; f < plan->nfactors; f++) given_shift[f] = 0.0;
  for (size_t k = 0; k < sc->nshocks; k++) {
    const cas_shock *sh = &sc->shocks[k];
    if (sh->factor_shift != 0.0 && sh->factor >= 0) given_shift[sh->factor] += sh->factor_shift;
  }
}

/* Shocks that name cities: a class per (segment, named city) with loans,
 * numbered after the segments in portfolio order of their first loan. */
static cas_status city_classes(const cas_scenario *sc, const cas_portfolio *pf, cas_plan *plan,
                               const segment_shock *seg, cas_error *err) {
  int ncity = plan->tax->cities.n;
  int32_t *rank = malloc((size_t)(ncity ? ncity : 1) * sizeof *rank);
  if (!rank) return cas_error_set(err, CAS_ERR_NOMEM, "out of memory (city shocks)");
  for (int c = 0; c < ncity; c++) rank[c] = -1;
  int named = 0;
  for (size_t k = 0; k < sc->nshocks; k++) {
    int c = sc->shocks[k].city;
    if (c >= 0 && rank[c] < 0) rank[c] = named++;
  }
  if (named == 0) {
    free(rank);
    return CAS_OK;
  }
  size_t nseg = (size_t)plan->nsegments, nkeys = nseg * (size_t)named;
  int64_t *class_of = malloc(nkeys * sizeof *class_of);
  plan->loan_class = malloc((pf->n ? pf->n : 1) * sizeof *plan->loan_class);
  if (!class_of || !plan->loan_class) {
    free(rank);
    free(class_of);
    return cas_error_set(err, CAS_ERR_NOMEM, "out of memory (city shocks)");
  }
  for (size_t k = 0; k < nkeys; k++) class_of[k] = -1;
  size_t nclasses = nseg;
  for (size_t i = 0; i < pf->n; i++) {
    int s = cas_plan_segment_of(plan, pf, i);
    int c = pf->city[i] == CAS_NONE ? -1 : rank[pf->city[i]];
    if (c < 0) {
      plan->loan_class[i] = (uint32_t)s;
      continue;
    }
    size_t key = (size_t)s * (size_t)named + (size_t)c;
    if (class_of[key] < 0) class_of[key] = (int64_t)nclasses++;
    plan->loan_class[i] = (uint32_t)class_of[key];
  }
  plan->nclasses = nclasses;
  plan->cls_pd_mult = malloc(5 * nclasses * sizeof *plan->cls_pd_mult);
  if (!plan->cls_pd_mult) {
    free(rank);
    free(class_of);
    return cas_error_set(err, CAS_ERR_NOMEM, "out of memory (city shocks)");
  }
  plan->cls_lgd_add = plan->cls_pd_mult + nclasses;
  plan->cls_ead_mult = plan->cls_lgd_add + nclasses;
  plan->cls_ccf_add = plan->cls_ead_mult + nclasses;
  plan->cls_haircut = plan->cls_ccf_add + nclasses;
  for (size_t s = 0; s < nseg; s++) {
    plan->cls_pd_mult[s] = seg[s].pd_mult;
    plan->cls_lgd_add[s] = seg[s].lgd_add;
    plan->cls_ead_mult[s] = seg[s].ead_mult;
    plan->cls_ccf_add[s] = seg[s].ccf_add;
    plan->cls_haircut[s] = seg[s].haircut;
  }
  const cas_taxonomy *tax = plan->tax;
  for (int city = 0; city < ncity; city++) {
    if (rank[city] < 0) continue;
    for (size_t s = 0; s < nseg; s++) {
      int64_t c = class_of[s * (size_t)named + (size_t)rank[city]];
      if (c < 0) continue;
      segment_shock f = fold_one(sc, cas_taxonomy_segment_region(tax, (int)s),
                                 cas_taxonomy_segment_sector(tax, (int)s), city);
      plan->cls_pd_mult[c] = f.pd_mult;
      plan->cls_lgd_add[c] = f.lgd_add;
      plan->cls_ead_mult[c] = f.ead_mult;
      plan->cls_ccf_add[c] = f.ccf_add;
      plan->cls_haircut[c] = f.haircut;
    }
  }
  free(rank);
  free(class_of);
  return CAS_OK;
}

/* The mean of the factors under the scenario's shifts (docs/MODEL.md).
 * Isolated: the given shifts only. Conditional: every factor not shifted
 * moves to its conditional mean given the shifted ones, E[z_f | z_S =
 * delta_S] = C[f,S] C[S,S]^-1 delta_S. */
static cas_status factor_means(const cas_scenario *sc, const cas_plan *plan, const double *given,
                               double *mean, cas_error *err) {
  int nf = plan->nfactors;
  const double *corr = sc->factors->corr;
  for (int f = 0; f < nf; f++) mean[f] = given[f];
  if (sc->factor_shift_mode == CAS_SHIFT_ISOLATED) return CAS_OK;
  int k = 0;
  for (int f = 0; f < nf; f++) k += given[f] != 0.0;
  if (k == 0) return CAS_OK;
  int *idx = malloc((size_t)k * sizeof *idx);
  double *css = malloc((size_t)k * (size_t)k * sizeof *css);
  double *l = malloc((size_t)k * (size_t)k * sizeof *l), *w = malloc((size_t)k * sizeof *w);
  cas_status st = CAS_OK;
  if (!idx || !css || !l || !w) {
    st = cas_error_set(err, CAS_ERR_NOMEM, "out of memory (factor means)");
    goto done;
  }
  k = 0;
  for (int f = 0; f < nf; f++)
    if (given[f] != 0.0) idx[k++] = f;
  for (int i = 0; i < k; i++) {
    w[i] = given[idx[i]];
    for (int j = 0; j < k; j++) css[i * k + j] = corr[idx[i] * nf + idx[j]];
  }
  if (cas_cholesky((size_t)k, css, l) != 0) {
    st = cas_error_set(err, CAS_ERR_INTERNAL,
                       "the correlation of the shifted factors is not positive definite");
    goto done;
  }
  cas_cholesky_solve((size_t)k, l, w, w);   /* w = C[S,S]^-1 delta_S */
  for (int f = 0; f < nf; f++) {
    if (given[f] != 0.0) continue;
    double m = 0.0;
    for (int j = 0; j < k; j++) m += corr[f * nf + idx[j]] * w[j];
    mean[f] = m;
  }
done:
  free(idx);
  free(css);
  free(l);
  free(w);
  return st;
}

static cas_status build_factors(const cas_scenario *sc, cas_plan *plan, cas_error *err) {
  const cas_factor_model *m = sc->factors;
  size_t nf = (size_t)plan->nfactors;
  if (cas_cholesky(nf, m->corr, plan->chol) != 0)
    return cas_error_set(err, CAS_ERR_INPUT, "%s: the factor correlation matrix is not positive "
                         "definite (got a matrix with a zero or negative eigenvalue, expected "
                         "a positive definite one)",
                         sc->file_paths ? sc->file_paths[0] : "scenario");
  memcpy(plan->loading, m->loading, (size_t)plan->nsegments * nf * sizeof *plan->loading);
  size_t nz = 0;
  for (size_t k = 0; k < (size_t)plan->nsegments * nf; k++) nz += plan->loading[k] != 0.0;
  plan->nz_start = malloc(((size_t)plan->nsegments + 1) * sizeof *plan->nz_start);
  plan->nz_factor = malloc((nz ? nz : 1) * sizeof *plan->nz_factor);
  plan->nz_loading = malloc((nz ? nz : 1) * sizeof *plan->nz_loading);
  if (!plan->nz_start || !plan->nz_factor || !plan->nz_loading)
    return cas_error_set(err, CAS_ERR_NOMEM, "out of memory (loadings)");
  nz = 0;
  for (int s = 0; s < plan->nsegments; s++) {
    plan->nz_start[s] = (uint32_t)nz;
    const double *a = cas_plan_loading(plan, s);
    for (size_t f = 0; f < nf; f++)
      if (a[f] != 0.0) {
        plan->nz_factor[nz] = (uint32_t)f;
        plan->nz_loading[nz++] = a[f];
      }
  }
  plan->nz_start[plan->nsegments] = (uint32_t)nz;
  for (int s = 0; s < plan->nsegments; s++) {
    double v = cas_factor_model_systematic_variance(m, s);
    if (!(v < 1.0) || !(v >= 0.0)) {
      char name[2 * CAS_NAME_MAX + 2];
      cas_taxonomy_segment_name(plan->tax, s, name, sizeof name);
      return cas_error_set(err, CAS_ERR_INPUT, "segment %s: systematic variance out of range (got "
                           "%.6g, expected a number in [0, 1))",
                           name, v);
    }
    plan->idio[s] = sqrt(1.0 - v);
  }
  return CAS_OK;
}

/* A mitigant's ids, sorted (by strcmp, ties by position in the list), with
 * a mark for each id the book holds. */
typedef struct id_set {
  const cas_mitigant *m;
  size_t *order;       /* [nids] indices into m->ids */
  uint8_t *seen;       /* [nids] by index */
} id_set;

static const cas_mitigant *sort_ids_of;
static int cmp_id(const void *a, const void *b) {
  size_t x = *(const size_t *)a, y = *(const size_t *)b;
  int c = strcmp(sort_ids_of->ids[x], sort_ids_of->ids[y]);
  return c ? c : (x > y) - (x < y);
}

/* 1 if id is in the set (marking it seen). */
static int in_ids(id_set *s, const char *id) {
  size_t lo = 0, hi = s->m->nids;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int c = strcmp(s->m->ids[s->order[mid]], id);
    if (c == 0) {
      for (size_t k = mid; k < s->m->nids && strcmp(s->m->ids[s->order[k]], id) == 0; k++)
        s->seen[s->order[k]] = 1;
      return 1;
    }
    if (c < 0) lo = mid + 1; else hi = mid;
  }
  return 0;
}

/* Which pool covers each loan: the first mitigant whose region, sector and
 * city match it and, if it lists ids, whose list holds the loan's id. A
 * listed id twice, or one the book does not hold, is an error at its
 * place in the scenario. */
static cas_status cover_by_pools(const cas_scenario *sc, const cas_portfolio *pf, cas_plan *plan,
                                 cas_error *err) {
  if (sc->nmitigants >= CAS_NONE)
    return cas_error_set(err, CAS_ERR_INPUT, "too many mitigants (got %zu, expected at most %d)",
                         sc->nmitigants, CAS_NONE - 1);
  plan->pool_of = malloc((plan->n ? plan->n : 1) * sizeof *plan->pool_of);
  id_set *sets = calloc(sc->nmitigants, sizeof *sets);
  cas_status st = plan->pool_of && sets ? CAS_OK
                                        : cas_error_set(err, CAS_ERR_NOMEM, "out of memory (mitigants)");
  plan->npools = (int)sc->nmitigants;
  plan->pools = sc->mitigants;
  for (size_t m = 0; st == CAS_OK && m < sc->nmitigants; m++) {
    const cas_mitigant *g = &sc->mitigants[m];
    sets[m].m = g;
    if (!g->nids) continue;
    sets[m].order = malloc(g->nids * sizeof *sets[m].order);
    sets[m].seen = calloc(g->nids, 1);
    if (!sets[m].order || !sets[m].seen) {
      st = cas_error_set(err, CAS_ERR_NOMEM, "out of memory (mitigants' ids)");
      break;
    }
    for (size_t k = 0; k < g->nids; k++) sets[m].order[k] = k;
    sort_ids_of = g;   /* qsort has no context argument; plans are built one at a time */
    qsort(sets[m].order, g->nids, sizeof *sets[m].order, cmp_id);
    for (size_t k = 1; k < g->nids; k++) {
      size_t a = sets[m].order[k - 1], b = sets[m].order[k];
      if (strcmp(g->ids[a], g->ids[b]) == 0) {
        st = cas_error_at(err, CAS_ERR_INPUT, g->file, g->id_line[b], g->id_col[b],
                          "mitigants[%zu].ids[%zu]: loan '%s' is already listed (ids[%zu])", m, b,
                          g->ids[b], a);
        break;
      }
    }
  }
  char buf[CAS_NAME_MAX + 64];
  for (size_t k = 0; st == CAS_OK && k < plan->n; k++) {
    size_t i = plan->loan_index[k];
    int city = pf->city[i] == CAS_NONE ? -2 : pf->city[i];
    const char *id = NULL;
    plan->pool_of[k] = CAS_NONE;
    /* every mitigant with ids looks the loan up (marking its ids seen),
     * even when an earlier one already covers it */
    for (size_t m = 0; m < sc->nmitigants; m++) {
      const cas_mitigant *g = &sc->mitigants[m];
      if (plan->pool_of[k] != CAS_NONE && !g->nids) continue;
      if ((g->region < 0 || g->region == pf->region[i]) && (g->sector < 0 || g->sector == pf->sector[i]) &&
          (g->city < 0 || g->city == city)) {
        if (g->nids) {
          if (!id) id = cas_portfolio_id(pf, i, buf, sizeof buf);
          if (!in_ids(&sets[m], id)) continue;
        }
        if (plan->pool_of[k] == CAS_NONE) plan->pool_of[k] = (uint16_t)m;
      }
    }
  }
  /* every listed id must be a loan the mitigant could cover */
  for (size_t m = 0; st == CAS_OK && m < sc->nmitigants; m++) {
    const cas_mitigant *g = &sc->mitigants[m];
    for (size_t k = 0; st == CAS_OK && k < g->nids; k++)
      if (!sets[m].seen[k])
        st = cas_error_at(err, CAS_ERR_INPUT, g->file, g->id_line[k], g->id_col[k],
                          "mitigants[%zu].ids[%zu]: the book has no loan '%s' in the mitigant's "
                          "region, sector and city", m, k, g->ids[k]);
  }
  for (size_t m = 0; sets && m < sc->nmitigants; m++) {
    free(sets[m].order);
    free(sets[m].seen);
  }
  free(sets);
  return st;
}

/* What a stochastic LGD model reads: each plan position's mean LGD, and by
 * segment the LGD's standard deviation and the systematic term's. */
static cas_status stochastic_lgd(const cas_scenario *sc, const cas_portfolio *pf, cas_plan *plan,
                                 cas_error *err) {
  size_t nseg = (size_t)plan->nsegments;
  plan->lgd_mean = malloc((plan->n ? plan->n : 1) * sizeof *plan->lgd_mean);
  plan->seg_lgd_sd = malloc(2 * (nseg ? nseg : 1) * sizeof *plan->seg_lgd_sd);
  if (!plan->lgd_mean || !plan->seg_lgd_sd)
    return cas_error_set(err, CAS_ERR_NOMEM, "out of memory (stochastic LGD of %zu loans)", plan->n);
  plan->seg_sys_sd = plan->seg_lgd_sd + nseg;
  for (size_t k = 0; k < plan->n; k++)
    plan->lgd_mean[k] = cas_plan_stressed_lgd(plan, pf, plan->loan_index[k]);
  for (size_t s = 0; s < nseg; s++) {
    plan->seg_lgd_sd[s] = sc->lgd_sd[cas_taxonomy_segment_sector(plan->tax, (int)s)];
    plan->seg_sys_sd[s] = sqrt(1.0 - plan->idio[s] * plan->idio[s]);
  }
  plan->lgd_downturn = sc->lgd_downturn;
  return CAS_OK;
}

double cas_plan_random_loss(const cas_plan *plan, uint64_t key, size_t k, int s, double sys) {
  double mean = plan->lgd_mean[k];
  if (!(mean > 0.0)) return 0.0;
  return plan->loans[k].loss / mean * cas_plan_loss_fraction(plan, key, k, s, sys);
}

double cas_plan_loss_fraction(const cas_plan *plan, uint64_t key, size_t k, int s, double sys) {
  double mean = plan->lgd_mean[k];
  if (!(mean > 0.0)) return 0.0;
  /* the loan's own stream on the path: a pcg64 seeded from the keyed hash */
  cas_rng rng;
  uint64_t h1 = (uint64_t)(cas_rng_keyed_next(key, 2 * (uint64_t)k) * 0x1.0p64);
  uint64_t h2 = (uint64_t)(cas_rng_keyed_next(key, 2 * (uint64_t)k + 1) * 0x1.0p64);
  cas_pcg64_seed(&rng, ((cas_u128)h1 << 64) | h2, (cas_u128)k);
  double sd_sys = plan->seg_sys_sd[s];
  double y = sd_sys > 0.0 ? sys / sd_sys : 0.0;
  return plan->lgd_model->loss_fraction(mean, plan->seg_lgd_sd[s], y, plan->lgd_downturn, &rng);
}

static int grade_of(double pd, int grades_per_decade) {
  if (grades_per_decade == 0) return 0;
  double g = floor(-(double)grades_per_decade * log10(pd));
  double top = (double)(grades_per_decade * CAS_PLAN_MIN_PD_DECADE);
  return (int)(g < 0.0 ? 0.0 : g > top ? top : g);
}

cas_stressed_pd cas_plan_stressed_pd(double pd, double odds_multiplier) {
  /* Both terms of the denominator are positive: no cancellation, and
   * 1 - pd is exact for pd >= 1/2 (Sterbenz), where it matters. With
   * m = 1 the denominator (1 - pd) + pd rounds to exactly 1. */
  double hit = odds_multiplier * pd, survive = 1.0 - pd;
  double total = survive + hit;
  return (cas_stressed_pd){hit / total, survive / total};
}

double cas_plan_threshold(const cas_copula_model *copula, cas_stressed_pd p) {
  return p.pd <= 0.5 ? copula->threshold(copula, p.pd) : copula->threshold_upper(copula, p.survival);
}

/* Counting sort of the loans into buckets: keys first (parallel), then the
 * stable scatter (sequential, so the order never depends on threads), then
 * the records (parallel). Grades come from the portfolio's PD, not the
 * stressed one: shocks multiply PDs segment by segment, so a bucket's PD
 * spread is the same either way, and the plan order then depends on the
 * portfolio alone. Two scenarios on one portfolio therefore give the dense
 * kernel the same draw for the same loan (common random numbers). */
/* The part of loan i's stressed EAD that no guarantee covers [CNY]. */
static double uncovered_ead(const cas_plan *plan, const cas_portfolio *pf,
                            const cas_plan_options *opt, size_t i) {
  double ead = cas_plan_stressed_ead(plan, pf, i);
  if (opt && opt->guaranteed) ead -= fmin(opt->guaranteed[i], ead);
  return ead;
}

enum { MERGE_DEFAULTS = 2 };   /* see build_buckets */

static cas_status build_buckets(cas_plan *plan, const cas_portfolio *pf,
                                const cas_plan_options *opt, cas_error *err) {
  size_t n = pf->n;
  int grades = plan->grades_per_decade;
  size_t per_segment = (size_t)grades * CAS_PLAN_MIN_PD_DECADE + 1;
  size_t nkeys = per_segment * (size_t)plan->nsegments;
  uint32_t *key = malloc((n ? n : 1) * sizeof *key);
  size_t *start = calloc(nkeys + 1, sizeof *start);
  if (!key || !start) {
    free(key);
    free(start);
    return cas_error_set(err, CAS_ERR_NOMEM, "out of memory sorting %zu loans into buckets", n);
  }
  #pragma omp parallel for schedule(static)
  for (size_t i = 0; i < n; i++) {
    int s = cas_plan_segment_of(plan, pf, i);
    key[i] = (uint32_t)((size_t)s * per_segment + (size_t)grade_of(pf->pd[i], grades));
  }
  for (size_t i = 0; i < n; i++) start[key[i] + 1]++;
  /* Sparse grades merged: a bucket costs a few normal CDFs and a binomial
   * draw per path whether or not it has candidates, and at 10^6 loans of
   * the built-in book 840 of 1,423 grades expect less than one default per
   * path between them. A bucket therefore takes in the safer grades of its
   * segment after it until it expects MERGE_DEFAULTS defaults per path at
   * the PD of its first grade's upper edge (count x 10^(-g / grades)), or
   * spans a decade of PD. Loans stay in key order, and the merge depends on
   * the portfolio's PDs alone, as the grades do. */
  uint8_t *opens = calloc(nkeys ? nkeys : 1, 1);   /* key k starts a bucket */
  if (!opens) {
    free(key);
    free(start);
    return cas_error_set(err, CAS_ERR_NOMEM, "out of memory sorting %zu loans into buckets", n);
  }
  size_t nonempty = 0;
  for (size_t k0 = 0; k0 < nkeys; k0 += per_segment) {
    long top = -1;              /* grade of the open bucket's first key */
    double loans_in = 0.0;
    for (size_t g = 0; g < per_segment; g++) {
      size_t c = start[k0 + g + 1];
      if (c == 0) continue;
      double edge = g == 0 ? 1.0 : pow(10.0, -(double)(top < 0 ? (long)g : top) / (grades ? grades : 1));
      if (top < 0 || grades == 0 || loans_in * edge >= MERGE_DEFAULTS ||
          (long)g - top >= grades) {
        opens[k0 + g] = 1;
        nonempty++;
        top = (long)g;
        loans_in = 0.0;
      }
      loans_in += (double)c;
    }
  }
  for (size_t k = 0; k < nkeys; k++) start[k + 1] += start[k];
  plan->buckets = calloc(nonempty ? nonempty : 1, sizeof *plan->buckets);
  if (!plan->buckets) {
    free(key);
    free(start);
    free(opens);
    return cas_error_set(err, CAS_ERR_NOMEM, "out of memory for %zu buckets", nonempty);
  }
  for (size_t k = 0, b = 0; k < nkeys; k++) {
    if (start[k + 1] == start[k]) continue;
    if (!opens[k]) {   /* a safer grade merged into the bucket before */
      plan->buckets[b - 1].count += (uint32_t)(start[k + 1] - start[k]);
      continue;
    }
    plan->buckets[b++] = (cas_bucket){
      .first = (uint32_t)start[k],
      .count = (uint32_t)(start[k + 1] - start[k]),
      .segment = (uint16_t)(k / per_segment),
      .grade = (uint16_t)(k % per_segment),
    };
  }
  free(opens);
  plan->nbuckets = nonempty;
  plan->bucket_jump = malloc((nonempty + 1) * sizeof *plan->bucket_jump);
  if (!plan->bucket_jump) {
    free(key);
    free(start);
    return cas_error_set(err, CAS_ERR_NOMEM, "out of memory for %zu buckets", nonempty);
  }
  for (size_t b = 0; b <= nonempty; b++) {
    uint64_t first = b < nonempty ? plan->buckets[b].first : (uint64_t)n;
    plan->bucket_jump[b] = cas_rng_jump_by((cas_u128)4 * first + (cas_u128)128 * b);
    if (b < nonempty && plan->buckets[b].count > plan->max_bucket) plan->max_bucket = plan->buckets[b].count;
  }
  for (size_t i = 0; i < n; i++) plan->loan_index[start[key[i]]++] = (uint32_t)i;
  free(key);
  free(start);

  /* Each loan's record is computed in portfolio order, reading the
   * portfolio's columns front to back, and stored at its plan position:
   * one store to a random place per loan, where reading the columns in
   * plan order took a cache miss in each of them (at 10^7 loans, half of
   * the plan's time). pos is loan_index inverted. */
  uint32_t *pos = malloc((n ? n : 1) * sizeof *pos);
  if (!pos) return cas_error_set(err, CAS_ERR_NOMEM, "out of memory sorting %zu loans into buckets", n);
  #pragma omp parallel for schedule(static)
  for (size_t k = 0; k < n; k++) pos[plan->loan_index[k]] = (uint32_t)k;
  enum { RECORDS = 4096 };
  const cas_copula_model *copula = plan->copula;
  #pragma omp parallel for schedule(static)
  for (size_t from = 0; from < n; from += RECORDS) {
    size_t to = from + RECORDS < n ? from + RECORDS : n;
    /* the copula's thresholds of the chunk's stressed PDs seen so far, by
     * the PD's bits (a direct-mapped cache): a book whose PDs come from a
     * rating scale repeats a few dozen of them, and a repeated PD takes
     * the same value without its quantile (Newton on the incomplete beta
     * function for the t copula); a book of distinct PDs pays a hash */
    enum { TCACHE = 256 };
    struct { cas_stressed_pd p; double t; int used; } tc[TCACHE];
    for (int j = 0; j < TCACHE; j++) tc[j].used = 0;
    for (size_t i = from; i < to; i++) {
      double lgd = cas_plan_stressed_lgd(plan, pf, i);
      /* a matured loan cannot default (and its EAD, so its loss, is 0) */
      double t = -INFINITY;
      if (!cas_plan_matured(plan, pf, i)) {
        cas_stressed_pd p = cas_plan_stressed_pd(pf->pd[i], cas_plan_pd_mult(plan, pf, i));
        uint64_t a, b;
        memcpy(&a, &p.pd, sizeof a);
        memcpy(&b, &p.survival, sizeof b);
        int j = (int)(cas_rng_mix64(a ^ (b * 0x9e3779b97f4a7c15ULL)) >> 56);   /* 8 bits */
        if (!tc[j].used || memcmp(&p.pd, &tc[j].p.pd, sizeof p.pd) != 0 ||
            memcmp(&p.survival, &tc[j].p.survival, sizeof p.survival) != 0) {
          tc[j].p = p;
          tc[j].t = cas_plan_threshold(copula, p);
          tc[j].used = 1;
        }
        t = tc[j].t;
      }
      if (opt && opt->threshold_group) t -= opt->threshold_offset[opt->threshold_group[i]];
      plan->loans[pos[i]] = (cas_plan_loan){t, uncovered_ead(plan, pf, opt, i) * lgd};
    }
  }
  free(pos);
  #pragma omp parallel for schedule(dynamic, 16)
  for (size_t b = 0; b < plan->nbuckets; b++) {
    cas_bucket *bk = &plan->buckets[b];
    double tmin = INFINITY, tmax = -INFINITY, same = NAN;
    for (size_t k = bk->first; k < (size_t)bk->first + bk->count; k++) {
      double t = plan->loans[k].threshold, l = plan->loans[k].loss;
      tmin = fmin(tmin, t);
      tmax = fmax(tmax, t);
      same = k == bk->first ? l : memcmp(&same, &l, sizeof l) == 0 ? same : NAN;
    }
    bk->threshold_min = tmin;
    bk->threshold_max = tmax;
    bk->same_loss = same;
  }
  return CAS_OK;
}

/* Analytic expected loss of the loan at plan position k, whose segment's
 * systematic term has mean mean_shift = a_s . mu under the scenario's
 * factor means: the copula's PD of its threshold under that shift times
 * its loss [CNY]. A per-loan term (e.g. a guarantee's double default)
 * belongs here. */
/* The threshold of the loan at plan position k without the offsets of
 * opt (the copula's threshold of its stressed PD). */
static double unshifted_threshold(const cas_plan *plan, const cas_plan_options *opt, size_t k) {
  double t = plan->loans[k].threshold;
  if (opt && opt->threshold_group) t += opt->threshold_offset[opt->threshold_group[plan->loan_index[k]]];
  return t;
}

/* The analytic expected loss [CNY] and expected number of defaults by
 * segment (plan->stressed), the one place they are computed, without
 * contagion: for each segment, the sums over its loans in plan order (its
 * buckets in grade order, portfolio order within a bucket) of the PD under
 * the shifted factor means times the loan's loss (its uncovered part x
 * LGD; the covered parts are added by the guarantee accounting,
 * cas_contagion_expected_double_default). A segment is summed by one thread
 * in that fixed order, so the result does not depend on the thread count.
 * Thresholds come from cas_plan_stressed_pd, so the PD stress is in, and
 * without the offsets of a calibration (which make contagion keep the
 * PDs); the factor means come in through mean_shift. Year 0's plan with a
 * costly copula keeps the values (plan.h, shifted_pd; without the memory
 * for them, it does not). */
static cas_status analytic_by_segment(cas_plan *plan, const cas_plan_options *opt, double *el,
                                      double *defaults, cas_error *err) {
  int nseg = plan->nsegments, nf = plan->nfactors;
  size_t *from = malloc(((size_t)nseg + 1) * sizeof *from);   /* buckets are segment-major */
  if (from == NULL) return cas_error_set(err, CAS_ERR_NOMEM, "out of memory (analytic loss)");
  double *keep = NULL, *keep_mean = NULL;
  if (plan->year == 0 && plan->copula->costly_pd) {
    keep = malloc((plan->n ? plan->n : 1) * sizeof *keep);
    keep_mean = malloc((size_t)(nseg ? nseg : 1) * sizeof *keep_mean);
    if (!keep || !keep_mean) {
      free(keep);
      free(keep_mean);
      keep = keep_mean = NULL;
    }
    for (size_t k = 0; keep && k < plan->n; k++) keep[k] = NAN;   /* positions in no bucket too */
  }
  size_t b = 0;
  for (int s = 0; s <= nseg; s++) {
    while (b < plan->nbuckets && plan->buckets[b].segment < s) b++;
    from[s] = b;
  }
  #pragma omp parallel for schedule(dynamic, 1)
  for (int s = 0; s < nseg; s++) {
    double mean_shift = 0.0;
    const double *a = cas_plan_loading(plan, s);
    for (int f = 0; f < nf; f++) mean_shift += a[f] * plan->shift[f];
    if (keep_mean) keep_mean[s] = mean_shift;
    cas_ksum sum = {0}, count = {0};   /* exact to rounding over a segment's loans (ksum.h) */
    /* the shifted PDs of the thresholds seen so far in the segment, by the
     * threshold's bits (as the thresholds themselves, build_buckets): a
     * repeated threshold takes the same value without the copula's
     * integral */
    enum { PCACHE = 256 };
    struct { double c, pd; int used; } pc[PCACHE];
    for (int j = 0; j < PCACHE; j++) pc[j].used = 0;
    for (size_t bb = from[s]; bb < from[s + 1]; bb++) {
      const cas_bucket *bk = &plan->buckets[bb];
      for (size_t k = bk->first; k < (size_t)bk->first + bk->count; k++) {
        double c = unshifted_threshold(plan, opt, k);
        if (c == -INFINITY) continue;   /* matured: PD 0 (adding 0 would change no bit) */
        uint64_t bits;
        memcpy(&bits, &c, sizeof bits);
        int j = (int)(cas_rng_mix64(bits) >> 56);
        if (!pc[j].used || memcmp(&pc[j].c, &c, sizeof c) != 0) {
          pc[j].c = c;
          pc[j].pd = plan->copula->shifted_pd(plan->copula, c, mean_shift);
          pc[j].used = 1;
        }
        double pd = pc[j].pd;
        if (keep && memcmp(&c, &plan->loans[k].threshold, sizeof c) == 0) keep[k] = pd;
        cas_ksum_add(&sum, pd * plan->loans[k].loss);
        cas_ksum_add(&count, pd);
      }
    }
    el[s] = cas_ksum_value(&sum);
    defaults[s] = cas_ksum_value(&count);
  }
  free(from);
  plan->shifted_pd = keep;
  plan->shifted_pd_mean = keep_mean;
  return CAS_OK;
}

/* Each plan position's stressed EAD (cas_plan_stressed_ead). */
static cas_status exposures(const cas_portfolio *pf, cas_plan *plan, cas_error *err) {
  plan->ead_of = malloc((plan->n ? plan->n : 1) * sizeof *plan->ead_of);
  if (!plan->ead_of) return cas_error_set(err, CAS_ERR_NOMEM, "out of memory (exposures)");
  #pragma omp parallel for schedule(static)
  for (size_t k = 0; k < plan->n; k++)
    plan->ead_of[k] = cas_plan_stressed_ead(plan, pf, plan->loan_index[k]);
  return CAS_OK;
}

/* 1 if every shock has the same values in year t as in year t - 1 (the
 * scenario's shocks and those its macro scenario derives). */
static int same_as_year_before(const cas_scenario *sc, int t) {
  for (size_t i = 0; i < sc->nshocks; i++) {
    const double *v = sc->shocks[i].by_year;
    if (v && memcmp(v + (size_t)t * CAS_SHOCK_NEFFECTS, v + (size_t)(t - 1) * CAS_SHOCK_NEFFECTS,
                    CAS_SHOCK_NEFFECTS * sizeof *v) != 0)
      return 0;
  }
  return 1;
}

/* The plan of the scenario's current year (cas_scenario_set_year). */
static cas_status build_year(cas_scenario *sc, const cas_portfolio *pf,
                             const cas_plan_options *opt, cas_plan **out, cas_error *err) {
  *out = NULL;
  int grades = opt ? opt->grades_per_decade : CAS_PLAN_DEFAULT_GRADES;
  if (grades < 0 || grades > CAS_PLAN_MAX_GRADES)
    return cas_error_set(err, CAS_ERR_USAGE, "PD grades per decade: got %d, expected 0 to %d",
                         grades, CAS_PLAN_MAX_GRADES);
  if (pf->n > UINT32_MAX)
    return cas_error_set(err, CAS_ERR_INPUT, "too many loans (got %zu, expected at most %u)", pf->n,
                         (unsigned)UINT32_MAX);
  const cas_copula_model *copula = cas_copula_lookup(sc->copula);
  const cas_lgd_model *lgd_model = cas_lgd_lookup(sc->lgd_model);
  if (!copula || !lgd_model)
    return cas_error_set(err, CAS_ERR_INTERNAL, "scenario names an unregistered model (%s, %s)",
                         sc->copula, sc->lgd_model);
  cas_status st = cas_scenario_bind(sc, pf->tax, err);
  if (st != CAS_OK) return st;
  cas_plan *plan = calloc(1, sizeof *plan);
  if (!plan) return cas_error_set(err, CAS_ERR_NOMEM, "out of memory building the plan");
  plan->n = pf->n;
  plan->year = sc->year;   /* before the loans: their EAD and maturity depend on it */
  plan->seed = sc->seed;
  plan->paths = sc->paths;
  plan->copula_model = *copula;
  if (copula->needs_df) plan->copula_model.df = sc->copula_df;
  plan->copula = &plan->copula_model;
  plan->lgd_model = lgd_model;
  plan->grades_per_decade = grades;
  plan->tax = sc->tax;
  plan->nsegments = sc->tax->nsegments;
  plan->nsectors = sc->tax->sectors.n;
  plan->nfactors = sc->factors->nfactors;
  size_t nf = (size_t)plan->nfactors, nseg = (size_t)plan->nsegments;
  plan->factor_mem = malloc((nf * nf + 2 * nf + nseg * nf + 6 * nseg) * sizeof(double));
  segment_shock *seg = malloc((nseg ? nseg : 1) * sizeof *seg);
  size_t n = pf->n ? pf->n : 1;
  plan->loans = malloc(n * sizeof *plan->loans);
  plan->loan_index = malloc(n * sizeof *plan->loan_index);
  if (!plan->loans || !plan->loan_index || !plan->factor_mem || !seg) {
    free(seg);
    cas_plan_destroy(plan);
    return cas_error_set(err, CAS_ERR_NOMEM, "out of memory: %zu loans need %zu bytes for the plan",
                         pf->n, pf->n * (sizeof(cas_plan_loan) + sizeof(uint32_t)));
  }
  plan->chol = plan->factor_mem;
  plan->shift = plan->chol + nf * nf;
  plan->shift_given = plan->shift + nf;
  plan->loading = plan->shift_given + nf;
  plan->idio = plan->loading + nseg * nf;
  plan->seg_pd_mult = plan->idio + nseg;
  plan->seg_lgd_add = plan->seg_pd_mult + nseg;
  plan->seg_ead_mult = plan->seg_lgd_add + nseg;
  plan->seg_ccf_add = plan->seg_ead_mult + nseg;
  plan->seg_haircut = plan->seg_ccf_add + nseg;
  st = build_factors(sc, plan, err);
  fold_shocks(sc, plan, seg, plan->shift_given);
  if (st == CAS_OK) st = factor_means(sc, plan, plan->shift_given, plan->shift, err);
  for (size_t s = 0; s < nseg; s++) {
    plan->seg_pd_mult[s] = seg[s].pd_mult;
    plan->seg_lgd_add[s] = seg[s].lgd_add;
    plan->seg_ead_mult[s] = seg[s].ead_mult;
    plan->seg_ccf_add[s] = seg[s].ccf_add;
    plan->seg_haircut[s] = seg[s].haircut;
  }
  if (st == CAS_OK) st = city_classes(sc, pf, plan, seg, err);
  if (st == CAS_OK) st = build_buckets(plan, pf, opt, err);
  if (st == CAS_OK && lgd_model->stochastic) st = stochastic_lgd(sc, pf, plan, err);
  if (st == CAS_OK && sc->nmitigants) st = cover_by_pools(sc, pf, plan, err);
  if (st == CAS_OK && (sc->realised_lgd == CAS_REALISED_LGD_ON ||
                       (sc->realised_lgd == CAS_REALISED_LGD_AUTO && lgd_model->stochastic)))
    st = exposures(pf, plan, err);
  free(seg);

  /* Totals in loan order, so they do not depend on the thread count. */
  if (st == CAS_OK) st = cas_portfolio_totals(pf, &plan->unstressed, err);
  if (st == CAS_OK) st = cas_segment_totals_init(&plan->stressed, plan->nsegments, err);
  if (st == CAS_OK) {
    cas_ksum *ead = calloc(nseg ? nseg : 1, sizeof *ead);
    if (!ead) st = cas_error_set(err, CAS_ERR_NOMEM, "out of memory (segment totals)");
    for (size_t i = 0; ead && i < pf->n; i++) {
      int s = cas_plan_segment_of(plan, pf, i);
      plan->stressed.loans[s]++;
      cas_ksum_add(&ead[s], cas_plan_stressed_ead(plan, pf, i));
    }
    for (size_t s = 0; ead && s < nseg; s++) plan->stressed.ead[s] = cas_ksum_value(&ead[s]);
    free(ead);
  }
  if (st == CAS_OK) {
    st = analytic_by_segment(plan, opt, plan->stressed.expected_loss,
                             plan->stressed.expected_defaults, err);
  }
  if (st != CAS_OK) {
    cas_plan_destroy(plan);
    return st;
  }
  plan->years = 1;
  *out = plan;
  return CAS_OK;
}

cas_status cas_plan_build(cas_scenario *sc, const cas_portfolio *pf,
                          const cas_plan_options *opt, cas_plan **out, cas_error *err) {
  *out = NULL;
  int years = sc->horizon_years > 1 ? sc->horizon_years : 1;
  cas_scenario_set_year(sc, 0);
  cas_plan *plan = NULL;
  cas_status st = build_year(sc, pf, opt, &plan, err);
  if (st != CAS_OK || years == 1) {
    *out = plan;
    return st;
  }
  plan->factor_ar = sc->factor_autocorrelation;
  plan->year_plan = calloc((size_t)years, sizeof *plan->year_plan);
  if (!plan->year_plan) st = cas_error_set(err, CAS_ERR_NOMEM, "out of memory (plans by year)");
  else {
    plan->years = years;
    plan->year_plan[0] = plan;
  }
  for (int t = 1; st == CAS_OK && t < years; t++) {
    /* one plan serves both years when nothing changes: memory and cache
     * (loans that mature or amortise change every year) */
    if (!pf->maturity && same_as_year_before(sc, t)) {
      plan->year_plan[t] = plan->year_plan[t - 1];
      continue;
    }
    cas_scenario_set_year(sc, t);
    st = build_year(sc, pf, opt, &plan->year_plan[t], err);
    if (st == CAS_OK) plan->year_plan[t]->factor_ar = plan->factor_ar;
    /* the kernels, the loans that leave the book and the network read plan
     * positions as the same loans every year: the order is the portfolio's */
    if (st == CAS_OK && (plan->year_plan[t]->nbuckets != plan->nbuckets ||
                         memcmp(plan->year_plan[t]->loan_index, plan->loan_index,
                                plan->n * sizeof *plan->loan_index) != 0))
      st = cas_error_set(err, CAS_ERR_INTERNAL, "the plan of year %d orders the loans otherwise",
                         t + 1);
  }
  cas_scenario_set_year(sc, 0);
  if (st != CAS_OK) {
    cas_plan_destroy(plan);
    return st;
  }
  *out = plan;
  return CAS_OK;
}

void cas_plan_destroy(cas_plan *plan) {
  if (!plan) return;
  if (plan->year_plan)   /* a year may share the plan of the year before */
    for (int t = 1; t < plan->years; t++)
      if (plan->year_plan[t] != plan->year_plan[t - 1]) cas_plan_destroy(plan->year_plan[t]);
  free(plan->year_plan);
  free(plan->loans);
  free(plan->loan_index);
  free(plan->buckets);
  free(plan->bucket_jump);
  free(plan->factor_mem);
  free(plan->nz_start);
  free(plan->nz_factor);
  free(plan->nz_loading);
  free(plan->loan_class);
  free(plan->lgd_mean);
  free(plan->pool_of);
  free(plan->ead_of);
  free(plan->seg_lgd_sd);
  free(plan->cls_pd_mult);
  free(plan->shifted_pd);
  free(plan->shifted_pd_mean);
  cas_segment_totals_free(&plan->unstressed);
  cas_segment_totals_free(&plan->stressed);
  free(plan);
}

size_t cas_plan_bytes(const cas_plan *plan) {
  size_t later = 0;
  for (int t = 1; t < plan->years; t++)
    if (plan->year_plan[t] != plan->year_plan[t - 1]) later += cas_plan_bytes(plan->year_plan[t]);
  return later + plan->n * (sizeof *plan->loans + sizeof *plan->loan_index) +
         (plan->ead_of ? plan->n * sizeof *plan->ead_of : 0) +
         plan->nbuckets * sizeof *plan->buckets +
         (plan->loan_class ? plan->n * sizeof *plan->loan_class : 0);
}
