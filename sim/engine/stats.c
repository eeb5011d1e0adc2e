/* stats.c: loss-distribution statistics (formulas in stats.h). */
#include "stats.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ksum.h"

const double cas_levels[CAS_NLEVELS] = {0.95, 0.99, 0.999};

static const double Z95 = CAS_Z95;

typedef struct ranked {
  double loss;
  double w;        /* the path's weight (1 without one) */
  uint64_t path;
} ranked;

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return (x > y) - (x < y);
}

/* A key whose unsigned order is the order of the values: a double's bit
 * pattern with the sign bit set for x >= 0, all bits flipped for x < 0;
 * -0 counts as +0 (the two are equal, and then the paths decide). */
static uint64_t order_key(double x) {
  if (x == 0.0) x = 0.0;
  uint64_t b;
  memcpy(&b, &x, sizeof b);
  return b >> 63 ? ~b : b | (uint64_t)1 << 63;
}

/* The paths ordered by loss, then by path (the order is total: every
 * path is once). A least-significant-digit radix sort of the keys, 8 bits
 * a pass, stable, on the paths in increasing order, so that equal losses
 * keep path order; a pass whose digit is the same for every path is
 * skipped (losses share their high bits). A comparison sort of the same
 * order took a third of the statistics' time at 20,000 paths. */
static ranked *rank_paths(uint64_t paths, const double *loss, const double *weight) {
  size_t n = (size_t)paths;
  ranked *r = malloc((n ? n : 1) * sizeof *r);
  uint64_t *key = malloc((n ? n : 1) * 2 * sizeof *key);
  uint64_t *idx = malloc((n ? n : 1) * 2 * sizeof *idx);
  size_t(*count)[256] = calloc(8, sizeof *count);
  if (!r || !key || !idx || !count) {
    free(r);
    free(key);
    free(idx);
    free(count);
    return NULL;
  }
  uint64_t *k0 = key, *k1 = key + n, *i0 = idx, *i1 = idx + n;
  for (size_t p = 0; p < n; p++) {
    k0[p] = order_key(loss[p]);
    i0[p] = p;
    for (int d = 0; d < 8; d++) count[d][(k0[p] >> (8 * d)) & 0xff]++;
  }
  for (int d = 0; d < 8; d++) {
    if (n == 0 || count[d][(k0[0] >> (8 * d)) & 0xff] == n) continue;   /* one digit for all */
    size_t at = 0;
    for (int v = 0; v < 256; v++) {
      size_t c = count[d][v];
      count[d][v] = at;
      at += c;
    }
    for (size_t p = 0; p < n; p++) {
      size_t to = count[d][(k0[p] >> (8 * d)) & 0xff]++;
      k1[to] = k0[p];
      i1[to] = i0[p];
    }
    uint64_t *t = k0;
    k0 = k1;
    k1 = t;
    t = i0;
    i0 = i1;
    i1 = t;
  }
  for (size_t p = 0; p < n; p++)
    r[p] = (ranked){loss[i0[p]], weight ? weight[i0[p]] : 1.0, i0[p]};
  free(key);
  free(idx);
  free(count);
  return r;
}

/* The smallest 1-based rank i with S(i) = sum_{j > i} w_(j) <= target,
 * S(i) summed from the top (the order the tail estimators use); 1 if
 * every S qualifies, n if none but S(n) = 0 does. */
static uint64_t smallest_rank(const ranked *r, uint64_t n, double target) {
  double s = 0.0;   /* S(i) for the current i, from i = n down */
  uint64_t i = n;
  while (i > 1 && s + r[i - 1].w <= target) {
    s += r[i - 1].w;
    i--;
  }
  return i;
}

void cas_hall_interval(double mean, double m2, double m3, uint64_t n, double z, double *lo,
                       double *hi) {
  double s = sqrt(fmax(m2, 0.0)), se = s / sqrt((double)n);
  if (!(s > 0.0) || n < 2) {
    *lo = *hi = mean;
    return;
  }
  double g = m3 / (s * s * s) / sqrt((double)n);
  double tu = z, tl = -z;
  if (fabs(g) > 1e-12) {
    /* the inverse of T + g T^2 / 3 + g^2 T^3 / 27 + g / 6 = ((1 + g T / 3)^3 - 1) / g + g / 6 */
    tu = 3.0 / g * (cbrt(1.0 + g * (z - g / 6.0)) - 1.0);
    tl = 3.0 / g * (cbrt(1.0 + g * (-z - g / 6.0)) - 1.0);
  }
  *lo = mean - tu * se;
  *hi = mean - tl * se;
}

/* VaR and ES at level a of the ranked (ascending) losses, with their
 * standard errors and 95% intervals; *k_out the rank of VaR and *frac the
 * weight L_(k) carries in ES (so that the weights of the ES paths add up
 * to n (1 - a)). weighted 0: every w is 1 (the binomial variance a (1 - a)
 * of the tail count is then known exactly). */
static void tail_estimate(const ranked *r, uint64_t n, double a, int weighted, cas_tail_estimate *o,
                          uint64_t *k_out, double *frac) {
  double m = (double)n, target = m * (1.0 - a), slack = 1e-9 * a * m;
  uint64_t k = smallest_rank(r, n, target + slack);
  double v = r[k - 1].loss;
  /* ES as VaR plus the mean excess over VaR: ES >= VaR holds exactly and
   * the excesses are small numbers. h = w (L - VaR)+ per path. */
  double sk = 0.0, q2 = 0.0, e = 0.0;
  for (uint64_t i = k; i < n; i++) {
    sk += r[i].w;
    q2 += r[i].w * r[i].w;
    e += r[i].w * (r[i].loss - v);
  }
  double hmean = e / m, c2 = 0.0, c3 = 0.0;
  for (uint64_t i = k; i < n; i++) {
    double d = r[i].w * (r[i].loss - v) - hmean;
    c2 += d * d;
    c3 += d * d * d;
  }
  double zeros = (double)k;   /* the paths at or below VaR: h = 0 */
  c2 += zeros * hmean * hmean;
  c3 -= zeros * hmean * hmean * hmean;
  double h2 = c2 / m, h3 = c3 / m;
  o->var = v;
  o->es = v + e / target;
  o->es_se = sqrt(h2 / m) / (1.0 - a);
  double lo, hi;
  cas_hall_interval(hmean, h2, h3, n, Z95, &lo, &hi);
  o->es_lo = v + lo / (1.0 - a);
  o->es_hi = v + hi / (1.0 - a);
  /* VaR: the ranks whose estimated tail probability lies within z
   * standard errors of 1 - a (an order-statistic interval; with unit
   * weights the tail count is binomial with variance n a (1 - a)). */
  double var_tail = weighted ? fmax(q2 / m - (sk / m) * (sk / m), 0.0) : a * (1.0 - a);
  double d1 = sqrt(m * var_tail), d95 = Z95 * d1;
  uint64_t lo1 = smallest_rank(r, n, target + slack + d1);
  uint64_t hi1 = target - d1 >= 0.0 ? smallest_rank(r, n, target + slack - d1) : n;
  uint64_t lo95 = smallest_rank(r, n, target + slack + d95);
  uint64_t hi95 = target - d95 >= 0.0 ? smallest_rank(r, n, target + slack - d95) : n;
  o->var_se = 0.5 * (r[hi1 - 1].loss - r[lo1 - 1].loss);
  o->tail_sd = sqrt(var_tail);
  o->var_lo = r[lo95 - 1].loss;
  o->var_hi = r[hi95 - 1].loss;
  if (k_out) *k_out = k;
  if (frac) *frac = target - sk;
}

void cas_quantile_es(const double *sorted, uint64_t n, double a, double *var, double *var_se,
                     double *es, double *es_se) {
  ranked *r = malloc((n ? n : 1) * sizeof *r);
  if (!r) {
    *var = *var_se = *es = *es_se = NAN;
    return;
  }
  for (uint64_t i = 0; i < n; i++) r[i] = (ranked){sorted[i], 1.0, i};
  cas_tail_estimate t;
  tail_estimate(r, n, a, 0, &t, NULL, NULL);
  *var = t.var;
  *var_se = t.var_se;
  *es = t.es;
  *es_se = t.es_se;
  free(r);
}

/* The mean of rows[path][n] over the paths that make up ES_a, with ES's
 * weights (L_(k) counted frac times, the others w times): r ranks the
 * paths. */
static void tail_mean_rows(const ranked *r, uint64_t paths, double a, uint64_t k, double frac,
                           const double *rows, int n, const int64_t *row_of_path, double *out) {
  double mass = (double)paths * (1.0 - a);
  for (int s = 0; s < n; s++) out[s] = 0.0;
  for (uint64_t i = k - 1; i < paths; i++) {
    double w = (i == k - 1) ? frac : r[i].w;
    uint64_t at = row_of_path ? (uint64_t)row_of_path[r[i].path] : r[i].path;
    const double *row = &rows[at * (uint64_t)n];
    for (int s = 0; s < n; s++) out[s] += w * row[s] / mass;
  }
}

void cas_weight_diagnostics(uint64_t paths, const double *w, double *mean, double *effective) {
  cas_ksum s1 = {0}, s2 = {0};
  for (uint64_t p = 0; p < paths; p++) {
    cas_ksum_add(&s1, w[p]);
    cas_ksum_add(&s2, w[p] * w[p]);
  }
  double a = cas_ksum_value(&s1), b = cas_ksum_value(&s2);
  *mean = paths ? a / (double)paths : NAN;
  *effective = b > 0.0 ? a / b * a : 0.0;
}

void cas_summary_free(cas_summary *s) {
  free(s->el_by_segment);
  free(s->es_contribution);
  s->el_by_segment = s->es_contribution = NULL;
  s->nsegments = 0;
}

cas_status cas_summary_compute(uint64_t paths, const double *loss, const cas_summary_options *opt,
                               const int64_t *defaults, cas_summary *out, cas_error *err) {
  memset(out, 0, sizeof *out);
  if (paths < 2) return cas_error_set(err, CAS_ERR_INPUT, "too few paths for statistics (got %llu, expected at least 2)",
                                      (unsigned long long)paths);
  const double *levels = opt && opt->levels ? opt->levels : cas_levels;
  int nlevels = opt && opt->levels ? opt->nlevels : CAS_NLEVELS;
  if (nlevels < 1 || nlevels > CAS_MAX_LEVELS)
    return cas_error_set(err, CAS_ERR_INTERNAL, "%d confidence levels (1 to %d supported)",
                         nlevels, CAS_MAX_LEVELS);
  out->nlevels = nlevels;
  memcpy(out->levels, levels, (size_t)nlevels * sizeof *levels);
  const double *loss_by_segment = opt ? opt->loss_by_segment : NULL;
  const int64_t *row_of_path = opt ? opt->row_of_path : NULL;
  const double *w = opt ? opt->weight : NULL;
  int nseg = loss_by_segment ? opt->nsegments : 0;
  ranked *r = rank_paths(paths, loss, w);
  if (nseg > 0) {
    out->nsegments = nseg;
    out->el_by_segment = calloc((size_t)nseg, sizeof *out->el_by_segment);
    out->es_contribution = calloc((size_t)nseg * (size_t)nlevels, sizeof *out->es_contribution);
  }
  if (!r || (nseg > 0 && (!out->el_by_segment || !out->es_contribution))) {
    free(r);
    cas_summary_free(out);
    return cas_error_set(err, CAS_ERR_NOMEM, "out of memory sorting %llu losses",
                         (unsigned long long)paths);
  }
  out->paths = paths;
  out->weighted = w != NULL;
  double m = (double)paths, sum = 0.0, sum_def = 0.0;
  for (uint64_t p = 0; p < paths; p++) {
    double wp = w ? w[p] : 1.0;
    sum += wp * loss[p];
    if (defaults) sum_def += wp * (double)defaults[p];
  }
  double mean = sum / m, m2 = 0.0, m4 = 0.0, x2 = 0.0, x3 = 0.0;
  for (uint64_t p = 0; p < paths; p++) {
    double wp = w ? w[p] : 1.0, d = loss[p] - mean, x = wp * loss[p] - mean;
    m2 += wp * d * d;
    m4 += wp * d * d * d * d;
    x2 += x * x;
    x3 += x * x * x;
  }
  /* plain: the unbiased sample variance; weighted: the weighted moment */
  double var = w ? m2 / m : m2 / (m - 1.0);
  out->el = mean;
  out->sd = sqrt(var);
  out->el_se = sqrt(x2 / (m - 1.0)) / sqrt(m);
  cas_hall_interval(mean, x2 / m, x3 / m, paths, Z95, &out->el_lo, &out->el_hi);
  m4 /= m;
  double mm2 = w ? var : m2 / m;
  out->sd_se = var > 0.0 ? sqrt(fmax(m4 - mm2 * mm2, 0.0) / (4.0 * var * m)) : 0.0;
  out->mean_defaults = sum_def / m;
  out->min_loss = r[0].loss;
  out->max_loss = r[paths - 1].loss;

  for (int l = 0; l < nlevels; l++) {
    double a = levels[l], frac;
    uint64_t k;
    cas_tail_estimate t;
    tail_estimate(r, paths, a, w != NULL, &t, &k, &frac);
    out->var[l] = t.var;
    out->var_se[l] = t.var_se;
    out->var_lo[l] = t.var_lo;
    out->var_hi[l] = t.var_hi;
    out->es[l] = t.es;
    out->es_se[l] = t.es_se;
    out->es_lo[l] = t.es_lo;
    out->es_hi[l] = t.es_hi;
    if (nseg > 0)
      tail_mean_rows(r, paths, a, k, frac, loss_by_segment, nseg, row_of_path,
                     &out->es_contribution[(size_t)l * nseg]);
  }
  if (nseg > 0 && opt->el_by_segment) {
    memcpy(out->el_by_segment, opt->el_by_segment, (size_t)nseg * sizeof *out->el_by_segment);
  } else if (nseg > 0) {
    for (uint64_t p = 0; p < paths; p++)
      for (int s = 0; s < nseg; s++)
        out->el_by_segment[s] += (w ? w[p] : 1.0) * loss_by_segment[p * (uint64_t)nseg + (uint64_t)s];
    for (int s = 0; s < nseg; s++) out->el_by_segment[s] /= m;
  }
  free(r);
  return CAS_OK;
}

/* Longest cascades first: more rounds, then more contagion loss, then the
 * lower path index. */
typedef struct cascade_rank {
  int32_t rounds;
  double loss;
  uint64_t path;
} cascade_rank;

static int by_cascade(const void *x, const void *y) {
  const cascade_rank *a = x, *b = y;
  if (a->rounds != b->rounds) return a->rounds > b->rounds ? -1 : 1;
  if (a->loss != b->loss) return a->loss > b->loss ? -1 : 1;
  return (a->path > b->path) - (a->path < b->path);
}

cas_status cas_contagion_summary_compute(uint64_t paths, const double *loss, const double *weight,
                                         const double *contagion,
                                         const double *contagion_by_segment, int nsegments,
                                         const int64_t *row_of_path, const int32_t *rounds,
                                         const uint8_t *truncated, const cas_summary *sum,
                                         cas_contagion_summary *out, cas_error *err) {
  memset(out, 0, sizeof *out);
  if (paths < 2) return cas_error_set(err, CAS_ERR_INPUT, "too few paths for statistics (got %llu, expected at least 2)",
                                      (unsigned long long)paths);
  double *factor = malloc(paths * sizeof *factor);
  ranked *r = rank_paths(paths, loss, weight);
  cascade_rank *c = malloc(paths * sizeof *c);
  int nlevels = sum->nlevels;
  out->nsegments = nsegments;
  out->es_contribution_contagion =
      calloc((size_t)(nsegments > 0 ? nsegments : 1) * (size_t)nlevels, sizeof(double));
  ranked *rf = NULL;
  if (factor && r && c && out->es_contribution_contagion) {
    for (uint64_t p = 0; p < paths; p++) factor[p] = loss[p] - contagion[p];
    rf = rank_paths(paths, factor, weight);
  }
  if (!rf) {
    cas_contagion_summary_free(out);
    free(factor);
    free(r);
    free(c);
    return cas_error_set(err, CAS_ERR_NOMEM, "out of memory summarising contagion");
  }
  double m = (double)paths, s1 = 0.0, s2 = 0.0, sr = 0.0;
  for (uint64_t p = 0; p < paths; p++) {
    double w = weight ? weight[p] : 1.0;
    s1 += w * contagion[p];
    sr += w * rounds[p];
    if (rounds[p] > out->max_rounds) out->max_rounds = rounds[p];
    out->truncated_paths += truncated[p];
    c[p] = (cascade_rank){rounds[p], contagion[p], p};
  }
  out->el_contagion = s1 / m;
  for (uint64_t p = 0; p < paths; p++) {
    double d = (weight ? weight[p] : 1.0) * contagion[p] - out->el_contagion;
    s2 += d * d;
  }
  out->el_contagion_se = sqrt(s2 / (m - 1.0) / m);
  out->mean_rounds = sr / m;
  for (int l = 0; l < nlevels; l++) {
    double a = sum->levels[l], frac;
    uint64_t k;
    double *row = &out->es_contribution_contagion[(size_t)l * (size_t)nsegments];
    cas_tail_estimate t;
    tail_estimate(rf, paths, a, weight != NULL, &t, NULL, NULL);
    out->var_factor[l] = t.var;
    out->es_factor[l] = t.es;
    out->var_factor_se[l] = t.var_se;
    out->var_factor_lo[l] = t.var_lo;
    out->var_factor_hi[l] = t.var_hi;
    out->es_factor_se[l] = t.es_se;
    out->es_factor_lo[l] = t.es_lo;
    out->es_factor_hi[l] = t.es_hi;
    tail_estimate(r, paths, a, weight != NULL, &t, &k, &frac);
    tail_mean_rows(r, paths, a, k, frac, contagion_by_segment, nsegments, row_of_path, row);
    double part = 0.0;
    for (int s = 0; s < nsegments; s++) part += row[s];
    out->es_contagion[l] = part;
    out->es_contagion_share[l] = sum->es[l] > 0.0 ? part / sum->es[l] : 0.0;
  }
  qsort(c, paths, sizeof *c, by_cascade);
  out->nlongest = paths < CAS_LONGEST_CASCADES ? (int)paths : CAS_LONGEST_CASCADES;
  for (int i = 0; i < out->nlongest; i++) {
    out->longest_paths[i] = c[i].path;
    out->longest_rounds[i] = c[i].rounds;
  }
  free(factor);
  free(r);
  free(rf);
  free(c);
  return CAS_OK;
}

cas_status cas_tail_paths(uint64_t paths, const double *loss, const double *weight, double a,
                          uint64_t **out, uint64_t *n, cas_error *err) {
  *out = NULL;
  *n = 0;
  if (paths < 1) return CAS_OK;
  ranked *r = rank_paths(paths, loss, weight);
  if (!r)
    return cas_error_set(err, CAS_ERR_NOMEM, "out of memory ranking %llu losses",
                         (unsigned long long)paths);
  cas_tail_estimate t;
  uint64_t k;
  tail_estimate(r, paths, a, weight != NULL, &t, &k, NULL);
  uint64_t count = paths - (k - 1);
  uint64_t *list = malloc(count * sizeof *list);
  if (!list) {
    free(r);
    return cas_error_set(err, CAS_ERR_NOMEM, "out of memory ranking %llu losses",
                         (unsigned long long)paths);
  }
  for (uint64_t i = 0; i < count; i++) list[i] = r[k - 1 + i].path;
  free(r);
  qsort(list, count, sizeof *list, cmp_u64);
  *out = list;
  *n = count;
  return CAS_OK;
}

void cas_contagion_summary_free(cas_contagion_summary *s) {
  free(s->es_contribution_contagion);
  s->es_contribution_contagion = NULL;
}

void cas_default_rates(uint64_t paths, int nsegments, const int32_t *defaults_by_segment,
                       const uint64_t *loans, const double *weight, double *rate, double *rate_se) {
  for (int s = 0; s < nsegments; s++) {
    rate[s] = rate_se[s] = 0.0;
    if (loans[s] == 0 || paths == 0) continue;
    double mean = 0.0, m2 = 0.0;   /* Welford, in path order */
    for (uint64_t p = 0; p < paths; p++) {
      double x = (double)defaults_by_segment[p * (uint64_t)nsegments + (uint64_t)s] / (double)loans[s];
      if (weight) x *= weight[p];
      double d = x - mean;
      mean += d / (double)(p + 1);
      m2 += d * (x - mean);
    }
    rate[s] = mean;
    rate_se[s] = paths > 1 ? sqrt(m2 / (double)(paths - 1) / (double)paths) : 0.0;
  }
}

/* --- scenario minus baseline ------------------------------------------ */

/* Moments of x[n]: mean, central second and third (divided by n). */
static void moments(const double *x, uint64_t n, double *mean, double *m2, double *m3) {
  double s = 0.0;
  for (uint64_t i = 0; i < n; i++) s += x[i];
  double mu = s / (double)n, c2 = 0.0, c3 = 0.0;
  for (uint64_t i = 0; i < n; i++) {
    double d = x[i] - mu;
    c2 += d * d;
    c3 += d * d * d;
  }
  *mean = mu;
  *m2 = c2 / (double)n;
  *m3 = c3 / (double)n;
}

cas_status cas_paired_difference(uint64_t paths, const double *loss_a, const double *weight_a,
                                 const double *loss_b, const double *weight_b,
                                 const double *levels, int nlevels, cas_difference *out,
                                 cas_error *err) {
  memset(out, 0, sizeof *out);
  if (paths < 2) return cas_error_set(err, CAS_ERR_INPUT, "too few paths for differences (got %llu, expected at least 2)",
                                      (unsigned long long)paths);
  if (nlevels < 1 || nlevels > CAS_MAX_LEVELS)
    return cas_error_set(err, CAS_ERR_INTERNAL, "%d confidence levels", nlevels);
  ranked *ra = rank_paths(paths, loss_a, weight_a), *rb = rank_paths(paths, loss_b, weight_b);
  double *psi = malloc(paths * sizeof *psi), *psi2 = malloc(paths * sizeof *psi2);
  if (!ra || !rb || !psi || !psi2) {
    free(ra);
    free(rb);
    free(psi);
    free(psi2);
    return cas_error_set(err, CAS_ERR_NOMEM, "out of memory comparing %llu paths",
                         (unsigned long long)paths);
  }
  double m = (double)paths, mean, m2, m3, lo, hi;
  out->nlevels = nlevels;
  for (uint64_t p = 0; p < paths; p++)
    psi[p] = (weight_a ? weight_a[p] : 1.0) * loss_a[p] - (weight_b ? weight_b[p] : 1.0) * loss_b[p];
  moments(psi, paths, &mean, &m2, &m3);
  out->el = mean;
  out->el_se = sqrt(m2 * m / (m - 1.0) / m);
  cas_hall_interval(mean, m2, m3, paths, Z95, &out->el_lo, &out->el_hi);
  for (int l = 0; l < nlevels; l++) {
    double a = levels[l];
    out->levels[l] = a;
    cas_tail_estimate ta, tb;
    tail_estimate(ra, paths, a, weight_a != NULL, &ta, NULL, NULL);
    tail_estimate(rb, paths, a, weight_b != NULL, &tb, NULL, NULL);
    /* ES: the influence of a path, w (L - VaR)+ / (1 - a), for each run;
     * their difference per path carries the common random numbers. */
    for (uint64_t p = 0; p < paths; p++) {
      double wa = weight_a ? weight_a[p] : 1.0, wb = weight_b ? weight_b[p] : 1.0;
      double ha = loss_a[p] > ta.var ? wa * (loss_a[p] - ta.var) : 0.0;
      double hb = loss_b[p] > tb.var ? wb * (loss_b[p] - tb.var) : 0.0;
      psi[p] = (ha - hb) / (1.0 - a);
      psi2[p] = ha / (1.0 - a) / tb.es - ta.es / tb.es * hb / (1.0 - a) / tb.es;
    }
    moments(psi, paths, &mean, &m2, &m3);
    out->es[l] = ta.es - tb.es;
    out->es_se[l] = sqrt(m2 / m);
    cas_hall_interval(mean, m2, m3, paths, Z95, &lo, &hi);
    out->es_lo[l] = out->es[l] + (lo - mean);
    out->es_hi[l] = out->es[l] + (hi - mean);
    moments(psi2, paths, &mean, &m2, &m3);
    out->es_ratio[l] = tb.es > 0.0 ? ta.es / tb.es : NAN;
    out->es_ratio_se[l] = sqrt(m2 / m);
    cas_hall_interval(mean, m2, m3, paths, Z95, &lo, &hi);
    out->es_ratio_lo[l] = out->es_ratio[l] + (lo - mean);
    out->es_ratio_hi[l] = out->es_ratio[l] + (hi - mean);
    /* VaR: the influence w 1{L > VaR} / f(VaR), the density f from the
     * order-statistic band (var_se = sd of the tail indicator / (sqrt(n) f)) */
    double fa = ta.tail_sd > 0.0 ? sqrt(m) * (ta.var_hi - ta.var_lo) / (2.0 * Z95 * ta.tail_sd) : 0.0;
    double fb = tb.tail_sd > 0.0 ? sqrt(m) * (tb.var_hi - tb.var_lo) / (2.0 * Z95 * tb.tail_sd) : 0.0;
    for (uint64_t p = 0; p < paths; p++) {
      double wa = weight_a ? weight_a[p] : 1.0, wb = weight_b ? weight_b[p] : 1.0;
      psi[p] = (loss_a[p] > ta.var ? wa : 0.0) * fa - (loss_b[p] > tb.var ? wb : 0.0) * fb;
    }
    moments(psi, paths, &mean, &m2, &m3);
    out->var[l] = ta.var - tb.var;
    out->var_se[l] = sqrt(m2 / m);
    out->var_lo[l] = out->var[l] - Z95 * out->var_se[l];
    out->var_hi[l] = out->var[l] + Z95 * out->var_se[l];
  }
  free(ra);
  free(rb);
  free(psi);
  free(psi2);
  return CAS_OK;
}

void cas_unpaired_difference(const cas_summary *a, const cas_summary *b, cas_difference *out) {
  memset(out, 0, sizeof *out);
  out->nlevels = a->nlevels < b->nlevels ? a->nlevels : b->nlevels;
  out->el = a->el - b->el;
  out->el_se = hypot(a->el_se, b->el_se);
  out->el_lo = out->el - hypot(a->el - a->el_lo, b->el_hi - b->el);
  out->el_hi = out->el + hypot(a->el_hi - a->el, b->el - b->el_lo);
  for (int l = 0; l < out->nlevels; l++) {
    out->levels[l] = a->levels[l];
    out->var[l] = a->var[l] - b->var[l];
    out->var_se[l] = hypot(a->var_se[l], b->var_se[l]);
    out->var_lo[l] = out->var[l] - hypot(a->var[l] - a->var_lo[l], b->var_hi[l] - b->var[l]);
    out->var_hi[l] = out->var[l] + hypot(a->var_hi[l] - a->var[l], b->var[l] - b->var_lo[l]);
    out->es[l] = a->es[l] - b->es[l];
    out->es_se[l] = hypot(a->es_se[l], b->es_se[l]);
    out->es_lo[l] = out->es[l] - hypot(a->es[l] - a->es_lo[l], b->es_hi[l] - b->es[l]);
    out->es_hi[l] = out->es[l] + hypot(a->es_hi[l] - a->es[l], b->es[l] - b->es_lo[l]);
    double r = b->es[l] > 0.0 ? a->es[l] / b->es[l] : NAN;
    out->es_ratio[l] = r;
    /* delta method for independent estimates */
    out->es_ratio_se[l] = r * hypot(a->es_se[l] / a->es[l], b->es_se[l] / b->es[l]);
    out->es_ratio_lo[l] = r - Z95 * out->es_ratio_se[l];
    out->es_ratio_hi[l] = r + Z95 * out->es_ratio_se[l];
  }
}

typedef struct path_weight {
  uint64_t path;
  double w;
} path_weight;

static int by_path(const void *a, const void *b) {
  uint64_t x = ((const path_weight *)a)->path, y = ((const path_weight *)b)->path;
  return (x > y) - (x < y);
}

cas_status cas_tail_weights(uint64_t paths, const double *loss, const double *weight, double a,
                            uint64_t **paths_out, double **ew_out, uint64_t *n, cas_error *err) {
  *paths_out = NULL;
  *ew_out = NULL;
  *n = 0;
  if (paths < 1) return CAS_OK;
  ranked *r = rank_paths(paths, loss, weight);
  if (!r)
    return cas_error_set(err, CAS_ERR_NOMEM, "out of memory ranking %llu losses",
                         (unsigned long long)paths);
  cas_tail_estimate t;
  uint64_t k;
  double frac;
  tail_estimate(r, paths, a, weight != NULL, &t, &k, &frac);
  uint64_t count = paths - (k - 1);
  path_weight *pw = malloc(count * sizeof *pw);
  uint64_t *po = malloc(count * sizeof *po);
  double *ew = malloc(count * sizeof *ew);
  if (!pw || !po || !ew) {
    free(r);
    free(pw);
    free(po);
    free(ew);
    return cas_error_set(err, CAS_ERR_NOMEM, "out of memory ranking %llu losses",
                         (unsigned long long)paths);
  }
  for (uint64_t i = 0; i < count; i++)
    pw[i] = (path_weight){r[k - 1 + i].path, i == 0 ? frac : r[k - 1 + i].w};
  free(r);
  qsort(pw, count, sizeof *pw, by_path);
  for (uint64_t i = 0; i < count; i++) {
    po[i] = pw[i].path;
    ew[i] = pw[i].w;
  }
  free(pw);
  *paths_out = po;
  *ew_out = ew;
  *n = count;
  return CAS_OK;
}

void cas_var_contributions(uint64_t paths, const double *loss, const double *weight,
                           const cas_summary *sum, const double *rows, int n, double *out,
                           uint64_t *paths_used) {
  for (int l = 0; l < sum->nlevels; l++) {
    double *o = &out[(size_t)l * (size_t)n];
    double v = sum->var[l], h = 0.5 * (sum->var_hi[l] - sum->var_lo[l]), total = 0.0, mass = 0.0;
    uint64_t used = 0;
    for (int j = 0; j < n; j++) o[j] = 0.0;
    for (uint64_t p = 0; p < paths; p++) {   /* in path order: deterministic */
      double k;
      if (h > 0.0) {
        double x = (loss[p] - v) / h;
        if (!(fabs(x) < 1.0)) continue;
        k = 0.75 * (1.0 - x * x);
      } else {
        if (loss[p] != v) continue;
        k = 1.0;
      }
      k *= weight ? weight[p] : 1.0;
      const double *r = &rows[p * (uint64_t)n];
      for (int j = 0; j < n; j++) o[j] += k * r[j];
      mass += k;
      used++;
    }
    for (int j = 0; j < n; j++) total += o[j];
    for (int j = 0; j < n; j++) o[j] = total != 0.0 ? o[j] * v / total : 0.0;
    (void)mass;
    if (paths_used) paths_used[l] = used;
  }
}
