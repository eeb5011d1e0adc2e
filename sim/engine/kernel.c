/*
 * kernel.c: per-path results, and what every kernel shares: the driver over
 * paths and the start and end of a path. The kernels themselves and their
 * registry are in models/kernels.
 */
#include "kernel.h"

#include <omp.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rng.h"
#include "stats.h"

cas_status cas_results_create(uint64_t paths, uint32_t rounds_cap, int guarantees,
                              cas_results **out, cas_error *err) {
  *out = NULL;
  cas_results *res = calloc(1, sizeof *res);
  if (!res) return cas_error_set(err, CAS_ERR_NOMEM, "out of memory for results");
  res->paths = paths;
  res->all_paths = paths;
  res->rounds_cap = rounds_cap;
  res->store_segments = 1;
  res->loss = calloc(paths, sizeof *res->loss);
  res->defaults = calloc(paths, sizeof *res->defaults);
  int ok = res->loss && res->defaults;
  if (ok && guarantees) {
    res->loss_double_default = calloc(paths, sizeof *res->loss_double_default);
    ok = res->loss_double_default != NULL;
  }
  if (ok && rounds_cap) {
    res->loss_contagion = calloc(paths, sizeof *res->loss_contagion);
    res->defaults_by_round = calloc(paths * rounds_cap, sizeof *res->defaults_by_round);
    res->rounds = calloc(paths, sizeof *res->rounds);
    res->truncated = calloc(paths, sizeof *res->truncated);
    ok = res->loss_contagion && res->defaults_by_round && res->rounds && res->truncated;
  }
  if (!ok) {
    cas_results_destroy(res);
    return cas_error_set(err, CAS_ERR_NOMEM, "out of memory for the results of %llu paths",
                         (unsigned long long)paths);
  }
  *out = res;
  return CAS_OK;
}

void cas_results_store_segments(cas_results *res, int store) { res->store_segments = store != 0; }

void cas_results_set_slice(cas_results *res, uint64_t first_path, uint64_t all_paths) {
  res->first_path = first_path;
  res->all_paths = all_paths;
}

cas_status cas_results_add_grouping(cas_results *res, const char *name, int ngroups,
                                    const uint16_t *group_of, int nsegments, cas_error *err) {
  if (res->ngroupings == CAS_MAX_GROUPINGS || res->factors != NULL)
    return cas_error_set(err, CAS_ERR_INTERNAL, "grouping '%s': too many, or added after a run",
                         name);
  cas_grouping *g = &res->grouping[res->ngroupings];
  *g = (cas_grouping){.ngroups = ngroups};
  snprintf(g->name, sizeof g->name, "%s", name);
  g->group_of = malloc((size_t)(nsegments > 0 ? nsegments : 1) * sizeof *g->group_of);
  if (!g->group_of) return cas_error_set(err, CAS_ERR_NOMEM, "out of memory (grouping %s)", name);
  memcpy(g->group_of, group_of, (size_t)nsegments * sizeof *g->group_of);
  res->ngroupings++;
  return CAS_OK;
}

/* Sums by segment: at most this many doubles per array, whatever the
 * numbers of paths and segments (the chunks grow instead). */
enum { SUMS_BUDGET = 1 << 21, PATH_BLOCK = 8 };

uint64_t cas_results_unit(uint64_t all_paths, int nsegments, int store_segments) {
  if (store_segments) return PATH_BLOCK;
  uint64_t chunk = (all_paths * (uint64_t)(nsegments > 0 ? nsegments : 0) + SUMS_BUDGET - 1) / SUMS_BUDGET;
  return chunk < PATH_BLOCK ? PATH_BLOCK : chunk;
}

void cas_results_each_row_array(cas_results *res, void (*fn)(void *ctx, void *array, size_t row_bytes),
                                void *ctx) {
  size_t nseg = (size_t)res->nsegments, nf = (size_t)res->nfactors, years = (size_t)res->years;
  size_t cells = years * (size_t)res->npools;
#define ROWS(a, width) \
  if (res->a && (width) > 0) fn(ctx, res->a, (width) * sizeof *res->a)
  ROWS(loss, 1);
  ROWS(defaults, 1);
  ROWS(factors, nf);
  ROWS(loss_by_segment, nseg);
  ROWS(defaults_by_segment, nseg);
  ROWS(ead_defaulted, 1);
  ROWS(weight, 1);
  ROWS(loss_cumulative, years);
  ROWS(defaults_by_year, years);
  ROWS(ead_defaulted_by_year, years);
  ROWS(factors_by_year, years * nf);
  ROWS(loss_net, 1);
  ROWS(pool_payout, cells);
  ROWS(pool_dry, cells);
  ROWS(loss_net_cumulative, years);
  ROWS(loss_double_default, 1);
  ROWS(loss_contagion, 1);
  ROWS(contagion_by_segment, nseg);
  ROWS(defaults_by_round, (size_t)res->rounds_cap);
  ROWS(rounds, 1);
  ROWS(truncated, 1);
#undef ROWS
  for (int k = 0; k < res->ngroupings; k++) {
    cas_grouping *g = &res->grouping[k];
    size_t w = (size_t)g->ngroups;
    if (g->loss) fn(ctx, g->loss, w * sizeof *g->loss);
    if (g->defaults) fn(ctx, g->defaults, w * sizeof *g->defaults);
    if (g->contagion) fn(ctx, g->contagion, w * sizeof *g->contagion);
  }
}

/* The rows whose width the plan gives, allocated on the first run. */
cas_status cas_results_shape(cas_results *res, const cas_plan *plan, cas_error *err) {
  if (res->factors != NULL) {
    if (res->nsegments == plan->nsegments && res->nfactors == plan->nfactors &&
        res->years == plan->years)
      return CAS_OK;
    return cas_error_set(err, CAS_ERR_INTERNAL,
                         "results of %d segments and %d factors reused for a plan of %d and %d",
                         res->nsegments, res->nfactors, plan->nsegments, plan->nfactors);
  }
  size_t paths = res->paths, nseg = (size_t)plan->nsegments, nf = (size_t)plan->nfactors;
  int contagion = res->rounds_cap > 0;
  res->nsegments = plan->nsegments;
  res->nfactors = plan->nfactors;
  res->factors = calloc(paths * nf, sizeof *res->factors);
  int ok = res->factors != NULL;
  size_t years = (size_t)plan->years;
  res->years = plan->years;
  if (ok && plan->ead_of) {
    res->ead_defaulted = calloc(paths, sizeof *res->ead_defaulted);
    ok = res->ead_defaulted != NULL;
  }
  if (ok && years > 1) {
    res->loss_cumulative = calloc(paths * years, sizeof *res->loss_cumulative);
    res->defaults_by_year = calloc(paths * years, sizeof *res->defaults_by_year);
    res->factors_by_year = calloc(paths * years * (nf ? nf : 1), sizeof *res->factors_by_year);
    if (plan->ead_of) res->ead_defaulted_by_year = calloc(paths * years, sizeof *res->ead_defaulted_by_year);
    ok = res->loss_cumulative && res->defaults_by_year && res->factors_by_year &&
         (!plan->ead_of || res->ead_defaulted_by_year);
  }
  if (ok && plan->npools) {
    size_t cells = paths * years * (size_t)plan->npools;
    res->npools = plan->npools;
    res->loss_net = calloc(paths, sizeof *res->loss_net);
    res->pool_payout = calloc(cells, sizeof *res->pool_payout);
    res->pool_dry = calloc(cells, sizeof *res->pool_dry);
    ok = res->loss_net && res->pool_payout && res->pool_dry;
    if (ok && years > 1) {
      res->loss_net_cumulative = calloc(paths * years, sizeof *res->loss_net_cumulative);
      ok = res->loss_net_cumulative != NULL;
    }
  }
  if (ok && res->store_segments) {
    res->loss_by_segment = calloc(paths * nseg, sizeof *res->loss_by_segment);
    res->defaults_by_segment = calloc(paths * nseg, sizeof *res->defaults_by_segment);
    if (contagion) res->contagion_by_segment = calloc(paths * nseg, sizeof *res->contagion_by_segment);
    ok = res->loss_by_segment && res->defaults_by_segment && (!contagion || res->contagion_by_segment);
  }
  if (ok && !res->store_segments) {
    cas_segment_sums *sm = &res->sums;
    sm->chunk_paths = cas_results_unit(res->all_paths, plan->nsegments, 0);
    if (res->first_path % sm->chunk_paths != 0)
      return cas_error_set(err, CAS_ERR_INTERNAL, "a slice of results from path %llu, not a multiple of %llu",
                           (unsigned long long)res->first_path, (unsigned long long)sm->chunk_paths);
    sm->nchunks = (paths + sm->chunk_paths - 1) / sm->chunk_paths;
    size_t cells = (size_t)(sm->nchunks ? sm->nchunks : 1) * nseg;
    sm->loss_chunk = calloc(cells, sizeof *sm->loss_chunk);
    if (contagion) sm->contagion_chunk = calloc(cells, sizeof *sm->contagion_chunk);
    ok = sm->loss_chunk && (!contagion || sm->contagion_chunk);
  }
  for (int k = 0; ok && k < res->ngroupings; k++) {
    cas_grouping *g = &res->grouping[k];
    size_t cells = paths * (size_t)g->ngroups;
    g->loss = calloc(cells, sizeof *g->loss);
    g->defaults = calloc(cells, sizeof *g->defaults);
    if (contagion) g->contagion = calloc(cells, sizeof *g->contagion);
    ok = g->loss && g->defaults && (!contagion || g->contagion);
  }
  if (!ok)
    return cas_error_set(err, CAS_ERR_NOMEM,
                         "out of memory for the results of %zu paths by %zu segments", paths, nseg);
  return CAS_OK;
}

void cas_results_destroy(cas_results *res) {
  if (!res) return;
  free(res->loss);
  free(res->loss_by_segment);
  free(res->defaults);
  free(res->factors);
  free(res->defaults_by_segment);
  free(res->loss_double_default);
  free(res->loss_net);
  free(res->pool_payout);
  free(res->pool_dry);
  free(res->loss_net_cumulative);
  free(res->loss_cumulative);
  free(res->defaults_by_year);
  free(res->ead_defaulted_by_year);
  free(res->factors_by_year);
  free(res->ead_defaulted);
  free(res->loss_contagion);
  free(res->contagion_by_segment);
  free(res->defaults_by_round);
  free(res->rounds);
  free(res->truncated);
  for (int k = 0; k < res->ngroupings; k++) {
    free(res->grouping[k].group_of);
    free(res->grouping[k].loss);
    free(res->grouping[k].defaults);
    free(res->grouping[k].contagion);
  }
  free(res->sums.loss_chunk);
  free(res->sums.contagion_chunk);
  free(res->sums.defaults);
  free(res->sums.defaults_sq);
  free(res->sums.wrate_chunk);
  free(res->sums.wrate2_chunk);
  free(res->weight);
  free(res);
}

void cas_results_segment_means(const cas_results *res, const uint64_t *loans, double *el,
                               double *rate, double *rate_se) {
  int nseg = res->nsegments;
  uint64_t paths = res->rows_run;
  double m = (double)(paths ? paths : 1);
  for (int s = 0; s < nseg; s++) el[s] = 0.0;
  if (res->store_segments) {
    /* In path order, as the summary always summed them. */
    for (uint64_t p = 0; p < paths; p++)
      for (int s = 0; s < nseg; s++)
        el[s] += cas_results_weight(res, p) * res->loss_by_segment[p * (uint64_t)nseg + (uint64_t)s];
    for (int s = 0; s < nseg; s++) el[s] /= m;
    cas_default_rates(paths, nseg, res->defaults_by_segment, loans, res->weight, rate, rate_se);
    return;
  }
  const cas_segment_sums *sm = &res->sums;
  for (uint64_t c = 0; c < sm->nchunks; c++)
    for (int s = 0; s < nseg; s++) el[s] += sm->loss_chunk[c * (uint64_t)nseg + (uint64_t)s];
  if (sm->wrate_chunk) {
    for (int s = 0; s < nseg; s++) {
      double a = 0.0, b = 0.0;
      for (uint64_t c = 0; c < sm->nchunks; c++) {
        a += sm->wrate_chunk[c * (uint64_t)nseg + (uint64_t)s];
        b += sm->wrate2_chunk[c * (uint64_t)nseg + (uint64_t)s];
      }
      el[s] /= m;
      rate[s] = a / m;
      double var = paths > 1 ? (b - a * a / m) / (m - 1.0) : 0.0;
      rate_se[s] = sqrt(var > 0.0 ? var : 0.0) / sqrt(m);
    }
    return;
  }
  for (int s = 0; s < nseg; s++) {
    el[s] /= m;
    rate[s] = rate_se[s] = 0.0;
    if (loans[s] == 0 || paths == 0) continue;
    uint64_t d = 0;
    unsigned __int128 d2 = 0;
    for (int t = 0; t < sm->threads; t++) {
      d += sm->defaults[(size_t)t * nseg + s];
      d2 += sm->defaults_sq[(size_t)t * nseg + s];
    }
    /* exact integer sums: the variance of the counts from their moments */
    long double n = (long double)loans[s], mean = (long double)d / m;
    long double var = paths > 1 ? ((long double)d2 - mean * (long double)d) / (m - 1.0L) : 0.0L;
    rate[s] = (double)(mean / n);
    rate_se[s] = (double)(sqrtl(var > 0.0L ? var : 0.0L) / sqrtl((long double)m) / n);
  }
}

double cas_kernel_path_begin(const cas_plan *plan, cas_results *res, cas_path_rows *rows) {
  int nf = plan->nfactors, nseg = plan->nsegments;
  double *u = rows->u, *sys = rows->sys, *z;
  cas_rng *rng = &rows->factor_rng;
  int first = rows->year == 0;
  if (first) cas_rng_init(rng, plan->seed, CAS_RNG_FACTORS, plan->first_stream + rows->path);
  for (int f = 0; f < nf; f++) u[f] = cas_rng_normal(rng);
  if (rows->is_shift) {
    /* importance sampling: u ~ N(mu, I) instead of N(0, I) (unless the
     * path is one of the defensive mixture's plain ones); log_weight
     * gathers log g(u) / phi(u) = mu . u - |mu|^2 / 2 at the u used */
    const double *mu = &rows->is_shift[(size_t)rows->year * (size_t)nf];
    if (first) {
      double a = rows->is_plain_share, p = (double)rows->path;
      rows->is_plain = a > 0.0 && floor((p + 1.0) * a) > floor(p * a);
      rows->log_weight = 0.0;
    }
    for (int f = 0; f < nf; f++) {
      if (!rows->is_plain) u[f] += mu[f];
      rows->log_weight += mu[f] * u[f] - 0.5 * mu[f] * mu[f];
    }
  }
  if (first) {
    z = &res->factors[rows->row * (uint64_t)nf];
    for (int f = 0; f < nf; f++) {
      double s = plan->shift[f];
      const double *l = &plan->chol[(size_t)f * (size_t)nf];
      for (int g = 0; g <= f; g++) s += l[g] * u[g];
      z[f] = s;
    }
    if (rows->years > 1) {   /* the latent factors, without the year's shifts */
      double *kept = &res->factors_by_year[rows->row * (uint64_t)rows->years * (uint64_t)nf];
      for (int f = 0; f < nf; f++) {
        rows->x[f] = z[f] - plan->shift[f];
        kept[f] = z[f];
      }
    }
  } else {
    /* x_t = rho x_{t-1} + sqrt(1 - rho^2) chol u_t: stationary, each year's
     * x ~ N(0, C) as in a one-year run; z_t = x_t + the year's shifts */
    double rho = plan->factor_ar, w = sqrt(1.0 - rho * rho);
    z = &res->factors_by_year[(rows->row * (uint64_t)rows->years + (uint64_t)rows->year) * (uint64_t)nf];
    for (int f = 0; f < nf; f++) {
      double e = 0.0;
      const double *l = &plan->chol[(size_t)f * (size_t)nf];
      for (int g = 0; g <= f; g++) e += l[g] * u[g];
      rows->x[f] = rho * rows->x[f] + w * e;
      z[f] = rows->x[f] + plan->shift[f];
    }
  }
  if (first) {
    if (res->store_segments) {
      uint64_t at = rows->row * (uint64_t)nseg;
      rows->seg_loss = &res->loss_by_segment[at];
      rows->seg_defaults = &res->defaults_by_segment[at];
      rows->seg_contagion = res->contagion_by_segment ? &res->contagion_by_segment[at] : NULL;
    } else {
      rows->seg_loss = rows->own_loss;
      rows->seg_defaults = rows->own_defaults;
      rows->seg_contagion = res->rounds_cap ? rows->own_contagion : NULL;
    }
    for (int s = 0; s < nseg; s++) {
      rows->seg_loss[s] = 0.0;
      rows->seg_defaults[s] = 0;
    }
    for (int k = 0; k < plan->npools; k++) rows->pool_paid[k] = 0.0;
  }
  rows->year_ead = 0.0;
  /* claims are the year's (a pool's caps apply by year and over the horizon) */
  rows->pool_claims = plan->npools ? rows->own_claims : NULL;
  for (int k = 0; k < plan->npools; k++) rows->pool_claims[k] = 0.0;
  /* a_s . z over the segment's non-zero loadings, in factor order: the
   * same sum as over every factor (the zero terms add nothing), at the
   * cost of one term per family instead of one per factor. */
  for (int s = 0; s < nseg; s++) {
    double v = 0.0;
    for (uint32_t k = plan->nz_start[s]; k < plan->nz_start[s + 1]; k++)
      v += plan->nz_loading[k] * z[plan->nz_factor[k]];
    sys[s] = v;
  }
  return plan->copula->path_scale(plan->copula, rng);
}

/* Multi-year, after a path: the loans that left the book return for the
 * next path (in the thread's bitmap and in its cascade workspace's). */
static void return_to_book(cas_path_rows *rows, size_t n) {
  uint64_t *dbits = rows->ws ? rows->ws->dbits : NULL;
  if (rows->ndead <= rows->dead_cap) {
    for (size_t k = 0; k < rows->ndead; k++) {
      uint32_t pos = rows->dead_list[k];
      rows->dead[pos >> 3] = 0;
      if (dbits) dbits[pos >> 6] = 0;   /* whole words: the cascade's begin does the same */
    }
  } else {
    memset(rows->dead, 0, (n + 7) / 8);
    if (dbits) memset(dbits, 0, (n + 63) / 64 * sizeof *dbits);
  }
  rows->ndead = 0;
}

void cas_kernel_cascade_begin(cas_cascade_ws *ws, cas_path_rows *rows) {
  /* a later year keeps the earlier years' defaults marked; they are
   * cleared after the path (return_to_book) */
  if (rows->dead && rows->year > 0)
    cas_cascade_begin_year(ws);
  else
    cas_cascade_begin(ws);
  ws->year = rows->year;
}

/* The path's weight: phi(u) over the density it was drawn from, the
 * shifted one or the defensive mixture (cas_kernel_options). */
static double path_weight(const cas_path_rows *rows) {
  if (!rows->is_shift) return 1.0;
  double f = rows->is_plain_fraction;
  if (!(f > 0.0)) return exp(-rows->log_weight);
  return 1.0 / (f + (1.0 - f) * exp(rows->log_weight));
}

/* The path's segment values into the groupings and the sums. */
static void fold(cas_results *res, const cas_path_rows *rows) {
  int nseg = res->nsegments;
  double w = path_weight(rows);
  for (int k = 0; k < res->ngroupings; k++) {
    const cas_grouping *g = &res->grouping[k];
    uint64_t at = rows->row * (uint64_t)g->ngroups;
    double *loss = &g->loss[at], *cont = g->contagion ? &g->contagion[at] : NULL;
    int32_t *def = &g->defaults[at];
    for (int j = 0; j < g->ngroups; j++) {
      loss[j] = 0.0;
      def[j] = 0;
      if (cont) cont[j] = 0.0;
    }
    for (int s = 0; s < nseg; s++) {   /* in segment order: deterministic */
      int j = g->group_of[s];
      loss[j] += rows->seg_loss[s];
      def[j] += rows->seg_defaults[s];
      if (cont) cont[j] += rows->seg_contagion[s];
    }
  }
  if (res->store_segments) return;
  cas_segment_sums *sm = &res->sums;
  uint64_t at = rows->row / sm->chunk_paths * (uint64_t)nseg;
  uint64_t *d = &sm->defaults[(size_t)rows->thread * nseg];
  unsigned __int128 *d2 = &sm->defaults_sq[(size_t)rows->thread * nseg];
  for (int s = 0; s < nseg; s++) {
    sm->loss_chunk[at + s] += w * rows->seg_loss[s];
    if (sm->contagion_chunk) sm->contagion_chunk[at + s] += w * rows->seg_contagion[s];
    uint64_t x = (uint64_t)rows->seg_defaults[s];
    d[s] += x;
    d2[s] += (unsigned __int128)x * x;
    if (sm->wrate_chunk && res->seg_loans[s] > 0) {
      double r = w * (double)x / (double)res->seg_loans[s];
      sm->wrate_chunk[at + s] += r;
      sm->wrate2_chunk[at + s] += r * r;
    }
  }
}

void cas_kernel_path_end(const cas_plan *plan, const cas_contagion *contagion, cas_results *res,
                         cas_cascade_ws *ws, cas_path_rows *rows, double scale, cas_rng *rng,
                         int64_t defaults) {
  int nseg = plan->nsegments;
  uint64_t row = rows->row;
  double *seg_loss = rows->seg_loss;
  if (contagion) {
    /* With more than one year the cascade's per-path values are the
     * year's, added up over the years (rounds: the longest) */
    int cascade = contagion->model->spreads, later = rows->year > 0;
    int own = rows->years > 1;
    double *cseg = !cascade ? NULL : own ? rows->year_contagion : rows->seg_contagion;
    int32_t *by_round = !cascade ? NULL : own ? rows->year_rounds
                                              : &res->defaults_by_round[row * res->rounds_cap];
    cas_cascade_out out = {
      .sink = rows->sink.fn ? &rows->sink : NULL,
      .factor_seg_loss = seg_loss,
      .seg_loss = cseg,
      .seg_defaults = rows->seg_defaults,
      .by_round = by_round,
      .pool_claims = rows->pool_claims,
    };
    cas_cascade_run(contagion, plan, ws, rows->path, rows->sys, scale, rng, &out);
    if (res->loss_double_default)
      res->loss_double_default[row] =
          later ? res->loss_double_default[row] + out.double_default : out.double_default;
    if (cascade) {
      double c = 0.0;
      for (int s = 0; s < nseg; s++) {
        seg_loss[s] += cseg[s];
        c += cseg[s];
      }
      if (own) {
        int32_t *stored = &res->defaults_by_round[row * res->rounds_cap];
        for (uint32_t r = 0; r < res->rounds_cap; r++)
          stored[r] = later ? stored[r] + by_round[r] : by_round[r];
        if (rows->seg_contagion)
          for (int s = 0; s < nseg; s++)
            rows->seg_contagion[s] = later ? rows->seg_contagion[s] + cseg[s] : cseg[s];
      }
      res->loss_contagion[row] = later ? res->loss_contagion[row] + c : c;
      res->rounds[row] = later && res->rounds[row] > out.rounds ? res->rounds[row] : out.rounds;
      res->truncated[row] = (uint8_t)(later ? res->truncated[row] | out.truncated : out.truncated);
    }
    defaults = (int64_t)ws->ndefaulted;
    if (plan->ead_of)
      for (size_t d = ws->n0; d < ws->ndefaulted; d++) rows->year_ead += plan->ead_of[ws->defaulted[d]];
    if (rows->dead)   /* the cascade's defaults leave the book too */
      for (size_t d = 0; d < ws->ndefaulted; d++) (void)cas_path_left_book(rows, ws->defaulted[d]);
  }
  /* segment values add up over the years: the totals are cumulative */
  double total = 0.0;
  for (int s = 0; s < nseg; s++) total += seg_loss[s];
  int t = rows->year, years = rows->years;
  res->loss[row] = total;
  res->defaults[row] = t == 0 ? defaults : res->defaults[row] + defaults;
  if (res->ead_defaulted)
    res->ead_defaulted[row] = t == 0 ? rows->year_ead : res->ead_defaulted[row] + rows->year_ead;
  if (years > 1) {
    res->loss_cumulative[row * (uint64_t)years + (uint64_t)t] = total;
    res->defaults_by_year[row * (uint64_t)years + (uint64_t)t] = (int32_t)defaults;
    if (res->ead_defaulted_by_year)
      res->ead_defaulted_by_year[row * (uint64_t)years + (uint64_t)t] = rows->year_ead;
  }
  if (plan->npools) {
    /* each pool pays the year's claims up to its cap per year and what is
     * left of its cap over the horizon (paid so far: rows->pool_paid) */
    int np = plan->npools;
    double paid = 0.0;
    uint64_t at = (row * (uint64_t)years + (uint64_t)t) * (uint64_t)np;
    double *payout = &res->pool_payout[at];
    uint8_t *dry = &res->pool_dry[at];
    for (int p = 0; p < np; p++) {
      const cas_mitigant *m = &plan->pools[p];
      double c = rows->pool_claims[p], left = m->cap - rows->pool_paid[p];
      int year_cap = m->cap_per_year < left;
      double limit = year_cap ? m->cap_per_year : left;
      payout[p] = c < limit ? c : limit;
      dry[p] = (uint8_t)(c >= limit);
      /* the horizon's cap reached: paid is the cap exactly (no rounding) */
      rows->pool_paid[p] = !year_cap && c >= left ? m->cap : rows->pool_paid[p] + payout[p];
      paid += rows->pool_paid[p];
    }
    res->loss_net[row] = total - paid;
    if (years > 1) res->loss_net_cumulative[row * (uint64_t)years + (uint64_t)t] = total - paid;
  }
  if (t == years - 1 && (res->ngroupings || !res->store_segments)) fold(res, rows);
}

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

cas_status cas_kernel_run(const cas_kernel *kernel, const cas_plan *plan,
                          const cas_contagion *contagion, cas_results *res,
                          const cas_kernel_options *opt, cas_error *err) {
  const uint64_t *path_of = opt ? opt->path_of : NULL;
  uint64_t nrows = path_of ? res->paths
                   : plan->paths > res->first_path ? plan->paths - res->first_path : 0;
  if (opt && opt->limit_rows) nrows = opt->rows;
  if (nrows > res->paths)
    return cas_error_set(err, CAS_ERR_INTERNAL, "results of %llu rows for %llu paths",
                         (unsigned long long)res->paths, (unsigned long long)nrows);
  if (contagion && contagion->model->spreads && res->rounds_cap < contagion->max_rounds + 1)
    return cas_error_set(err, CAS_ERR_INTERNAL, "results without room for the cascade's rounds");
  uint64_t done = 0;
  double last_report = now_seconds();
  int threads = opt && opt->threads > 0 ? opt->threads : omp_get_max_threads();

  cas_status st = cas_results_shape(res, plan, err);
  if (st != CAS_OK) return st;
  const double *is_shift = opt ? opt->is_shift : NULL;
  if (is_shift && !res->weight) {
    res->weight = calloc(res->paths ? res->paths : 1, sizeof *res->weight);
    if (!res->weight) return cas_error_set(err, CAS_ERR_NOMEM, "out of memory for the path weights");
  }
  if (is_shift && !res->store_segments && !res->sums.wrate_chunk) {
    size_t cells = (size_t)(res->sums.nchunks ? res->sums.nchunks : 1) * (size_t)plan->nsegments;
    res->sums.wrate_chunk = calloc(cells, sizeof *res->sums.wrate_chunk);
    res->sums.wrate2_chunk = calloc(cells, sizeof *res->sums.wrate2_chunk);
    res->seg_loans = plan->unstressed.loans;
    if (!res->sums.wrate_chunk || !res->sums.wrate2_chunk)
      return cas_error_set(err, CAS_ERR_NOMEM, "out of memory for the sums by segment");
  }
  /* Without stored segments each chunk is one thread's, in path order, so
   * that the sums by chunk do not depend on the thread count. */
  uint64_t unit = res->store_segments ? PATH_BLOCK : res->sums.chunk_paths;
  uint64_t nunits = (nrows + unit - 1) / unit;
  size_t nseg = (size_t)plan->nsegments, nf = (size_t)plan->nfactors;
  if (!res->store_segments) {
    cas_segment_sums *sm = &res->sums;
    size_t cells = (size_t)(sm->nchunks ? sm->nchunks : 1) * nseg;
    memset(sm->loss_chunk, 0, cells * sizeof *sm->loss_chunk);
    if (sm->contagion_chunk) memset(sm->contagion_chunk, 0, cells * sizeof *sm->contagion_chunk);
    if (sm->wrate_chunk) memset(sm->wrate_chunk, 0, cells * sizeof *sm->wrate_chunk);
    if (sm->wrate2_chunk) memset(sm->wrate2_chunk, 0, cells * sizeof *sm->wrate2_chunk);
    free(sm->defaults);
    free(sm->defaults_sq);
    sm->threads = threads;
    sm->defaults = calloc((size_t)threads * nseg, sizeof *sm->defaults);
    sm->defaults_sq = calloc((size_t)threads * nseg, sizeof *sm->defaults_sq);
    if (!sm->defaults || !sm->defaults_sq)
      return cas_error_set(err, CAS_ERR_NOMEM, "out of memory for the sums by segment");
  }
  res->rows_run = nrows;

  cas_cascade_ws **ws = calloc((size_t)threads, sizeof *ws);
  /* per thread: sys, own loss, own contagion (doubles), u, pool claims and
   * paid, x; own defaults; with years, the loans that left the book */
  int years = plan->years;
  int year_cascade = years > 1 && contagion && contagion->model->spreads;
  size_t nscratch = 3 * nseg + 2 * nf + 2 * (size_t)plan->npools + (year_cascade ? nseg : 0);
  /* the list holds up to one default in 8 loans over a path (beyond, the
   * bitmap is cleared whole and scanned by words) */
  size_t dead_bytes = years > 1 ? (plan->n + 7) / 8 : 0, dead_cap = plan->n / 8 + 1024;
  uint8_t *dead = dead_bytes ? calloc((size_t)threads, dead_bytes) : NULL;
  uint32_t *dead_list = dead_bytes ? malloc((size_t)threads * dead_cap * sizeof *dead_list) : NULL;
  if (dead_bytes && (!dead || !dead_list)) {
    free(dead);
    free(dead_list);
    return cas_error_set(err, CAS_ERR_NOMEM, "out of memory for the loans that leave the book");
  }
  double *scratch = malloc((size_t)threads * nscratch * sizeof *scratch);
  size_t nbits = (size_t)plan->max_bucket / 64 + 1;
  uint64_t *bits = calloc((size_t)threads * nbits, sizeof *bits);
  size_t nbp = 0;   /* bucket_p: 6 per bucket of the year with the most */
  for (int t = 0; t < years; t++)
    if (6 * cas_plan_year(plan, t)->nbuckets > nbp) nbp = 6 * cas_plan_year(plan, t)->nbuckets;
  double *bucket_p = malloc((size_t)threads * (nbp ? nbp : 1) * sizeof *bucket_p);
  /* per thread: own defaults by segment, then (multi-year cascade) the year's by round */
  size_t nints = (nseg ? nseg : 1) + (year_cascade ? res->rounds_cap : 0);
  int32_t *own_defaults = malloc((size_t)threads * nints * sizeof *own_defaults);
  if (!ws || !scratch || !own_defaults || !bits || !bucket_p) {
    free(bits);
    free(bucket_p);
    free(dead);
    free(dead_list);
    free(ws);
    free(scratch);
    free(own_defaults);
    return cas_error_set(err, CAS_ERR_NOMEM, "out of memory for thread workspaces");
  }
  for (int t = 0; contagion && t < threads && st == CAS_OK; t++) {
    st = cas_cascade_ws_create(plan, kernel->eps_all_known && contagion->model->spreads,
                               contagion->nspill ? contagion->max_rounds : 0, &ws[t], err);
    if (st == CAS_OK && contagion->ncalls) st = cas_cascade_watch_calls(ws[t], contagion, err);
  }

  int counts_only = !contagion && !(opt && opt->loan_loss && !opt->bucket_loss) &&
                    !plan->npools && !plan->lgd_mean && !plan->ead_of && years == 1;
  if (st == CAS_OK) {
    #pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
    for (uint64_t b = 0; b < nunits; b++) {
      int thread = omp_get_thread_num();
      cas_cascade_ws *mine = ws[thread];
      double *sc = scratch + (size_t)thread * nscratch;
      double *more = sc + 3 * nseg + nf;
      cas_path_rows rows = {.sys = sc, .own_loss = sc + nseg, .own_contagion = sc + 2 * nseg,
                            .u = sc + 3 * nseg, .x = more,
                            .own_claims = more + nf, .pool_paid = more + nf + plan->npools,
                            .own_defaults = own_defaults + (size_t)thread * nints,
                            .year_contagion = year_cascade ? more + nf + 2 * plan->npools : NULL,
                            .year_rounds = year_cascade ? own_defaults + (size_t)thread * nints + nseg
                                                        : NULL,
                            .ws = mine, .is_shift = is_shift,
                            .is_plain_share = opt ? opt->is_plain_share : 0.0,
                            .is_plain_fraction = opt ? opt->is_plain_fraction : 0.0,
                            .sink = {.fn = opt ? opt->loan_loss : NULL,
                                     .ctx = opt ? opt->loan_loss_ctx : NULL, .thread = thread},
                            .thread = thread, .years = years,
                            .dead = dead ? dead + (size_t)thread * dead_bytes : NULL,
                            .dead_list = dead_list ? dead_list + (size_t)thread * dead_cap : NULL,
                            .dead_cap = dead_cap, .bits = bits + (size_t)thread * nbits,
                            .bucket_p = bucket_p + (size_t)thread * nbp,
                            .counts_only = counts_only,
                            .bucket_loss = opt && opt->loan_loss ? opt->bucket_loss : NULL};
      uint64_t first = b * unit;
      uint64_t last = first + unit < nrows ? first + unit : nrows;
      for (uint64_t r = first; r < last; r++) {
        rows.row = r;
        rows.sink.row = r;
        rows.path = path_of ? path_of[r] : res->first_path + r;
        for (rows.year = 0; rows.year < years; rows.year++)
          kernel->path(cas_plan_year(plan, rows.year), contagion, res, mine, &rows);
        if (is_shift) res->weight[r] = path_weight(&rows);
        if (opt && opt->path_hook && mine) opt->path_hook(opt->path_hook_ctx, thread, rows.path, mine);
        if (rows.dead) return_to_book(&rows, plan->n);
      }
      uint64_t finished;
      #pragma omp atomic capture
      finished = done += last - first;
      if (opt && opt->progress && omp_get_thread_num() == 0) {
        double t = now_seconds();
        if (t - last_report > 0.25) {
          last_report = t;
          opt->progress(opt->progress_ctx, finished, nrows);
        }
      }
    }
    if (opt && opt->progress) opt->progress(opt->progress_ctx, nrows, nrows);
  }
  for (int t = 0; contagion && st == CAS_OK && t < threads; t++)
    if (ws[t] && ws[t]->oom)
      st = cas_error_set(err, CAS_ERR_NOMEM, "out of memory in the cascade of a path");
  for (int t = 0; t < threads; t++) cas_cascade_ws_destroy(ws[t]);
  free(ws);
  free(scratch);
  free(own_defaults);
  free(dead);
  free(dead_list);
  free(bits);
  free(bucket_p);
  return st;
}
