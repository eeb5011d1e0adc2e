/* stats.c: loss-distribution statistics (formulas in stats.h). */
#include "stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

const double cas_levels[CAS_NLEVELS] = {0.95, 0.99, 0.999};

typedef struct ranked {
  double loss;
  uint64_t path;
} ranked;

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return (x > y) - (x < y);
}

static int by_loss_then_path(const void *a, const void *b) {
  const ranked *x = a, *y = b;
  if (x->loss < y->loss) return -1;
  if (x->loss > y->loss) return 1;
  return (x->path > y->path) - (x->path < y->path);
}

/* k = ceil(a n) as a 1-based rank, guarded against a n landing a hair above
 * an integer through rounding. */
static uint64_t rank_of(double a, uint64_t n) {
  double an = a * (double)n;
  uint64_t k = (uint64_t)ceil(an - 1e-9 * an);
  if (k < 1) k = 1;
  if (k > n) k = n;
  return k;
}

void cas_quantile_es(const double *sorted, uint64_t n, double a, double *var,
                     double *var_se, double *es, double *es_se) {
  uint64_t k = rank_of(a, n);
  double v = sorted[k - 1];
  uint64_t j = (uint64_t)ceil(sqrt((double)n * a * (1.0 - a)));
  uint64_t lo = k > j ? k - j : 1, hi = k + j < n ? k + j : n;
  *var = v;
  *var_se = 0.5 * (sorted[hi - 1] - sorted[lo - 1]);

  /* ES as VaR plus the mean excess over VaR: the same number, but ES >= VaR
   * holds exactly in floating point and the excesses are small numbers. The
   * weight of L_(k) itself, k - a n, multiplies an excess of zero. */
  double mass = (double)n * (1.0 - a);
  double excess = 0.0, excess2 = 0.0;
  for (uint64_t i = k; i < n; i++) {
    double d = sorted[i] - v;
    excess += d;
    excess2 += d * d;
  }
  double mean_excess = excess / mass;
  double tail_var = fmax(excess2 / mass - mean_excess * mean_excess, 0.0);
  *es = v + mean_excess;
  *es_se = sqrt((tail_var + a * mean_excess * mean_excess) / ((1.0 - a) * (double)n));
}

/* The mean of rows[path][n] over the paths that make up ES_a, with ES's
 * weights (L_(k) counted k - a n times): r ranks the paths. */
static void tail_mean_rows(const ranked *r, uint64_t paths, double a, const double *rows, int n,
                           const int64_t *row_of_path, double *out) {
  uint64_t k = rank_of(a, paths);
  double m = (double)paths, mass = m * (1.0 - a);
  for (int s = 0; s < n; s++) out[s] = 0.0;
  for (uint64_t i = k - 1; i < paths; i++) {
    double w = (i == k - 1) ? ((double)k - a * m) : 1.0;
    uint64_t at = row_of_path ? (uint64_t)row_of_path[r[i].path] : r[i].path;
    const double *row = &rows[at * (uint64_t)n];
    for (int s = 0; s < n; s++) out[s] += w * row[s] / mass;
  }
}

static ranked *rank_paths(uint64_t paths, const double *loss) {
  ranked *r = malloc(paths * sizeof *r);
  if (!r) return NULL;
  for (uint64_t p = 0; p < paths; p++) r[p] = (ranked){loss[p], p};
  qsort(r, paths, sizeof *r, by_loss_then_path);
  return r;
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
  if (paths < 2) return cas_error_set(err, CAS_ERR_INPUT, "statistics need at least 2 paths");
  const double *levels = opt && opt->levels ? opt->levels : cas_levels;
  int nlevels = opt && opt->levels ? opt->nlevels : CAS_NLEVELS;
  if (nlevels < 1 || nlevels > CAS_MAX_LEVELS)
    return cas_error_set(err, CAS_ERR_INTERNAL, "%d confidence levels (1 to %d supported)",
                         nlevels, CAS_MAX_LEVELS);
  out->nlevels = nlevels;
  memcpy(out->levels, levels, (size_t)nlevels * sizeof *levels);
  const double *loss_by_segment = opt ? opt->loss_by_segment : NULL;
  const int64_t *row_of_path = opt ? opt->row_of_path : NULL;
  int nseg = loss_by_segment ? opt->nsegments : 0;
  ranked *r = rank_paths(paths, loss);
  double *sorted = malloc(paths * sizeof *sorted);
  if (nseg > 0) {
    out->nsegments = nseg;
    out->el_by_segment = calloc((size_t)nseg, sizeof *out->el_by_segment);
    out->es_contribution = calloc((size_t)nseg * (size_t)nlevels, sizeof *out->es_contribution);
  }
  if (!r || !sorted || (nseg > 0 && (!out->el_by_segment || !out->es_contribution))) {
    free(r);
    free(sorted);
    cas_summary_free(out);
    return cas_error_set(err, CAS_ERR_NOMEM, "out of memory sorting %llu losses",
                         (unsigned long long)paths);
  }
  out->paths = paths;
  double m = (double)paths, sum = 0.0, sum_def = 0.0;
  for (uint64_t p = 0; p < paths; p++) {
    sum += loss[p];
    if (defaults) sum_def += (double)defaults[p];
  }
  double mean = sum / m, m2 = 0.0, m4 = 0.0;
  for (uint64_t p = 0; p < paths; p++) {
    double d = loss[p] - mean;
    m2 += d * d;
    m4 += d * d * d * d;
  }
  double var = m2 / (m - 1.0);
  out->el = mean;
  out->sd = sqrt(var);
  out->el_se = out->sd / sqrt(m);
  m4 /= m;
  out->sd_se = var > 0.0 ? sqrt(fmax(m4 - (m2 / m) * (m2 / m), 0.0) / (4.0 * var * m)) : 0.0;
  out->mean_defaults = sum_def / m;

  for (uint64_t p = 0; p < paths; p++) sorted[p] = r[p].loss;
  out->min_loss = sorted[0];
  out->max_loss = sorted[paths - 1];

  for (int l = 0; l < nlevels; l++) {
    double a = levels[l];
    cas_quantile_es(sorted, paths, a, &out->var[l], &out->var_se[l], &out->es[l], &out->es_se[l]);
    if (nseg > 0)
      tail_mean_rows(r, paths, a, loss_by_segment, nseg, row_of_path,
                     &out->es_contribution[(size_t)l * nseg]);
  }
  if (nseg > 0 && opt->el_by_segment) {
    memcpy(out->el_by_segment, opt->el_by_segment, (size_t)nseg * sizeof *out->el_by_segment);
  } else if (nseg > 0) {
    for (uint64_t p = 0; p < paths; p++)
      for (int s = 0; s < nseg; s++)
        out->el_by_segment[s] += loss_by_segment[p * (uint64_t)nseg + (uint64_t)s];
    for (int s = 0; s < nseg; s++) out->el_by_segment[s] /= m;
  }
  free(r);
  free(sorted);
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

cas_status cas_contagion_summary_compute(uint64_t paths, const double *loss,
                                         const double *contagion,
                                         const double *contagion_by_segment, int nsegments,
                                         const int64_t *row_of_path, const int32_t *rounds, const uint8_t *truncated,
                                         const cas_summary *sum, cas_contagion_summary *out,
                                         cas_error *err) {
  memset(out, 0, sizeof *out);
  if (paths < 2) return cas_error_set(err, CAS_ERR_INPUT, "statistics need at least 2 paths");
  double *factor = malloc(paths * sizeof *factor);
  ranked *r = rank_paths(paths, loss);
  cascade_rank *c = malloc(paths * sizeof *c);
  int nlevels = sum->nlevels;
  out->nsegments = nsegments;
  out->es_contribution_contagion =
      calloc((size_t)(nsegments > 0 ? nsegments : 1) * (size_t)nlevels, sizeof(double));
  if (!factor || !r || !c || !out->es_contribution_contagion) {
    cas_contagion_summary_free(out);
    free(factor);
    free(r);
    free(c);
    return cas_error_set(err, CAS_ERR_NOMEM, "out of memory summarising contagion");
  }
  double m = (double)paths, s1 = 0.0, s2 = 0.0, sr = 0.0;
  for (uint64_t p = 0; p < paths; p++) {
    factor[p] = loss[p] - contagion[p];
    s1 += contagion[p];
    s2 += contagion[p] * contagion[p];
    sr += rounds[p];
    if (rounds[p] > out->max_rounds) out->max_rounds = rounds[p];
    out->truncated_paths += truncated[p];
    c[p] = (cascade_rank){rounds[p], contagion[p], p};
  }
  out->el_contagion = s1 / m;
  out->el_contagion_se = sqrt(fmax(s2 / m - out->el_contagion * out->el_contagion, 0.0) / (m - 1.0));
  out->mean_rounds = sr / m;
  qsort(factor, paths, sizeof *factor, cmp_double);
  for (int l = 0; l < nlevels; l++) {
    double a = sum->levels[l], vse, ese;
    double *row = &out->es_contribution_contagion[(size_t)l * (size_t)nsegments];
    cas_quantile_es(factor, paths, a, &out->var_factor[l], &vse, &out->es_factor[l], &ese);
    tail_mean_rows(r, paths, a, contagion_by_segment, nsegments, row_of_path, row);
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
  free(c);
  return CAS_OK;
}

cas_status cas_tail_paths(uint64_t paths, const double *loss, double a, uint64_t **out,
                          uint64_t *n, cas_error *err) {
  *out = NULL;
  *n = 0;
  if (paths < 1) return CAS_OK;
  ranked *r = rank_paths(paths, loss);
  uint64_t k = rank_of(a, paths), count = paths - (k - 1);
  uint64_t *list = malloc(count * sizeof *list);
  if (!r || !list) {
    free(r);
    free(list);
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
                       const uint64_t *loans, double *rate, double *rate_se) {
  for (int s = 0; s < nsegments; s++) {
    rate[s] = rate_se[s] = 0.0;
    if (loans[s] == 0 || paths == 0) continue;
    double mean = 0.0, m2 = 0.0;   /* Welford, in path order */
    for (uint64_t p = 0; p < paths; p++) {
      double x = (double)defaults_by_segment[p * (uint64_t)nsegments + (uint64_t)s] / (double)loans[s];
      double d = x - mean;
      mean += d / (double)(p + 1);
      m2 += d * (x - mean);
    }
    rate[s] = mean;
    rate_se[s] = paths > 1 ? sqrt(m2 / (double)(paths - 1) / (double)paths) : 0.0;
  }
}
